/**
 * Push and pull: the relay (real process, `--push-allow-hosts 127.0.0.1` so it may call a loopback
 * webhook) notifies the wallet's webhook receiver; the wallet also pulls, and handles every request
 * exactly once whichever path brings it, or both, or a webhook repeated.
 * The wallet here signs only (chain 31337 declared with --chain-id, no RPC): no node is needed.
 */
import { recoverMessageAddress, toHex } from "viem";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { DappClient } from "../../protocol/dappClient.ts";
import { freePort, hardhatAccounts } from "../support/hardhat.ts";
import { type RelayProcess, startRelayProcess } from "../support/relayProcess.ts";
import { ask, createDappClient, createWalletHarness, ORIGIN, pair, resultOf } from "./harness.ts";

const accounts = hardhatAccounts();
const key = (i: number) => accounts[i]?.privateKey ?? "0x";

describe.each(["memory", "journal"] as const)("push and pull (--store %s)", (store) => {
  let relay: RelayProcess;
  let dapp: DappClient;

  beforeAll(async () => {
    relay = await startRelayProcess({
      args: ["--store", store, "--rate-limit", "0", "--push-allow-hosts", "127.0.0.1,localhost"],
    });
    dapp = createDappClient({ relayUrl: relay.url });
  });
  afterAll(async () => {
    await relay?.stop();
  });

  test("push only: the webhook brings the request; the response gets back", async () => {
    const wallet = await createWalletHarness({ privateKey: key(0), chainId: 31337 });
    try {
      const handle = await wallet.serve({ webhookPort: 0, pull: false });
      expect(handle.webhookUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const { dappSession } = await pair(dapp, wallet, { webhookUrl: handle.webhookUrl ?? "" });
      const message = "pushed to me";
      const { id, response } = await ask(dapp, dappSession, {
        method: "personal_sign",
        params: [toHex(message), wallet.address],
      });
      const signature = resultOf(response) as `0x${string}`;
      expect(await recoverMessageAddress({ message, signature })).toBe(wallet.address);
      expect((await wallet.outcomeOf(id)).via).toBe("push");
    } finally {
      await wallet.stop();
    }
  });

  test("webhook down: the pull path still delivers every request", async () => {
    const wallet = await createWalletHarness({ privateKey: key(1), chainId: 31337 });
    try {
      // Paired with a webhook nobody listens on: every push attempt fails.
      const dead = `http://127.0.0.1:${await freePort()}/`;
      await wallet.serve({ pullWait: 10 });
      const { dappSession } = await pair(dapp, wallet, { webhookUrl: dead });
      const answers = await Promise.all(
        ["one", "two"].map((m) =>
          ask(dapp, dappSession, { method: "personal_sign", params: [toHex(m), wallet.address] }),
        ),
      );
      for (const { id, response } of answers) {
        expect(resultOf(response)).toMatch(/^0x[0-9a-f]{130}$/);
        expect((await wallet.outcomeOf(id)).via).toBe("pull");
      }
    } finally {
      await wallet.stop();
    }
  });

  test("push and pull together, plus repeated webhooks: each request handled exactly once", async () => {
    const wallet = await createWalletHarness({ privateKey: key(2), chainId: 31337 });
    try {
      const handle = await wallet.serve({ webhookPort: 0, pullWait: 10 });
      const webhookUrl = handle.webhookUrl ?? "";
      const { dappSession } = await pair(dapp, wallet, { webhookUrl });
      const sent = await Promise.all(
        [1, 2, 3, 4].map(() =>
          dapp.sendRequest(dappSession, {
            method: "personal_sign",
            params: [toHex("once"), wallet.address],
            origin: ORIGIN,
            chainId: dappSession.chainId,
          }),
        ),
      );
      // Play the relay retrying its push: the same notification, again and again.
      for (const { id } of sent) {
        for (let i = 0; i < 2; i++) {
          const res = await fetch(webhookUrl, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ sessionId: dappSession.sessionId, requestId: id }),
          });
          expect(res.status).toBe(202);
        }
      }
      for (const { id } of sent) {
        const response = await dapp.waitForResponse(dappSession, id, { signal: AbortSignal.timeout(15_000) });
        expect(resultOf(response)).toMatch(/^0x/);
      }
      await new Promise((r) => setTimeout(r, 300)); // room for a wrongly repeated handling to show
      for (const { id } of sent) expect(wallet.outcomes.filter((o) => o.id === id)).toHaveLength(1);
      expect(wallet.outcomes.every((o) => o.delivered)).toBe(true);
    } finally {
      await wallet.stop();
    }
  });

  test("requests sent while the wallet is off are handled when it comes back", async () => {
    const wallet = await createWalletHarness({ privateKey: key(3), chainId: 31337 });
    try {
      const port = await freePort();
      const { dappSession } = await pair(dapp, wallet, { webhookUrl: `http://127.0.0.1:${port}/` });
      const { id } = await dapp.sendRequest(dappSession, {
        method: "personal_sign",
        params: [toHex("while you were away"), wallet.address],
        origin: ORIGIN,
        chainId: dappSession.chainId,
      });
      await new Promise((r) => setTimeout(r, 300));
      await wallet.serve({ webhookPort: port, pullWait: 10 });
      const response = await dapp.waitForResponse(dappSession, id, { signal: AbortSignal.timeout(15_000) });
      expect(resultOf(response)).toMatch(/^0x/);
      expect(wallet.outcomes.filter((o) => o.id === id)).toHaveLength(1);
    } finally {
      await wallet.stop();
    }
  });

  test("the webhook receiver refuses junk and ignores unknown sessions", async () => {
    const wallet = await createWalletHarness({ privateKey: key(4), chainId: 31337 });
    try {
      const { webhookUrl = "" } = await wallet.serve({ webhookPort: 0, pull: false });
      const post = (body: string) =>
        fetch(webhookUrl, { method: "POST", headers: { "content-type": "application/json" }, body });
      expect((await fetch(webhookUrl)).status).toBe(405);
      expect((await post("not json")).status).toBe(400);
      expect((await post(JSON.stringify({ sessionId: 1 }))).status).toBe(400);
      expect((await post("x".repeat(10_000))).status).toBe(413);
      const unknown = { sessionId: "A".repeat(43), requestId: crypto.randomUUID() };
      expect((await post(JSON.stringify(unknown))).status).toBe(202);
      await new Promise((r) => setTimeout(r, 100));
      expect(wallet.outcomes).toEqual([]);
    } finally {
      await wallet.stop();
    }
  });
});
