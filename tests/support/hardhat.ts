/**
 * Starts a real Hardhat node (`hardhat node --config tests/support/hardhat.config.cjs`) on a free loopback
 * port and resolves once it answers `eth_chainId`. Chain 31337, automine, Hardhat's default accounts
 * (mnemonic "test test … junk", 10 000 ETH each). Used by the integration tests (one node per test file).
 */
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Hex, toHex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { stopChild } from "./childProcess.ts";

export const HARDHAT_MNEMONIC = "test test test test test test test test test test test junk";
export const HARDHAT_CHAIN_ID = 31337;

export type HardhatAccount = { address: Hex; privateKey: Hex };

export type HardhatNode = {
  rpcUrl: string;
  chainId: number;
  pid: number;
  /** The node's funded accounts (Hardhat's defaults, derived from HARDHAT_MNEMONIC). */
  accounts: HardhatAccount[];
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. */
  stop(): Promise<void>;
};

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const HARDHAT_BIN = join(ROOT, "node_modules", ".bin", "hardhat");
const CONFIG = join(ROOT, "tests", "support", "hardhat.config.cjs");
const START_TIMEOUT_MS = 45_000;
const ACCOUNT_COUNT = 10;

/** Asks the OS for a free TCP port on 127.0.0.1 (released before returning, as usual for this trick). */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? done(port) : fail(new Error("no free port"))));
    });
  });
}

let cachedAccounts: HardhatAccount[] | undefined;
/** Hardhat's default accounts: m/44'/60'/0'/0/i of HARDHAT_MNEMONIC. */
export function hardhatAccounts(): HardhatAccount[] {
  cachedAccounts ??= Array.from({ length: ACCOUNT_COUNT }, (_, addressIndex) => {
    const account = mnemonicToAccount(HARDHAT_MNEMONIC, { addressIndex });
    const key = account.getHdKey().privateKey;
    if (!key) throw new Error("HD key without a private key");
    return { address: account.address, privateKey: toHex(key) };
  });
  return cachedAccounts;
}

async function chainIdOf(rpcUrl: string): Promise<number | undefined> {
  try {
    const res = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(2_000),
    });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { result?: unknown };
    return typeof body.result === "string" ? Number.parseInt(body.result, 16) : undefined;
  } catch {
    return undefined;
  }
}

export async function startHardhatNode(options: { port?: number } = {}): Promise<HardhatNode> {
  // A free port can be taken by another process between the probe and Hardhat's bind: try another.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options.port ?? (await freePort()));
    } catch (error) {
      const racy = options.port === undefined && /exited early|EADDRINUSE/.test(String(error));
      if (!racy || attempt >= 3) throw error;
    }
  }
}

async function startOnce(port: number): Promise<HardhatNode> {
  const rpcUrl = `http://127.0.0.1:${port}`;
  const child = spawn(
    HARDHAT_BIN,
    ["node", "--config", CONFIG, "--hostname", "127.0.0.1", "--port", String(port)],
    {
      cwd: ROOT,
      env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  const keep = (chunk: string) => {
    // Keep only the tail: the node logs every RPC call, and this is only for error messages.
    output = (output + chunk).slice(-8_000);
  };
  child.stdout?.setEncoding("utf8");
  child.stderr?.setEncoding("utf8");
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);

  const stop = () => stopChild(child);

  let exitedEarly: string | undefined;
  child.once("exit", (code, signal) => {
    exitedEarly = `exited early (code ${code}, signal ${signal})`;
  });
  child.once("error", (error) => {
    exitedEarly = `failed to start: ${error.message}`;
  });

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exitedEarly) throw new Error(`hardhat node ${exitedEarly}\n${output}`);
    const chainId = await chainIdOf(rpcUrl);
    if (chainId !== undefined) {
      if (child.pid === undefined) throw new Error("hardhat node has no pid");
      return { rpcUrl, chainId, pid: child.pid, accounts: hardhatAccounts(), stop };
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`hardhat node did not answer eth_chainId within ${START_TIMEOUT_MS} ms\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
}
