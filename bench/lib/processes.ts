/**
 * The processes a benchmark measures, each started on loopback and stopped by its own pid:
 *
 * - the relay, exactly as an operator runs it (`node bin/balance-bridge-relay.js …`), from the bundle
 *   or through tsx, with its file-descriptor limit raised in a shell (`ulimit -n`) and its log going to
 *   a file (no pipe the benchmark would have to drain);
 * - the ceiling: a bare node:http server answering the same route shapes (bench/ceiling-server.js);
 * - a throwaway redis-server (no persistence) for the Redis store line.
 *
 * Every process started here is registered and killed on exit, even when a benchmark throws.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { stopChild } from "../../tests/support/childProcess.ts";
import { rssKiB } from "./machine.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const RELAY_BIN = join(ROOT, "bin", "balance-bridge-relay.js");
const CEILING = join(ROOT, "bench", "ceiling-server.js");
const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

/** Started children, by pid, so that an exception or Ctrl-C never leaves one behind. */
const running = new Map<number, ChildProcess>();
/** Other processes this benchmark started through helpers (redis-server, Hardhat), killed the same way. */
const extraPids = new Set<number>();
export function registerPid(pid: number | undefined): () => void {
  if (pid === undefined) return () => undefined;
  extraPids.add(pid);
  return () => extraPids.delete(pid);
}
function killAll() {
  for (const pid of extraPids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  extraPids.clear();
  for (const [pid, child] of running) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  running.clear();
}
process.once("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.pid !== undefined) running.delete(child.pid);
  await stopChild(child, STOP_GRACE_MS);
}

export type Server = {
  label: string;
  url: string;
  pid: number;
  /** Resident set size now, KiB. */
  rss(): number;
  stop(): Promise<void>;
};

export type RelayRuntime = "bundle" | "tsx";

export type RelayOptions = {
  /** `journal` or `lmdb` (in a fresh temporary data directory), `memory`, or a redis:// URL. */
  store: string;
  runtime: RelayRuntime;
  /** Extra node flags (e.g. `--max-semi-space-size=1`). */
  nodeFlags?: string[];
  /** Extra relay options. */
  args?: string[];
  /** File-descriptor limit to ask for (soft limit, up to the hard one). */
  fdLimit?: number;
  label?: string;
  /** Another entry script instead of bin/balance-bridge-relay.js (experiments). */
  bin?: string;
};

/** Waits for a line in a log file that `accept` likes; fails when the process exits first or on timeout. */
async function waitForLine<T>(
  child: ChildProcess,
  logFile: string,
  accept: (entry: Record<string, unknown>) => T | undefined,
  what: string,
): Promise<T> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const text = existsSync(logFile) ? readFileSync(logFile, "utf8") : "";
    for (const line of text.split("\n")) {
      if (!line.startsWith("{")) continue;
      try {
        const found = accept(JSON.parse(line) as Record<string, unknown>);
        if (found !== undefined) return found;
      } catch {
        // not JSON: skip
      }
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited at start (code ${child.exitCode})\n${text.slice(-4000)}`);
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${what} did not start within ${START_TIMEOUT_MS} ms\n${text.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Spawns `node <args>` through `sh` so that `ulimit -n` applies to it; `exec` keeps the pid. */
function spawnNode(args: string[], o: { env?: Record<string, string>; fdLimit?: number; logFile: string }) {
  const out = openSync(o.logFile, "a");
  const limit = o.fdLimit ?? 20_000;
  const script = `ulimit -n ${limit} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"`;
  const child = spawn("sh", ["-c", script, "sh", process.execPath, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...o.env },
    stdio: ["ignore", out, out],
  });
  closeSync(out);
  if (child.pid !== undefined) running.set(child.pid, child);
  return child;
}

type Builder = {
  bundleIsStale(): boolean;
  buildRelay(): Promise<{ bundle: string; bytes: number; inputs: number }>;
};

/** Builds build/relay.js when it is missing or older than a source (scripts/build-relay.js). */
export async function ensureRelayBundle(): Promise<{ built: boolean; bytes?: number }> {
  const builder = (await import(pathToFileURL(join(ROOT, "scripts", "build-relay.js")).href)) as Builder;
  if (!builder.bundleIsStale()) return { built: false };
  const out = await builder.buildRelay();
  return { built: true, bytes: out.bytes };
}

export async function startRelay(
  o: RelayOptions,
): Promise<Server & { store: string; runtime: RelayRuntime }> {
  // Sources change while one benchmarks (other work in the tree): rebuild rather than refuse.
  if (o.runtime === "bundle") await ensureRelayBundle();
  const dir = mkdtempSync(join(tmpdir(), "bb-bench-relay-"));
  const logFile = join(dir, "relay.log");
  const storeArgs =
    o.store === "journal" || o.store === "lmdb"
      ? ["--store", o.store, "--data", join(dir, "data")]
      : ["--store", o.store];
  const child = spawnNode(
    [
      ...(o.nodeFlags ?? []),
      o.bin ?? RELAY_BIN,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--rate-limit",
      "0",
      ...storeArgs,
      ...(o.args ?? []),
    ],
    {
      env: { BB_RELAY_BUNDLE: o.runtime === "bundle" ? "1" : "0" },
      logFile,
      ...(o.fdLimit ? { fdLimit: o.fdLimit } : {}),
    },
  );
  const label = o.label ?? `relay (${o.store.startsWith("redis") ? "redis" : o.store}, ${o.runtime})`;
  let url: string;
  try {
    url = await waitForLine(
      child,
      logFile,
      (e) => (e.msg === "listening" && typeof e.url === "string" ? e.url : undefined),
      label,
    );
  } catch (error) {
    running.delete(child.pid ?? -1);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const pid = child.pid as number;
  return {
    label,
    url,
    pid,
    store: o.store,
    runtime: o.runtime,
    rss: () => rssKiB(pid),
    async stop() {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startCeiling(o: { fdLimit?: number } = {}): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), "bb-bench-ceiling-"));
  const logFile = join(dir, "ceiling.log");
  const child = spawnNode([CEILING], { logFile, ...(o.fdLimit ? { fdLimit: o.fdLimit } : {}) });
  const url = await waitForLine(
    child,
    logFile,
    (e) => (typeof e.url === "string" ? e.url : undefined),
    "ceiling server",
  );
  const pid = child.pid as number;
  return {
    label: "bare node:http",
    url,
    pid,
    rss: () => rssKiB(pid),
    async stop() {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type RedisHandle = { url: string; pid: number | undefined; stop(): Promise<void> };

/**
 * Whether the relay has a Redis store to measure (another engineer adds it): its source exists and the
 * relay accepts a redis:// URL. Returns the reason when it does not.
 */
export function redisStoreAvailable(): { ok: true } | { ok: false; why: string } {
  if (!existsSync(join(ROOT, "relay", "store", "redis.ts")))
    return { ok: false, why: "relay/store/redis.ts does not exist" };
  if (!existsSync("/usr/bin/redis-server"))
    return { ok: false, why: "/usr/bin/redis-server is not installed" };
  return { ok: true };
}

/** A redis-server with no persistence on a free loopback port (the tests' helper when it is there). */
export async function startRedisServer(): Promise<RedisHandle> {
  const helper = join(ROOT, "tests", "support", "redisServer.ts");
  if (existsSync(helper)) {
    const { startRedis } = (await import(helper)) as {
      startRedis(o?: {
        appendonly?: boolean;
      }): Promise<{ url: string; pid(): number | undefined; stop(): Promise<void> }>;
    };
    const r = await startRedis({ appendonly: false });
    const unregister = registerPid(r.pid());
    return {
      url: r.url,
      pid: r.pid(),
      async stop() {
        await r.stop();
        unregister();
      },
    };
  }
  throw new Error("tests/support/redisServer.ts is missing");
}
