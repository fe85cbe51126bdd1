/**
 * A real `redis-server` for the tests (never a mock): one process on a free loopback port with its own
 * temporary directory, ready once it answers PING (checked to be our process, not one that took the
 * port first). `restart()` brings it back on the same port and directory, so with `appendonly` on it
 * reloads what it had (the durability tests), and a relay's client reconnects to the same URL by
 * itself. `startRedisCluster` makes a 3-master Cluster the same way.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REDIS_SERVER = "/usr/bin/redis-server";
export const REDIS_CLI = "/usr/bin/redis-cli";
const START_TIMEOUT_MS = 10_000;

export type RedisServerOptions = {
  /** AOF persistence (default false): with it, what Redis acknowledged survives a restart. */
  appendonly?: boolean;
  /** AOF fsync policy when `appendonly` (default "always": every write is on disk before its reply). */
  appendfsync?: "always" | "everysec" | "no";
  /** Data directory (default: a fresh temporary one, removed by `stop()`). */
  dir?: string;
  /** Extra redis-server arguments. */
  args?: string[];
  /** A Redis Cluster node (its cluster bus listens on port + 10000, so the port is chosen for that). */
  cluster?: boolean;
  /** Port (default: a free one). */
  port?: number;
};

export type RedisServer = {
  url: string;
  port: number;
  dir: string;
  pid: () => number | undefined;
  /** SIGTERM (Redis flushes its AOF and exits), wait for exit, remove a temporary directory. */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL) and waits for the process to exit; the directory stays. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops it if running (SIGTERM) and starts it again on the same port and directory. */
  restart(): Promise<void>;
};

/** A port nobody listens on right now (the OS picks it; we release it for redis-server to take). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether `port` can be bound on loopback right now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A free port whose cluster bus port (+10000, at most 65535) is free too. */
async function freeClusterPort(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if ((await bindable(port)) && (await bindable(port + 10_000))) return port;
  }
  throw new Error("no free port pair for a Redis Cluster node");
}

/**
 * PING and INFO over a raw socket: the pid of the redis-server answering on `port` once it is ready
 * (+PONG, not -LOADING), else undefined. The pid tells our server from one that took the port first.
 */
export function redisPid(port: number, timeoutMs = 500): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let reply = "";
    const done = (pid: number | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(pid);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.setEncoding("utf8");
    socket.once("connect", () => socket.write("PING\r\nINFO server\r\n"));
    socket.on("data", (chunk: string) => {
      reply += chunk;
      if (reply.includes("\r\n") && !reply.startsWith("+PONG")) return done(undefined);
      const pid = /process_id:(\d+)\r\n/.exec(reply)?.[1];
      if (pid) done(Number(pid));
    });
    socket.once("error", () => done(undefined));
  });
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once("exit", () => resolve()));

export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  if (options.port !== undefined) return startRedisOn(options.port, options);
  // A port found free can be taken by another test before redis-server binds it: then try another.
  for (let attempt = 1; ; attempt++) {
    const port = options.cluster ? await freeClusterPort() : await freePort();
    try {
      return await startRedisOn(port, options);
    } catch (error) {
      if (attempt >= 3) throw error;
    }
  }
}

async function startRedisOn(port: number, options: RedisServerOptions): Promise<RedisServer> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "bb-redis-"));
  mkdirSync(dir, { recursive: true });
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    options.appendonly ? "yes" : "no",
    "--appendfsync",
    options.appendfsync ?? "always",
    "--dir",
    dir,
    // Not a daemon, no config file: the test owns the process and its lifetime.
    "--daemonize",
    "no",
    "--loglevel",
    "warning",
    ...(options.cluster
      ? ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"]
      : []),
    ...(options.args ?? []),
  ];
  let child: ChildProcess | undefined;
  let log = "";

  async function launch(): Promise<void> {
    const proc = spawn(REDIS_SERVER, args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    child = proc;
    log = "";
    const keep = (chunk: Buffer) => {
      log = (log + chunk.toString("utf8")).slice(-8_000);
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`redis-server exited at start (code ${proc.exitCode})\n${log}`);
      }
      if ((await redisPid(port)) === proc.pid) return;
      if (Date.now() > deadline) {
        proc.kill("SIGKILL");
        throw new Error(
          `redis-server on port ${port} did not answer PING within ${START_TIMEOUT_MS} ms\n${log}`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async function kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const proc = child;
    if (!proc) return;
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    await exited(proc);
  }

  try {
    await launch();
  } catch (error) {
    if (ownDir) rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    pid: () => child?.pid,
    kill,
    async stop() {
      await kill("SIGTERM");
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await kill("SIGTERM");
      await launch();
    },
  };
}

export type RedisCluster = {
  /** `redis-cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3` (the relay's --store form). */
  url: string;
  nodes: RedisServer[];
  stop(): Promise<void>;
};

/**
 * Three masters on loopback, slots assigned with `redis-cli --cluster create`, resolved once every
 * node reports `cluster_state:ok` (about 2 s). Rejects, and stops what it started, if that takes
 * longer than `timeoutMs`.
 */
export async function startRedisCluster(masters = 3, timeoutMs = 10_000): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    for (let i = 0; i < masters; i++) {
      nodes.push(await startRedis({ cluster: true }));
    }
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    const created = spawnSync(
      REDIS_CLI,
      ["--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"],
      { encoding: "utf8", timeout: timeoutMs },
    );
    if (created.status !== 0)
      throw new Error(`redis-cli --cluster create failed:\n${created.stdout}${created.stderr}`);
    const deadline = Date.now() + timeoutMs;
    for (const node of nodes) {
      for (;;) {
        const info = spawnSync(REDIS_CLI, ["-p", String(node.port), "cluster", "info"], { encoding: "utf8" });
        if (info.stdout.includes("cluster_state:ok")) break;
        if (Date.now() > deadline) throw new Error(`cluster not ok within ${timeoutMs} ms:\n${info.stdout}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    return { url: `redis-cluster://${addresses.join(",")}`, nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
