/**
 * The local control channel: how the operator CLI (commands.ts: lockdown, block-device, report) works
 * on the store of a RUNNING relay whose store only that process may open. The journal store keeps its
 * records in memory and holds `<dataDir>/relay.lock` (store/dataDirLock.ts), so a second process
 * opening it is refused; instead the CLI asks the relay to make the few calls it needs.
 *
 * Transport: a Unix domain socket `<dataDir>/control.sock` (mode 0600). The relay holds the data
 * directory's lock, so a socket file already there is stale and is removed. A path over 107 bytes
 * (sun_path, unix(7); libuv would silently truncate it) falls back to a Linux abstract name,
 * `\0balance-bridge-relay-<first 32 hex of sha256(realpath(dataDir))>`, which both sides compute.
 *
 * Access control is the filesystem's: every request carries the token the relay writes to
 * `<dataDir>/control.token` (mode 0600) when it starts. An abstract name has no permissions of its
 * own, and a socket file is briefly open between bind and chmod; the token closes both gaps, so only
 * whoever can read the data directory's files (who could change the store anyway) gets an answer.
 *
 * Protocol: one JSON object per line (at most 64 KB). Request `{"id":n,"token":"…","method":"…",
 * "params":[…]}`, answer `{"id":n,"result":…}` or `{"id":n,"error":{"message":"…","name":"…"}}`
 * (`id` null when the request could not be read). Only `CONTROL_METHODS` are served, with their
 * parameters checked; anything else is answered with an error and the connection goes on.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer, type Socket } from "node:net";
import { join, resolve } from "node:path";
import { UuidV4 } from "../protocol/schemas.ts";
import { type Logger, silentLogger } from "./log.ts";
import type { DayStats, Lockdown, Store } from "./store/types.ts";

/** The Store methods the CLI needs, and the only ones the channel serves. */
export const CONTROL_METHODS = ["readLockdown", "lockPairings", "blockDevice", "readStats"] as const;
export type ControlMethod = (typeof CONTROL_METHODS)[number];
/** What the operator commands work on: the store itself, or a running relay's through the channel. */
export type ControlStore = Pick<Store, ControlMethod>;
export type ControlClient = ControlStore & { close(): Promise<void> };
export type ControlHandle = { close(): Promise<void> };

const SOCKET = "control.sock";
const TOKEN = "control.token";
/** Longest line either side accepts (a request is a few hundred bytes; stats are a few KB). */
export const MAX_LINE = 64 * 1024;
/** sun_path holds 108 bytes on Linux (104 on macOS and the BSDs), the terminating NUL included. */
const MAX_PATH = process.platform === "linux" ? 107 : 103;

/** Where the relay listens for `dataDir`: the socket file, or an abstract name when its path is too long. */
export function controlAddress(dataDir: string): string {
  const path = join(resolve(dataDir), SOCKET);
  if (Buffer.byteLength(path) <= MAX_PATH) return path;
  if (process.platform !== "linux") {
    throw new Error(
      `control socket path ${path} is longer than ${MAX_PATH} bytes: use a shorter --data path`,
    );
  }
  const hash = createHash("sha256").update(realpathSync(dataDir)).digest("hex").slice(0, 32);
  return `\0balance-bridge-relay-${hash}`;
}

const isAbstract = (address: string) => address.startsWith("\0");
const shown = (address: string) => (isAbstract(address) ? `@${address.slice(1)}` : address);

class ControlError extends Error {
  override name = "ControlError";
}

type Params = readonly unknown[];
const arity = (params: Params, n: number) => {
  if (params.length !== n) throw new ControlError(`expected ${n} parameter(s), got ${params.length}`);
};
const day = (value: unknown): string => {
  if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    throw new ControlError("expected a day YYYY-MM-DD");
  }
  return value;
};
const flag = (value: unknown): boolean => {
  if (typeof value !== "boolean") throw new ControlError("expected a boolean");
  return value;
};
const deviceId = (value: unknown): string => {
  const parsed = UuidV4.safeParse(value);
  if (!parsed.success) throw new ControlError("expected a device id (UUID v4)");
  return parsed.data;
};

/** Each served method: its parameters checked, then the store's own call. */
const HANDLERS: {
  [M in ControlMethod]: (store: ControlStore, params: Params, log: Logger) => Promise<unknown>;
} = {
  readLockdown: (store, params) => {
    arity(params, 0);
    return store.readLockdown();
  },
  lockPairings: async (store, params, log) => {
    arity(params, 1);
    const pairingsLocked = flag(params[0]);
    await store.lockPairings(pairingsLocked);
    log.warn({ pairingsLocked, via: "control socket" }, "pairing lockdown changed");
  },
  blockDevice: async (store, params, log) => {
    arity(params, 2);
    const id = deviceId(params[0]);
    const blocked = flag(params[1]);
    const changed = await store.blockDevice(id, blocked);
    log.warn({ deviceId: id, via: "control socket" }, blocked ? "device blocked" : "device unblocked");
    return changed;
  },
  readStats: (store, params) => {
    arity(params, 1);
    return store.readStats(day(params[0]));
  },
};
const isControlMethod = (name: unknown): name is ControlMethod =>
  typeof name === "string" && Object.hasOwn(HANDLERS, name);

/** Splits a stream into lines, refusing (once per line) any longer than MAX_LINE. */
export function lineReader(socket: Socket, onLine: (line: string) => void, onOversized: () => void) {
  let buffer = "";
  let skipping = false; // inside an oversized line: drop it up to its newline
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf("\n"); nl !== -1; nl = buffer.indexOf("\n")) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (skipping) skipping = false;
      else if (Buffer.byteLength(line) > MAX_LINE) onOversized();
      else if (line.trim()) onLine(line);
    }
    if (buffer.length > MAX_LINE) {
      if (!skipping) onOversized();
      skipping = true;
      buffer = "";
    }
  });
}

const errorOf = (error: unknown) => ({
  message: error instanceof Error ? error.message : String(error),
  name: error instanceof Error ? error.name : "Error",
});

/**
 * Serves the channel for `store` (already open, holding `dataDir`). `close()` stops accepting, lets
 * calls in progress finish, ends the connections and removes the socket and token files: call it
 * before closing the store.
 */
export async function serveControl(
  store: ControlStore,
  dataDir: string,
  logger: Logger = silentLogger(),
): Promise<ControlHandle> {
  const address = controlAddress(dataDir);
  const tokenPath = join(dataDir, TOKEN);
  const token = randomBytes(32).toString("hex");
  const expected = Buffer.from(token);
  // This process holds the data directory: files left here by an earlier relay are stale.
  if (!isAbstract(address)) rmSync(address, { force: true });
  rmSync(tokenPath, { force: true });
  writeFileSync(tokenPath, `${token}\n`, { flag: "wx", mode: 0o600 });

  const connections = new Set<Socket>();
  let closing: Promise<void> | undefined;
  const inFlight = new Set<Promise<void>>();
  const authorized = (given: unknown) => {
    if (typeof given !== "string") return false;
    const bytes = Buffer.from(given);
    return bytes.length === expected.length && timingSafeEqual(bytes, expected);
  };

  const answer = async (request: unknown): Promise<object> => {
    if (typeof request !== "object" || request === null || Array.isArray(request)) {
      return { id: null, error: errorOf(new ControlError("a request is a JSON object")) };
    }
    const { id: rawId, token: given, method, params = [] } = request as Record<string, unknown>;
    const id = typeof rawId === "number" && Number.isSafeInteger(rawId) ? rawId : null;
    try {
      if (id === null) throw new ControlError("a request needs an integer id");
      if (closing) throw new ControlError("the relay is shutting down");
      if (!authorized(given)) throw new ControlError(`wrong or missing token (see ${tokenPath})`);
      if (!isControlMethod(method)) throw new ControlError(`unknown method ${JSON.stringify(method)}`);
      if (!Array.isArray(params)) throw new ControlError("params must be an array");
      return { id, result: await HANDLERS[method](store, params, logger) };
    } catch (error) {
      return { id, error: errorOf(error) };
    }
  };

  const server = createServer((socket) => {
    connections.add(socket);
    socket.on("close", () => connections.delete(socket));
    socket.on("error", () => {}); // a client gone mid-way: its answers are simply dropped
    const send = (message: object) => {
      if (!socket.destroyed && socket.writable) socket.write(`${JSON.stringify(message)}\n`);
    };
    lineReader(
      socket,
      (line) => {
        let request: unknown;
        try {
          request = JSON.parse(line);
        } catch {
          send({ id: null, error: errorOf(new ControlError("a request is one line of JSON")) });
          return;
        }
        const call = answer(request)
          .then(send)
          .catch((error: unknown) => logger.warn({ err: error }, "control socket: answer not sent"));
        inFlight.add(call);
        void call.finally(() => inFlight.delete(call));
      },
      () => send({ id: null, error: errorOf(new ControlError(`request longer than ${MAX_LINE} bytes`)) }),
    );
  });

  try {
    await new Promise<void>((done, fail) => {
      server.once("error", fail);
      server.listen(address, () => {
        server.off("error", fail);
        done();
      });
    });
    if (!isAbstract(address)) chmodSync(address, 0o600);
  } catch (error) {
    server.close();
    rmSync(tokenPath, { force: true });
    throw new Error(`cannot serve the control socket ${shown(address)}: ${errorOf(error).message}`);
  }
  server.on("error", (error) => logger.warn({ err: error }, "control socket error"));
  logger.debug({ address: shown(address) }, "control socket listening");

  return {
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((done) => server.close(() => done()));
        await Promise.allSettled([...inFlight]);
        for (const socket of connections) socket.destroy();
        await closed;
        if (!isAbstract(address)) rmSync(address, { force: true });
        rmSync(tokenPath, { force: true });
      })();
      return closing;
    },
  };
}

type Pending = { resolve(value: unknown): void; reject(error: Error): void };

// What each method's answer must look like (the relay is trusted, the bytes on a socket are checked).
const isLockdown = (v: unknown): v is Lockdown => {
  if (typeof v !== "object" || v === null) return false;
  const { pairingsLocked, blockedDevices } = v as Record<string, unknown>;
  return (
    typeof pairingsLocked === "boolean" &&
    Array.isArray(blockedDevices) &&
    blockedDevices.every((d) => typeof d === "string")
  );
};
const isStats = (v: unknown): v is DayStats =>
  typeof v === "object" && v !== null && Object.values(v).every((n) => typeof n === "number");
const isBoolean = (v: unknown): v is boolean => typeof v === "boolean";
const isNothing = (v: unknown): v is undefined => v === undefined;

/**
 * Connects to the relay serving `dataDir`. Rejects with a message saying what could not be reached
 * (no socket, no token, refused). Each method rejects with the relay's error message and name.
 */
export async function connectControl(dataDir: string): Promise<ControlClient> {
  const address = controlAddress(dataDir);
  const unreachable = (why: string) =>
    new Error(`cannot reach the relay's control socket ${shown(address)}: ${why}`);
  let token: string;
  try {
    token = readFileSync(join(dataDir, TOKEN), "utf8").trim();
  } catch (error) {
    throw unreachable(`cannot read its token: ${errorOf(error).message}`);
  }
  const socket = createConnection(address);
  await new Promise<void>((done, fail) => {
    const onError = (error: Error) => fail(unreachable(error.message));
    socket.once("error", onError);
    socket.once("connect", () => {
      socket.off("error", onError);
      done();
    });
  });

  const pending = new Map<number, Pending>();
  let nextId = 1;
  let ended: Error | undefined;
  const endAll = (error: Error) => {
    ended ??= error;
    for (const p of pending.values()) p.reject(ended);
    pending.clear();
  };
  socket.on("error", (error) => endAll(new Error(`control connection failed: ${error.message}`)));
  socket.on("close", () => endAll(new Error("the relay closed the control connection")));
  lineReader(
    socket,
    (line) => {
      let message: { id?: unknown; result?: unknown; error?: { message?: unknown; name?: unknown } };
      try {
        message = JSON.parse(line) as typeof message;
      } catch {
        endAll(new Error("the relay sent something that is not JSON on the control socket"));
        socket.destroy();
        return;
      }
      if (typeof message.id !== "number") {
        // An answer to no request: the relay could not read one of ours.
        endAll(new Error(`control socket: ${String(message.error?.message ?? "unexpected answer")}`));
        socket.destroy();
        return;
      }
      const p = pending.get(message.id);
      if (!p) return;
      pending.delete(message.id);
      if (message.error) {
        const error = new Error(String(message.error.message ?? "the relay failed"));
        if (typeof message.error.name === "string") error.name = message.error.name;
        p.reject(error);
      } else p.resolve(message.result);
    },
    () => {
      endAll(new Error(`the relay sent a line longer than ${MAX_LINE} bytes`));
      socket.destroy();
    },
  );

  const call = <T>(method: ControlMethod, params: unknown[], valid: (v: unknown) => v is T): Promise<T> =>
    new Promise((resolvePromise, reject) => {
      if (ended) {
        reject(ended);
        return;
      }
      const id = nextId++;
      pending.set(id, {
        resolve: (value) => {
          if (valid(value)) resolvePromise(value);
          else reject(new Error(`the relay's answer to ${method} is not what ${method} returns`));
        },
        reject,
      });
      socket.write(`${JSON.stringify({ id, token, method, params })}\n`);
    });

  return {
    readLockdown: () => call("readLockdown", [], isLockdown),
    lockPairings: (locked) => call("lockPairings", [locked], isNothing),
    blockDevice: (id, blocked) => call("blockDevice", [id, blocked], isBoolean),
    readStats: (statsDay) => call("readStats", [statsDay], isStats),
    close: async () => {
      if (socket.destroyed) return;
      await new Promise<void>((done) => {
        socket.once("close", () => done());
        socket.end();
      });
    },
  };
}
