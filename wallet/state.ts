/**
 * The wallet's state file: one JSON document holding the device id, the paired sessions (their keys,
 * event counter, current chain and accounts) and the ids of requests already handled.
 *
 * - Location: `--state <file>`, else `BB_WALLET_STATE`, else `~/.balance-bridge-wallet/state.json`.
 * - Written atomically (temporary file in the same directory, fsync, rename) with mode 0600, its directory
 *   created with mode 0700: the session keys in it decrypt the session's traffic.
 * - Never holds the account's private key or mnemonic: those come from flags or the environment.
 * - Every change is a read-modify-write under a lock file (`<file>.lock`), so `serve` and a concurrent
 *   `disconnect` or `pair` do not overwrite each other's changes.
 */
import { randomUUID } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type { ResponsePayload } from "../protocol/schemas.ts";
import type { WalletSession } from "../protocol/walletClient.ts";

export const STATE_VERSION = 1;
export const DEFAULT_STATE_DIR = ".balance-bridge-wallet";
export const DEFAULT_STATE_FILE = "state.json";

export type SessionRecord = {
  /** As `answerPairing` returned it: relay URL, session id, match code, both direction keys. */
  session: WalletSession;
  /** Accounts the dapp was last told about (pairing or the last accountsChanged). */
  accounts: string[];
  /** The session's current chain, 0x-hex; changed by wallet_switchEthereumChain. */
  chainId: string;
  /** Number of events sent so far: the next event carries `n = eventCount + 1`. */
  eventCount: number;
  /** Where the relay pushes new requests, if anywhere (informational). */
  pushUrl?: string;
};

/**
 * A request the wallet has taken on. `executing` is written before a request is signed or sent, so a
 * wallet that crashes mid-way never executes it twice; `responding` keeps the response until the relay
 * has it; `done` means nothing is left to do.
 */
export type ProcessedRequest = {
  sessionId: string;
  /** Unix seconds; the entry is forgotten a while after this, when the relay no longer serves the id. */
  expiresAt: number;
  status: "executing" | "responding" | "done";
  /** Set while `status` is "responding". */
  response?: ResponsePayload;
  updatedAt: number;
};

export type WalletStateData = {
  version: typeof STATE_VERSION;
  deviceId: string;
  sessions: Record<string, SessionRecord>;
  processed: Record<string, ProcessedRequest>;
};

export class StateError extends Error {
  override name = "StateError";
}

/** Where the state lives: explicit path, then `BB_WALLET_STATE`, then the default under the home dir. */
export function resolveStatePath(
  explicit?: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const chosen = explicit || env.BB_WALLET_STATE;
  return chosen ? resolve(chosen) : join(homedir(), DEFAULT_STATE_DIR, DEFAULT_STATE_FILE);
}

/** Processed entries are kept this long past their expiry, then dropped. */
const PROCESSED_GRACE_SECONDS = 600;
const LOCK_STALE_MS = 10_000;
const LOCK_TIMEOUT_MS = 5_000;

export type StateStore = {
  readonly path: string;
  /** The current contents (created with a fresh device id on first use). */
  read(): WalletStateData;
  /** Read-modify-write under the lock; `change` mutates the draft (or returns a replacement). */
  update<T>(change: (draft: WalletStateData) => T): T;
};

function emptyState(): WalletStateData {
  return { version: STATE_VERSION, deviceId: randomUUID(), sessions: {}, processed: {} };
}

function parseState(text: string, path: string): WalletStateData {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new StateError(`state file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const obj = data as Partial<WalletStateData> | null;
  if (!obj || typeof obj !== "object" || obj.version !== STATE_VERSION || typeof obj.deviceId !== "string") {
    throw new StateError(`state file ${path} is not a version ${STATE_VERSION} Balance Bridge wallet state`);
  }
  return {
    version: STATE_VERSION,
    deviceId: obj.deviceId,
    sessions: obj.sessions && typeof obj.sessions === "object" ? obj.sessions : {},
    processed: obj.processed && typeof obj.processed === "object" ? obj.processed : {},
  };
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function createStateStore(
  options: { path?: string | undefined; env?: NodeJS.ProcessEnv } = {},
): StateStore {
  const path = resolveStatePath(options.path, options.env);
  const dir = dirname(path);
  const lockPath = `${path}.lock`;

  const ensureDir = () => {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  };

  const load = (): WalletStateData | undefined => {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new StateError(`cannot read state file ${path}: ${(error as Error).message}`);
    }
    return parseState(text, path);
  };

  const write = (data: WalletStateData) => {
    ensureDir();
    const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomUUID()}.tmp`);
    const fd = openSync(tmp, "wx", 0o600);
    try {
      writeSync(fd, `${JSON.stringify(data, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      chmodSync(tmp, 0o600); // in case the umask narrowed… or a platform widened it
      renameSync(tmp, path);
    } catch (error) {
      rmSync(tmp, { force: true });
      throw error;
    }
  };

  const prune = (data: WalletStateData) => {
    const now = Math.floor(Date.now() / 1000);
    for (const [id, entry] of Object.entries(data.processed)) {
      const gone = entry.expiresAt + PROCESSED_GRACE_SECONDS < now;
      const orphan = !data.sessions[entry.sessionId];
      if ((gone && entry.status !== "responding") || orphan) delete data.processed[id];
    }
  };

  const withLock = <T>(fn: () => T): T => {
    ensureDir();
    const deadline = Date.now() + LOCK_TIMEOUT_MS;
    let fd: number | undefined;
    while (fd === undefined) {
      try {
        fd = openSync(lockPath, "wx", 0o600);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        try {
          if (Date.now() - statSync(lockPath).mtimeMs > LOCK_STALE_MS) {
            unlinkSync(lockPath); // left behind by a crashed process
            continue;
          }
        } catch {
          continue; // released meanwhile
        }
        if (Date.now() > deadline) {
          throw new StateError(`state file ${path} is locked (${lockPath}); is another command stuck?`);
        }
        sleepSync(20);
      }
    }
    try {
      return fn();
    } finally {
      closeSync(fd);
      rmSync(lockPath, { force: true });
    }
  };

  const update = <T>(change: (draft: WalletStateData) => T): T =>
    withLock(() => {
      const data = load() ?? emptyState();
      const result = change(data);
      prune(data);
      write(data);
      return result;
    });

  const read = (): WalletStateData => {
    const data = load();
    if (data) return data;
    // First use: create the file now so the device id is stable from here on.
    return update((draft) => structuredClone(draft));
  };

  return { path, read, update };
}

/** Mode bits of the state file, for `status` and the tests (e.g. 0o600). */
export function stateFileMode(path: string): number | undefined {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return undefined;
  }
}
