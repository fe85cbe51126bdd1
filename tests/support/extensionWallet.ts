/**
 * The reference wallet (wallet/, as a library) playing the phone for the extension's e2e tests: a real
 * key, a real chain node, the real relay. Its approval step is switchable: approve everything, decline
 * everything (4001), or hold each request until the test answers, which lets a test stop the
 * extension's service worker while the phone is "deciding".
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ApprovalDecision, Approver } from "../../wallet/approval.ts";
import { createChainRegistry } from "../../wallet/chains.ts";
import type { RequestDescription } from "../../wallet/describe.ts";
import { createSigner } from "../../wallet/signer.ts";
import { createStateStore } from "../../wallet/state.ts";
import {
  createWallet,
  type PairResult,
  type RequestOutcome,
  type ServeHandle,
  type Wallet,
} from "../../wallet/wallet.ts";

export type ApprovalMode = "approve" | "decline" | "hold";

type Held = { description: RequestDescription; resolve(d: ApprovalDecision): void };

export type TestWallet = {
  wallet: Wallet;
  address: `0x${string}`;
  outcomes: RequestOutcome[];
  setMode(mode: ApprovalMode): void;
  /** Resolves with the next request the wallet is asked to approve (in "hold" mode it then waits). */
  nextAsk(): Promise<RequestDescription>;
  /** Answers the oldest held request. */
  release(approved: boolean): void;
  /** Resolves once the wallet has handled (and answered) a request with this method. */
  outcomeOf(method: string, timeoutMs?: number): Promise<RequestOutcome>;
  pair(uri: string): Promise<PairResult>;
  serve(): Promise<void>;
  stop(): Promise<void>;
};

export async function createTestWallet(o: {
  privateKey: `0x${string}`;
  rpcUrl: string;
}): Promise<TestWallet> {
  const dir = mkdtempSync(join(tmpdir(), "bb-e2e-wallet-"));
  let mode: ApprovalMode = "approve";
  const held: Held[] = [];
  const askWaiters: ((d: RequestDescription) => void)[] = [];
  const outcomes: RequestOutcome[] = [];
  const outcomeWaiters = new Set<() => void>();

  const approver: Approver = {
    mode: "ask",
    decide(description, options = {}) {
      for (const notify of askWaiters.splice(0)) notify(description);
      if (mode === "approve") return Promise.resolve({ approved: true, reason: "approved (test)" });
      if (mode === "decline") return Promise.resolve({ approved: false, reason: "declined (test)" });
      return new Promise<ApprovalDecision>((resolve) => {
        const entry: Held = { description, resolve };
        held.push(entry);
        options.signal?.addEventListener(
          "abort",
          () => {
            const at = held.indexOf(entry);
            if (at >= 0) held.splice(at, 1);
            resolve({ approved: false, reason: "withdrawn" });
          },
          { once: true },
        );
      });
    },
  };

  const signer = createSigner({ privateKey: o.privateKey });
  const wallet = createWallet({
    state: createStateStore({ path: join(dir, "state.json") }),
    signer,
    chains: await createChainRegistry({ rpcUrls: [o.rpcUrl] }),
    approve: approver,
    walletInfo: { name: "E2E test wallet" },
    onRequest: (outcome) => {
      outcomes.push(outcome);
      for (const wake of outcomeWaiters) wake();
    },
  });

  let handle: ServeHandle | undefined;
  return {
    wallet,
    address: signer.address,
    outcomes,
    setMode(next) {
      mode = next;
    },
    nextAsk: () => new Promise((resolve) => askWaiters.push(resolve)),
    release(approved) {
      held.shift()?.resolve({ approved, reason: approved ? "approved (test)" : "declined (test)" });
    },
    async outcomeOf(method, timeoutMs = 20_000) {
      const seen = outcomes.length;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = outcomes.slice(seen).find((x) => x.method === method);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`the wallet handled no ${method} within ${timeoutMs} ms`);
        await new Promise<void>((wake) => {
          const timer = setTimeout(wake, 200);
          outcomeWaiters.add(() => {
            clearTimeout(timer);
            wake();
          });
        });
        outcomeWaiters.clear();
      }
    },
    pair: (uri) => wallet.pair(uri),
    async serve() {
      handle ??= await wallet.serve({ pullWait: 10 });
    },
    async stop() {
      for (const h of held.splice(0)) h.resolve({ approved: false, reason: "stopping" });
      await handle?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
