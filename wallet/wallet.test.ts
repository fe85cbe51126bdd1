/**
 * The wallet's request loop against an in-memory stand-in for the protocol client: expiry, decline,
 * invalid envelopes, crash recovery (never execute twice), a session the relay forgot, event counters.
 * The real relay and dapp are exercised in tests/integration.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toHex } from "viem";
import { afterEach, describe, expect, test } from "vitest";
import { RelayError } from "../protocol/errors.ts";
import { formatPairingUri } from "../protocol/pairingUri.ts";
import type { RequestPayload, ResponsePayload } from "../protocol/schemas.ts";
import type { WalletClient, WalletEvent, WalletRequest } from "../protocol/walletClient.ts";
import { createApprover } from "./approval.ts";
import { createChainRegistry } from "./chains.ts";
import { createSigner } from "./signer.ts";
import { createStateStore } from "./state.ts";
import { createWallet, type RequestOutcome, type ServeHandle } from "./wallet.ts";

const KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const SID = `${"S".repeat(42)}A`;
const now = () => Math.floor(Date.now() / 1000);

function fakeRelay() {
  const pending = new Map<string, WalletRequest>();
  const invalid = new Map<string, string>();
  const responses = new Map<string, ResponsePayload>();
  const events: (WalletEvent & { n: number })[] = [];
  let sessionGone = false;
  const gone = () => new RelayError("session_not_found", "no such session");
  const client: WalletClient = {
    async answerPairing(input) {
      return {
        relayUrl: input.uri.relayUrl,
        sessionId: SID,
        sendKey: "k",
        receiveKey: "k",
        matchCode: "012345",
        deviceId: input.deviceId,
        pairedAt: now(),
      };
    },
    async getRequest(_s, id) {
      if (sessionGone) throw gone();
      const r = pending.get(id);
      if (!r) throw new RelayError("request_cancelled", "cancelled");
      return r;
    },
    async pullRequests(_s, o = {}) {
      if (sessionGone) throw gone();
      const requests = [...pending.values()].filter((r) => !responses.has(r.id));
      const rejected = [...invalid.entries()]
        .filter(([id]) => !responses.has(id))
        .map(([id, reason]) => ({ id, reason }));
      if (requests.length + rejected.length === 0) {
        await new Promise((r) => setTimeout(r, 20));
        if (o.signal?.aborted) throw o.signal.reason;
      }
      return { requests, rejected };
    },
    async respond(_s, request, response) {
      const id = typeof request === "string" ? request : request.id;
      if (responses.has(id)) throw new RelayError("request_answered", "answered");
      responses.set(id, response);
      pending.delete(id);
    },
    async sendEvent(_s, event, n) {
      if (sessionGone) throw gone();
      events.push({ ...event, n } as WalletEvent & { n: number });
      return { seq: events.length, id: crypto.randomUUID() };
    },
    async endSession() {
      sessionGone = true;
    },
  };
  const add = (method: string, params: unknown, expiresAt = now() + 60) => {
    const id = crypto.randomUUID();
    const payload: RequestPayload = {
      method,
      params,
      origin: "https://dapp.example",
      chainId: "0x7a69",
      expiresAt,
    };
    pending.set(id, { id, expiresAt, payload });
    return id;
  };
  return {
    client,
    pending,
    invalid,
    responses,
    events,
    add,
    forgetSession() {
      sessionGone = true;
    },
  };
}

async function setup(approve: "auto" | "reject" = "auto", statePath?: string) {
  const relay = fakeRelay();
  const path = statePath ?? join(mkdtempSync(join(tmpdir(), "bb-wallet-loop-")), "state.json");
  const state = createStateStore({ path });
  const signer = createSigner({ privateKey: KEY0 });
  const outcomes: RequestOutcome[] = [];
  const wallet = createWallet({
    state,
    signer,
    chains: await createChainRegistry({ chainId: 31337 }),
    approve: createApprover(approve),
    client: relay.client,
    onRequest: (o) => outcomes.push(o),
  });
  return { relay, state, path, signer, wallet, outcomes };
}

const uri = () =>
  formatPairingUri({
    token: "A".repeat(43),
    relayUrl: "http://relay.test",
    publicKey: `${"B".repeat(42)}A`,
    expiresAt: now() + 60,
  });

async function waitFor(probe: () => boolean, ms = 3_000) {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const handles: ServeHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.stop()));
});

describe("request loop", () => {
  test("approves and answers; declines with 4001 in reject mode", async () => {
    for (const mode of ["auto", "reject"] as const) {
      const { relay, wallet, signer, outcomes } = await setup(mode);
      await wallet.pair(uri());
      handles.push(await wallet.serve({ pullWait: 1 }));
      const id = relay.add("personal_sign", [toHex("hi"), signer.address]);
      await waitFor(() => relay.responses.has(id));
      const response = relay.responses.get(id);
      if (mode === "auto") expect(response).toEqual({ result: await signer.signMessage({ message: "hi" }) });
      else expect(response).toMatchObject({ error: { code: 4001 } });
      expect(outcomes[0]).toMatchObject({
        id,
        via: "pull",
        decision: mode === "auto" ? "approved" : "declined",
      });
    }
  });

  test("an expired request is refused: not signed, not answered", async () => {
    const { relay, wallet, signer, outcomes } = await setup();
    await wallet.pair(uri());
    const id = relay.add("personal_sign", [toHex("late"), signer.address], now() - 1);
    handles.push(await wallet.serve({ pullWait: 1 }));
    await waitFor(() => outcomes.length > 0);
    expect(outcomes[0]).toMatchObject({ id, decision: "expired", delivered: false });
    expect(relay.responses.has(id)).toBe(false);
  });

  test("an envelope that does not open is answered with -32600", async () => {
    const { relay, wallet, outcomes } = await setup();
    await wallet.pair(uri());
    const id = crypto.randomUUID();
    relay.invalid.set(id, "request envelope did not authenticate");
    handles.push(await wallet.serve({ pullWait: 1 }));
    await waitFor(() => relay.responses.has(id));
    expect(relay.responses.get(id)).toMatchObject({ error: { code: -32600 } });
    expect(outcomes[0]?.decision).toBe("invalid");
  });

  test("after a crash: a saved response is re-sent; an interrupted execution is not retried", async () => {
    const { relay, wallet, state, outcomes } = await setup();
    await wallet.pair(uri());
    const saved = crypto.randomUUID();
    const interrupted = crypto.randomUUID();
    state.update((d) => {
      d.processed[saved] = {
        sessionId: SID,
        expiresAt: now() + 60,
        status: "responding",
        response: { result: "0xabc" },
        updatedAt: now(),
      };
      d.processed[interrupted] = {
        sessionId: SID,
        expiresAt: now() + 60,
        status: "executing",
        updatedAt: now(),
      };
    });
    handles.push(await wallet.serve({ pullWait: 1 }));
    await waitFor(() => relay.responses.size === 2);
    expect(relay.responses.get(saved)).toEqual({ result: "0xabc" });
    expect(relay.responses.get(interrupted)).toMatchObject({ error: { code: -32603 } });
    expect(outcomes.map((o) => o.decision).sort()).toEqual(["approved", "interrupted"]);
    expect(Object.values(state.read().processed).every((p) => p.status === "done")).toBe(true);
  });

  test("a response the relay could not take (network) is kept and sent by the next run", async () => {
    const { relay, wallet, signer, state, outcomes } = await setup();
    await wallet.pair(uri());
    const respond = relay.client.respond;
    relay.client.respond = async () => {
      throw new RelayError("network_error", "relay unreachable", { status: 0 });
    };
    const id = relay.add("personal_sign", [toHex("again"), signer.address]);
    const first = await wallet.serve({ pullWait: 1 });
    await waitFor(() => state.read().processed[id]?.status === "responding");
    await first.stop(); // while it is still retrying
    expect(outcomes.map((o) => [o.decision, o.delivered])).toEqual([["approved", false]]);
    const saved = state.read().processed[id]?.response;
    expect(saved).toEqual({ result: await signer.signMessage({ message: "again" }) });

    relay.client.respond = respond; // the relay is back
    handles.push(await wallet.serve({ pullWait: 1 }));
    await waitFor(() => outcomes.length === 2);
    expect(relay.responses.get(id)).toEqual(saved);
    expect(outcomes.map((o) => [o.decision, o.delivered])).toEqual([
      ["approved", false],
      ["approved", true],
    ]);
    expect(state.read().processed[id]?.status).toBe("done");
  });

  test("a session the relay forgot is dropped from the state", async () => {
    const { relay, wallet } = await setup();
    await wallet.pair(uri());
    handles.push(await wallet.serve({ pullWait: 1 }));
    relay.forgetSession();
    await waitFor(() => wallet.status().sessions.length === 0);
  });

  test("events count n from 1 and update the session; disconnect ends and forgets it", async () => {
    const { relay, wallet } = await setup();
    await wallet.pair(uri());
    await wallet.emitAccountsChanged(["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]);
    await wallet.emitChainChanged(31337);
    await expect(wallet.emitChainChanged(1)).rejects.toThrow(/not configured/);
    expect(wallet.status().sessions[0]).toMatchObject({
      accounts: ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"],
      eventCount: 2,
    });
    expect(await wallet.disconnect(SID.slice(0, 6))).toEqual([SID]);
    expect(relay.events.map((e) => [e.type, e.n])).toEqual([
      ["accountsChanged", 1],
      ["chainChanged", 2],
      ["disconnect", 3],
    ]);
    expect(wallet.status().sessions).toEqual([]);
  });

  test("serve tells a dapp paired with another account about the current one", async () => {
    const first = await setup();
    await first.wallet.pair(uri());
    // Same state, another key: as if the wallet restarted with BB_WALLET_PRIVATE_KEY changed.
    const other = createSigner({
      mnemonic: "test test test test test test test test test test test junk",
      accountIndex: 1,
    });
    const wallet = createWallet({
      state: first.state,
      signer: other,
      chains: await createChainRegistry({ chainId: 31337 }),
      approve: createApprover("auto"),
      client: first.relay.client,
    });
    handles.push(await wallet.serve({ pullWait: 1 }));
    await waitFor(() => first.relay.events.length === 1);
    expect(first.relay.events[0]).toMatchObject({ type: "accountsChanged", data: [other.address], n: 1 });
  });

  test("pair refuses expired codes and relays outside the allow-list", async () => {
    const { wallet } = await setup();
    const expired = formatPairingUri({
      token: "A".repeat(43),
      relayUrl: "http://relay.test",
      publicKey: `${"B".repeat(42)}A`,
      expiresAt: now() - 5,
    });
    await expect(wallet.pair(expired)).rejects.toThrow(/\(exp\).*expired/);
    const strict = createWallet({
      state: createStateStore({ path: join(mkdtempSync(join(tmpdir(), "bb-")), "s.json") }),
      allowedRelays: ["https://relay.example"],
    });
    await expect(strict.pair(uri())).rejects.toThrow(/not in this wallet's allowed relays/);
  });
});
