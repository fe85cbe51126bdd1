/**
 * Shared pieces of the integration tests: a reference wallet (library) wired to a temporary state
 * file, pairing it with a dapp client, and sending a request from the dapp side and waiting for its
 * response, all against real processes (relay, Hardhat node).
 */
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDappClient, type DappClient, type DappSession } from "../../protocol/dappClient.ts";
import type { ResponsePayload } from "../../protocol/schemas.ts";
import { type ApprovalDecision, type Approver, createApprover } from "../../wallet/approval.ts";
import { createChainRegistry } from "../../wallet/chains.ts";
import { createSigner } from "../../wallet/signer.ts";
import { createStateStore } from "../../wallet/state.ts";
import { createWallet, type RequestOutcome, type ServeHandle, type Wallet } from "../../wallet/wallet.ts";

export const ORIGIN = "https://dapp.example";

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** An approver the test drives: `decide` waits until the test calls `answer`, or the signal aborts. */
export function manualApprover() {
  const waiting: { resolve: (d: ApprovalDecision) => void }[] = [];
  const arrivals: (() => void)[] = [];
  const approver: Approver = {
    mode: "ask",
    decide: (_description, o = {}) =>
      new Promise<ApprovalDecision>((resolve) => {
        const entry = { resolve };
        waiting.push(entry);
        for (const notify of arrivals.splice(0)) notify();
        o.signal?.addEventListener(
          "abort",
          () => {
            // Withdrawn (expired, cancelled, stopping): no longer waiting for the test's answer.
            const at = waiting.indexOf(entry);
            if (at >= 0) waiting.splice(at, 1);
            resolve({ approved: false, reason: `declined (${String(o.signal?.reason)})` });
          },
          { once: true },
        );
      }),
  };
  return {
    approver,
    /** Resolves once a decision is being asked for. */
    asked: () =>
      waiting.length > 0 ? Promise.resolve() : new Promise<void>((resolve) => arrivals.push(resolve)),
    answer(approved: boolean) {
      waiting.shift()?.resolve({ approved, reason: approved ? "approved (test)" : "declined (test)" });
    },
  };
}

export type WalletHarness = {
  wallet: Wallet;
  address: `0x${string}`;
  statePath: string;
  outcomes: RequestOutcome[];
  /** Resolves with the outcome of request `id` once the wallet has handled it. */
  outcomeOf(id: string, timeoutMs?: number): Promise<RequestOutcome>;
  serve(options?: Parameters<Wallet["serve"]>[0]): Promise<ServeHandle>;
  stop(): Promise<void>;
};

export async function createWalletHarness(options: {
  privateKey: `0x${string}`;
  rpcUrls?: string[];
  chainId?: string | number;
  approve?: "auto" | "reject" | Approver;
  allowedRelays?: string[];
}): Promise<WalletHarness> {
  const statePath = join(tempDir("bb-wallet-"), "state.json");
  const state = createStateStore({ path: statePath });
  const signer = createSigner({ privateKey: options.privateKey });
  const chains = await createChainRegistry({
    rpcUrls: options.rpcUrls ?? [],
    ...(options.chainId !== undefined ? { chainId: options.chainId } : {}),
  });
  const approve =
    typeof options.approve === "object" ? options.approve : createApprover(options.approve ?? "auto");
  const outcomes: RequestOutcome[] = [];
  const listeners = new Set<() => void>();
  const wallet = createWallet({
    state,
    signer,
    chains,
    approve,
    allowedRelays: options.allowedRelays,
    onRequest: (outcome) => {
      outcomes.push(outcome);
      for (const l of listeners) l();
    },
  });
  const handles: ServeHandle[] = [];
  return {
    wallet,
    address: signer.address,
    statePath,
    outcomes,
    outcomeOf(id, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = outcomes.find((o) => o.id === id);
          if (!found) return false;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no outcome for request ${id} within ${timeoutMs} ms`));
        }, timeoutMs);
        if (!check()) listeners.add(check);
      });
    },
    async serve(o = {}) {
      const handle = await wallet.serve(o);
      handles.push(handle);
      return handle;
    },
    async stop() {
      await Promise.all(handles.splice(0).map((h) => h.stop()));
    },
  };
}

/** The dapp creates a pairing, the wallet answers its URI, the dapp receives the session. */
export async function pair(
  dapp: DappClient,
  harness: WalletHarness,
  o: { webhookUrl?: string } = {},
): Promise<{ dappSession: DappSession; walletMatchCode: string; sessionId: string }> {
  const pending = await dapp.createPairing({ ttl: 60 });
  const waiting = dapp.waitForPairing(pending, { signal: AbortSignal.timeout(20_000) });
  const result = await harness.wallet.pair(pending.uri, o);
  const dappSession = await waiting;
  return { dappSession, walletMatchCode: result.matchCode, sessionId: result.sessionId };
}

/** Sends a request from the dapp side and waits for the wallet's response. */
export async function ask(
  dapp: DappClient,
  session: DappSession,
  request: { method: string; params?: unknown; chainId?: string; ttl?: number },
  timeoutMs = 20_000,
): Promise<{ id: string; response: ResponsePayload }> {
  const { id } = await dapp.sendRequest(session, {
    method: request.method,
    params: request.params,
    origin: ORIGIN,
    chainId: request.chainId ?? session.chainId,
    ...(request.ttl !== undefined ? { ttl: request.ttl } : {}),
  });
  const response = await dapp.waitForResponse(session, id, { signal: AbortSignal.timeout(timeoutMs) });
  return { id, response };
}

export function resultOf(response: ResponsePayload): unknown {
  if ("error" in response) {
    throw new Error(`expected a result, got error ${response.error.code}: ${response.error.message}`);
  }
  return response.result;
}

export function errorOf(response: ResponsePayload): { code: number; message: string } {
  if (!("error" in response))
    throw new Error(`expected an error, got result ${JSON.stringify(response.result)}`);
  return response.error;
}

export { createDappClient };

/** A stand-in JSON-RPC node that only answers eth_chainId: enough for the wallet to know a second chain. */
export async function fakeChainNode(chainId: number): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString("utf8");
    });
    req.on("end", () => {
      let id: unknown = null;
      let method: unknown;
      try {
        ({ id, method } = JSON.parse(body) as { id: unknown; method: unknown });
      } catch {
        // answered below as an error
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify(
          method === "eth_chainId"
            ? { jsonrpc: "2.0", id, result: `0x${chainId.toString(16)}` }
            : { jsonrpc: "2.0", id, error: { code: -32601, message: "not available in this test node" } },
        ),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
