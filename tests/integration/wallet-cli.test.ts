/**
 * The wallet as its users run it: `node bin/balance-bridge-wallet.js …` processes against a real relay
 * (`--store journal`, the default) and a Hardhat node. pair prints the same match code as the dapp; `serve --approve
 * auto` in the background answers a personal_sign and prints what it did; the state file is 0600;
 * status and disconnect work; bad input exits non-zero with a message naming the problem.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { recoverMessageAddress, toHex } from "viem";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { DappClient, DappSession } from "../../protocol/dappClient.ts";
import { runCli } from "../../wallet/runCli.ts";
import { type HardhatNode, startHardhatNode } from "../support/hardhat.ts";
import { type RelayProcess, startRelayProcess } from "../support/relayProcess.ts";
import { createDappClient, ORIGIN, resultOf, tempDir } from "./harness.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const BIN = join(ROOT, "bin", "balance-bridge-wallet.js");

type Run = { code: number | null; stdout: string; stderr: string };

function run(args: string[], env: Record<string, string>, timeoutMs = 20_000): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString("utf8");
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`wallet ${args[0]} timed out\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** Starts a long-running command and resolves once its stdout matches `ready`. */
function start(args: string[], env: Record<string, string>, ready: RegExp) {
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output = { stdout: "", stderr: "" };
  child.stdout?.on("data", (c: Buffer) => {
    output.stdout += c.toString("utf8");
  });
  child.stderr?.on("data", (c: Buffer) => {
    output.stderr += c.toString("utf8");
  });
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const started = new Promise<void>((resolveStart, rejectStart) => {
    const timer = setTimeout(
      () => rejectStart(new Error(`not ready:\n${output.stdout}\n${output.stderr}`)),
      20_000,
    );
    const check = () => {
      if (ready.test(output.stdout)) {
        clearTimeout(timer);
        resolveStart();
      }
    };
    child.stdout?.on("data", check);
    void exited.then(() => rejectStart(new Error(`exited early:\n${output.stdout}\n${output.stderr}`)));
  });
  return { child, output, started, exited };
}

/** Waits until `probe` is true (polling), for output written by another process. */
async function until(probe: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("balance-bridge-wallet CLI", () => {
  let node: HardhatNode;
  let relay: RelayProcess;
  let dapp: DappClient;
  let env: Record<string, string>;
  let statePath: string;
  let session: DappSession;
  let address: string;

  beforeAll(async () => {
    [node, relay] = await Promise.all([
      startHardhatNode(),
      startRelayProcess({ args: ["--store", "journal", "--rate-limit", "0"] }),
    ]);
    dapp = createDappClient({ relayUrl: relay.url });
    const account = node.accounts[7];
    if (!account) throw new Error("no account");
    address = account.address;
    statePath = join(tempDir("bb-wallet-cli-"), "wallet", "state.json");
    env = { BB_WALLET_PRIVATE_KEY: account.privateKey, BB_WALLET_RPC: node.rpcUrl, NO_COLOR: "1" };
  });
  afterAll(async () => {
    await Promise.all([node?.stop(), relay?.stop()]);
  });

  test("pair <uri> prints the same match code as the dapp and the relay URL", async () => {
    const pending = await dapp.createPairing({ ttl: 60 });
    const waiting = dapp.waitForPairing(pending, { signal: AbortSignal.timeout(20_000) });
    const result = await run(["pair", pending.uri, "--state", statePath], env);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    session = await waiting;
    const printed = /Match code: (\d{6})\b/.exec(result.stdout)?.[1];
    expect(printed).toBe(session.matchCode);
    expect(result.stdout).toContain(`relay ${relay.url}`);
    expect(session.accounts).toEqual([address]);
    expect(session.chainId).toBe("0x7a69");
  });

  test("the state file is 0600 in a 0700 directory and holds no private key", async () => {
    const { readFileSync } = await import("node:fs");
    expect(statSync(statePath).mode & 0o777).toBe(0o600);
    expect(statSync(join(statePath, "..")).mode & 0o777).toBe(0o700);
    const text = readFileSync(statePath, "utf8");
    expect(text).not.toContain(env.BB_WALLET_PRIVATE_KEY?.slice(2));
    expect(JSON.parse(text).deviceId).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("serve --approve auto answers a personal_sign and prints origin, method, message, decision", async () => {
    const serve = start(
      ["serve", "--approve", "auto", "--state", statePath, "--pull-wait", "10"],
      env,
      /ready/,
    );
    try {
      await serve.started;
      const message = "Log in to dapp.example";
      const { id } = await dapp.sendRequest(session, {
        method: "personal_sign",
        params: [toHex(message), address],
        origin: ORIGIN,
        chainId: session.chainId,
      });
      const response = await dapp.waitForResponse(session, id, { signal: AbortSignal.timeout(15_000) });
      const signature = resultOf(response) as `0x${string}`;
      expect(await recoverMessageAddress({ message, signature })).toBe(address);
      await until(() => serve.output.stdout.includes("result"));
      const out = serve.output.stdout;
      expect(out).toContain(`origin`);
      expect(out).toContain(ORIGIN);
      expect(out).toContain("personal_sign");
      expect(out).toContain(message);
      expect(out).toContain("approved (auto)");
      expect(out).toContain(signature);
    } finally {
      serve.child.kill("SIGTERM");
      expect(await serve.exited).toBe(0);
    }
    expect(serve.output.stdout).toContain("stopped");
  });

  test("status lists the session; disconnect ends it for the dapp", async () => {
    const status = await run(["status", "--state", statePath, "--json"], {});
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as { sessions: { sessionId: string; matchCode: string }[] };
    expect(parsed.sessions).toEqual([
      expect.objectContaining({ sessionId: session.sessionId, matchCode: session.matchCode }),
    ]);

    const ended = await run(["disconnect", "--state", statePath], {});
    expect(ended.code).toBe(0);
    expect(ended.stdout).toContain(`disconnected ${session.sessionId}`);
    await expect(
      dapp.sendRequest(session, { method: "eth_chainId", origin: ORIGIN, chainId: "0x7a69" }),
    ).rejects.toMatchObject({ code: "session_not_found" });
    const after = await run(["status", "--state", statePath], {});
    expect(after.stdout).toContain("no sessions");
  });

  test("bad input: malformed, expired or unknown pairing codes, bad key → clear error, non-zero exit", async () => {
    const pending = await dapp.createPairing({ ttl: 60 });
    // The real process: exit code and stderr.
    const malformed = await run(["pair", "https://example.com", "--state", statePath], env);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/^error: Invalid pairing URI \(scheme\): expected "balancebridge:"/);

    // The same command line in-process (runCli), for the rest of the cases.
    const cases: [string[], Record<string, string>, number, RegExp][] = [
      [["pair", pending.uri.replace(/key=[^&]+/, "key=abc")], env, 2, /Invalid pairing URI \(key\)/],
      [["pair", pending.uri.replace(/exp=\d+/, "exp=1000")], env, 2, /\(exp\).*expired/],
      [["pair", pending.uri.replace(/@1\?/, "@2?")], env, 2, /\(version\)/],
      [["pair", pending.uri.replace(/relay=[^&]+/, "relay=ftp%3A%2F%2Fx")], env, 2, /\(relay\)/],
      // A code this relay never issued (another token): the relay does not know it.
      [
        ["pair", pending.uri.replace(/:[A-Za-z0-9_-]{43}@/, `:${"B".repeat(42)}A@`)],
        env,
        1,
        /does not know this pairing code/,
      ],
      // A relay that is not there.
      [
        ["pair", pending.uri.replace(/relay=[^&]+/, `relay=${encodeURIComponent("http://127.0.0.1:9")}`)],
        env,
        1,
        /cannot reach the relay http:\/\/127\.0\.0\.1:9/,
      ],
      [["pair", pending.uri], { ...env, BB_WALLET_PRIVATE_KEY: "0x1234" }, 2, /private key must be 32 bytes/],
      [["pair", pending.uri], { ...env, BB_WALLET_RPC: "http://127.0.0.1:9" }, 1, /cannot read eth_chainId/],
      [
        ["pair", pending.uri, "--relay-allow", "https://relay.example"],
        env,
        2,
        /not in this wallet's allowed relays/,
      ],
      [["pair"], env, 2, /exactly one argument/],
      [["serve", "--approve", "maybe"], env, 2, /--approve must be one of ask, auto, reject/],
      [["serve", "--approve", "ask"], env, 2, /needs an interactive terminal/],
      [["serve", "--webhook-port", "99999"], env, 2, /--webhook-port must be a whole number/],
      [["disconnect", "nope"], {}, 2, /no session nope/],
      [["status", "--bogus"], {}, 2, /Unknown option '--bogus'/],
      [["frobnicate"], env, 2, /unknown command/],
    ];
    for (const [args, caseEnv, code, message] of cases) {
      let stderr = "";
      const exit = await runCli([...args, "--state", statePath], caseEnv, {
        stdin: new PassThrough(), // not a terminal, whatever runs the tests
        stdout: () => {},
        stderr: (t) => {
          stderr += t;
        },
      });
      expect({ args, exit, stderr }).toMatchObject({ exit: code, stderr: expect.stringMatching(message) });
    }
    // The pairing those attempts did not use is still there to answer.
    expect(
      await runCli(["pair", pending.uri, "--state", statePath, "--json"], env, {
        stdout: () => {},
        stderr: () => {},
      }),
    ).toBe(0);

    const help = await run(["--help"], {});
    expect(help.code).toBe(0);
    for (const word of [
      "pair",
      "serve",
      "status",
      "disconnect",
      "--approve",
      "BB_WALLET_PRIVATE_KEY",
      "--webhook-port",
    ]) {
      expect(help.stdout).toContain(word);
    }
  });
});
