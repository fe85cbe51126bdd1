/**
 * Starts the real relay as a child process (`node bin/balance-bridge-relay.js --port 0 …`), the way an
 * operator runs it, and resolves once it has logged its `{"msg":"listening","url":…}` line. Used by the
 * relay's process tests and by the integration tests.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { exited, stopChild } from "./childProcess.ts";

export type RelayProcessOptions = {
  /** Extra CLI arguments, after `--port 0`. */
  args?: string[];
  /** Extra environment variables (merged over the parent's). */
  env?: Record<string, string>;
  /** LMDB data directory; a fresh temporary one when omitted (ignored with `--store memory`). */
  dataDir?: string;
  /**
   * The largest file the process may write, bytes (a multiple of 512: `ulimit -f`, RLIMIT_FSIZE):
   * past it the kernel refuses its writes (EFBIG), as a full disk would.
   */
  fileSizeLimit?: number;
};

export type RelayProcess = {
  url: string;
  pid: number;
  /** Sends `signal` (default SIGTERM) and resolves once the process has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Graceful stop: SIGTERM, then SIGKILL after 5 s if it has not exited. */
  stop(): Promise<void>;
  /** Resolves with how the process ended (exit code, or the signal that killed it). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = join(ROOT, "bin", "balance-bridge-relay.js");
const START_TIMEOUT_MS = 15_000;

export function startRelayProcess(options: RelayProcessOptions = {}): Promise<RelayProcess> {
  const args = options.args ?? [];
  const hasData = args.includes("--data") || args.some((a) => a.startsWith("--data="));
  // Without a data directory from the caller, a fresh temporary one that goes away with the process.
  const ownDir = hasData || options.dataDir ? undefined : mkdtempSync(join(tmpdir(), "bb-relay-"));
  const dataDir = options.dataDir ?? ownDir;
  const dataArgs = hasData || dataDir === undefined ? [] : ["--data", dataDir];
  const command = [process.execPath, BIN, "--port", "0", ...dataArgs, ...args];
  // Through sh for the limit; `exec` keeps the pid. Node ignores SIGXFSZ, so writes fail, not the process.
  const limited =
    options.fileSizeLimit === undefined
      ? command
      : [
          "/bin/sh",
          "-c",
          `ulimit -f ${Math.floor(options.fileSizeLimit / 512)} && exec "$@"`,
          "sh",
          ...command,
        ];
  const child = spawn(limited[0] as string, limited.slice(1), {
    cwd: ROOT,
    env: { ...process.env, BB_RELAY_LOG_LEVEL: "info", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });

  if (ownDir) child.once("exit", () => rmSync(ownDir, { recursive: true, force: true }));

  let stdout = "";
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    // Keep the tail only: enough to explain a failure, bounded for a long-running relay.
    stderr = (stderr + chunk).slice(-64_000);
  });

  const kill = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited(child);
  };
  const stop = () => stopChild(child);

  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once("exit", (code, signal) => done({ code, signal })),
  );

  return new Promise<RelayProcess>((resolvePromise, reject) => {
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      reject(new Error(`relay process ${why}\n--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`));
    };
    const timer = setTimeout(
      () => fail(`did not report "listening" within ${START_TIMEOUT_MS} ms`),
      START_TIMEOUT_MS,
    );

    child.stdout?.setEncoding("utf8");
    // Keep draining stdout after start (so a chatty relay never blocks on a full pipe), but stop keeping it.
    child.stdout?.on("data", (chunk: string) => {
      if (settled) return;
      stdout += chunk;
      for (const line of stdout.split("\n")) {
        if (!line.startsWith("{")) continue;
        let entry: { msg?: unknown; url?: unknown };
        try {
          entry = JSON.parse(line) as { msg?: unknown; url?: unknown };
        } catch {
          continue;
        }
        if (entry.msg === "listening" && typeof entry.url === "string" && child.pid !== undefined) {
          settled = true;
          clearTimeout(timer);
          resolvePromise({ url: entry.url, pid: child.pid, kill, stop, exited: ended });
          return;
        }
      }
    });
    child.once("error", (error) => fail(`failed to start: ${error.message}`));
    child.once("exit", (code, signal) => fail(`exited early (code ${code}, signal ${signal})`));
  });
}
