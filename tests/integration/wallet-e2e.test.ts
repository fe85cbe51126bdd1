/**
 * End to end, with real processes: the relay (`--store journal` and `--store memory`), a Hardhat node, the
 * dapp client, and the reference wallet library. Pairing, every wallet method, approval and refusal,
 * events, cancellation and both ways of ending a session.
 */
import {
  createPublicClient,
  getAddress,
  http,
  parseEther,
  recoverMessageAddress,
  recoverTypedDataAddress,
  toHex,
} from "viem";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { DappClient, DappSession, ReceivedEvent } from "../../protocol/dappClient.ts";
import { RelayError } from "../../protocol/errors.ts";
import { type HardhatNode, startHardhatNode } from "../support/hardhat.ts";
import { type RelayProcess, startRelayProcess } from "../support/relayProcess.ts";
import {
  ask,
  createDappClient,
  createWalletHarness,
  errorOf,
  fakeChainNode,
  manualApprover,
  ORIGIN,
  pair,
  resultOf,
  type WalletHarness,
} from "./harness.ts";

const OTHER_CHAIN = 4242;

let node: HardhatNode;
let other: Awaited<ReturnType<typeof fakeChainNode>>;

beforeAll(async () => {
  [node, other] = await Promise.all([startHardhatNode(), fakeChainNode(OTHER_CHAIN)]);
});
afterAll(async () => {
  await Promise.all([node?.stop(), other?.close()]);
});

const typedData = (from: string) => ({
  types: {
    EIP712Domain: [
      { name: "name", type: "string" },
      { name: "version", type: "string" },
      { name: "chainId", type: "uint256" },
      { name: "verifyingContract", type: "address" },
    ],
    Person: [
      { name: "name", type: "string" },
      { name: "wallet", type: "address" },
    ],
    Mail: [
      { name: "from", type: "Person" },
      { name: "to", type: "Person" },
      { name: "contents", type: "string" },
    ],
  },
  primaryType: "Mail",
  domain: {
    name: "Ether Mail",
    version: "1",
    chainId: 31337,
    verifyingContract: "0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC",
  },
  message: {
    from: { name: "Cow", wallet: from },
    to: { name: "Bob", wallet: "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB" },
    contents: "Hello, Bob!",
  },
});

describe.each(["journal", "memory"] as const)("wallet ↔ relay (--store %s) ↔ dapp", (store) => {
  let relay: RelayProcess;
  let dapp: DappClient;
  let harness: WalletHarness;
  let session: DappSession;
  let walletMatchCode: string;
  const extra: WalletHarness[] = [];

  beforeAll(async () => {
    relay = await startRelayProcess({ args: ["--store", store, "--rate-limit", "0"] });
    dapp = createDappClient({ relayUrl: relay.url });
    harness = await createWalletHarness({
      privateKey: node.accounts[0]?.privateKey ?? "0x",
      rpcUrls: [node.rpcUrl, other.url],
      chainId: node.chainId,
    });
    await harness.serve({ pullWait: 10 });
    ({ dappSession: session, walletMatchCode } = await pair(dapp, harness));
  });
  afterAll(async () => {
    await Promise.all([harness?.stop(), ...extra.map((h) => h.stop())]);
    await relay?.stop();
  });

  test("pairing: both sides show the same match code; the dapp gets the account and chain", () => {
    expect(walletMatchCode).toMatch(/^\d{6}$/);
    expect(session.matchCode).toBe(walletMatchCode);
    expect(session.accounts).toEqual([harness.address]);
    expect(session.chainId).toBe("0x7a69");
    expect(session.chains.map((c) => c.chainId).sort()).toEqual(["0x1092", "0x7a69"]);
    // Each chain's RPC URL arrives sealed, for the dapp side's read-only calls.
    expect(session.chains.find((c) => c.chainId === "0x7a69")?.rpcUrl).toBe(node.rpcUrl);
    expect(session.wallet.name).toMatch(/Balance Bridge/);
    expect(harness.wallet.status().sessions.map((s) => s.sessionId)).toEqual([session.sessionId]);
  });

  test("eth_sendTransaction: approved, broadcast, mined; the recipient's balance changes", async () => {
    const recipient = node.accounts[5]?.address ?? "0x";
    const chain = createPublicClient({ transport: http(node.rpcUrl) });
    const before = await chain.getBalance({ address: recipient });
    const value = parseEther("1.25");
    const { id, response } = await ask(dapp, session, {
      method: "eth_sendTransaction",
      params: [{ from: harness.address, to: recipient, value: toHex(value) }],
    });
    const hash = resultOf(response) as `0x${string}`;
    expect(hash).toMatch(/^0x[0-9a-f]{64}$/);
    const receipt = await chain.waitForTransactionReceipt({ hash, timeout: 10_000 });
    expect(receipt.status).toBe("success");
    expect(getAddress(receipt.from)).toBe(harness.address);
    expect(await chain.getBalance({ address: recipient })).toBe(before + value);
    const outcome = await harness.outcomeOf(id);
    expect(outcome).toMatchObject({ decision: "approved", delivered: true, origin: ORIGIN });
    expect(outcome.description?.details).toContainEqual(["value", "1.25 ETH"]);
  });

  test("eth_sendTransaction from another account → 4100; calldata is summarised", async () => {
    const { response } = await ask(dapp, session, {
      method: "eth_sendTransaction",
      params: [{ from: node.accounts[1]?.address, to: node.accounts[2]?.address, value: "0x1" }],
    });
    expect(errorOf(response).code).toBe(4100);
  });

  test("personal_sign (text and hex) recovers to the paired address", async () => {
    const text = "Sign in to dapp.example\nNonce: 42";
    const signed = await ask(dapp, session, {
      method: "personal_sign",
      params: [toHex(text), harness.address],
    });
    const signature = resultOf(signed.response) as `0x${string}`;
    expect(await recoverMessageAddress({ message: text, signature })).toBe(harness.address);
    expect((await harness.outcomeOf(signed.id)).description?.details).toContainEqual(["message", text]);

    const raw = "0xdeadbeef00ff";
    const bytes = await ask(dapp, session, { method: "personal_sign", params: [raw, harness.address] });
    expect(
      await recoverMessageAddress({ message: { raw }, signature: resultOf(bytes.response) as `0x${string}` }),
    ).toBe(harness.address);
  });

  test("eth_signTypedData_v4 recovers to the paired address", async () => {
    const data = typedData(harness.address);
    const { id, response } = await ask(dapp, session, {
      method: "eth_signTypedData_v4",
      params: [harness.address, JSON.stringify(data)],
    });
    const signature = resultOf(response) as `0x${string}`;
    const { EIP712Domain: _domainType, ...types } = data.types;
    const recovered = await recoverTypedDataAddress({
      domain: { ...data.domain, verifyingContract: data.domain.verifyingContract as `0x${string}` },
      types,
      primaryType: "Mail",
      message: {
        ...data.message,
        from: { ...data.message.from, wallet: data.message.from.wallet as `0x${string}` },
        to: { ...data.message.to, wallet: data.message.to.wallet as `0x${string}` },
      },
      signature,
    });
    expect(recovered).toBe(harness.address);
    const details = (await harness.outcomeOf(id)).description?.details ?? [];
    expect(details).toContainEqual(["primary type", "Mail"]);
    expect(details.find(([k]) => k === "domain")?.[1]).toContain("name=Ether Mail");
  });

  test("eth_accounts / eth_chainId answered locally; unknown methods → 4200", async () => {
    expect(resultOf((await ask(dapp, session, { method: "eth_accounts" })).response)).toEqual([
      harness.address,
    ]);
    expect(resultOf((await ask(dapp, session, { method: "eth_chainId" })).response)).toBe("0x7a69");
    expect(
      errorOf((await ask(dapp, session, { method: "eth_sign", params: ["0x", "0x"] })).response).code,
    ).toBe(4200);
  });

  test("wallet_switchEthereumChain / wallet_addEthereumChain to an unknown chain → 4902", async () => {
    const sw = await ask(dapp, session, {
      method: "wallet_switchEthereumChain",
      params: [{ chainId: "0x999999" }],
    });
    expect(errorOf(sw.response).code).toBe(4902);
    const add = await ask(dapp, session, {
      method: "wallet_addEthereumChain",
      params: [{ chainId: "0x999999", chainName: "Evil", rpcUrls: ["https://evil.example"] }],
    });
    expect(errorOf(add.response).code).toBe(4902);
    const known = await ask(dapp, session, {
      method: "wallet_addEthereumChain",
      params: [{ chainId: "0x7a69", chainName: "Hardhat", rpcUrls: ["http://127.0.0.1:1"] }],
    });
    expect(resultOf(known.response)).toBeNull();
  });

  test("events: switching chains and accountsChanged reach the dapp's pollEvents, n counting up", async () => {
    const sw = await ask(dapp, session, {
      method: "wallet_switchEthereumChain",
      params: [{ chainId: toHex(OTHER_CHAIN) }],
    });
    expect(resultOf(sw.response)).toBeNull();
    // On the other chain now: a transaction for 31337 is refused (4901) instead of being sent elsewhere.
    const wrong = await ask(dapp, session, {
      method: "eth_sendTransaction",
      params: [{ from: harness.address, to: harness.address, value: "0x1" }],
      chainId: "0x7a69",
    });
    expect(errorOf(wrong.response).code).toBe(4901);
    await harness.wallet.emitChainChanged(node.chainId);
    await harness.wallet.emitAccountsChanged([harness.address]);

    const seen: ReceivedEvent[] = [];
    let after = 0;
    let lastN = 0;
    const deadline = Date.now() + 10_000;
    while (seen.length < 3 && Date.now() < deadline) {
      const page = await dapp.pollEvents(session, { after, lastN, wait: 5 });
      expect(page.rejected).toEqual([]);
      seen.push(...page.events);
      after = page.next;
      lastN = page.lastN;
    }
    expect(seen.map((e) => [e.event.type, e.event.data, e.event.n])).toEqual([
      ["chainChanged", "0x1092", 1],
      ["chainChanged", "0x7a69", 2],
      ["accountsChanged", [harness.address], 3],
    ]);
    expect(resultOf((await ask(dapp, session, { method: "eth_chainId" })).response)).toBe("0x7a69");
  });

  test("a wallet set to reject → the dapp gets 4001", async () => {
    const rejecting = await createWalletHarness({
      privateKey: node.accounts[3]?.privateKey ?? "0x",
      rpcUrls: [node.rpcUrl],
      approve: "reject",
    });
    extra.push(rejecting);
    await rejecting.serve({ pullWait: 10 });
    const { dappSession } = await pair(dapp, rejecting);
    const { id, response } = await ask(dapp, dappSession, {
      method: "personal_sign",
      params: [toHex("hello"), rejecting.address],
    });
    expect(errorOf(response)).toMatchObject({ code: 4001 });
    expect((await rejecting.outcomeOf(id)).decision).toBe("declined");
  });

  test("a request the dapp cancels while the user decides is withdrawn, not answered", async () => {
    const manual = manualApprover();
    const asking = await createWalletHarness({
      privateKey: node.accounts[4]?.privateKey ?? "0x",
      rpcUrls: [node.rpcUrl],
      approve: manual.approver,
    });
    extra.push(asking);
    await asking.serve({ pullWait: 10 });
    const { dappSession } = await pair(dapp, asking);
    const { id } = await dapp.sendRequest(dappSession, {
      method: "eth_sendTransaction",
      params: [{ from: asking.address, to: asking.address, value: "0x1" }],
      origin: ORIGIN,
      chainId: dappSession.chainId,
    });
    await manual.asked();
    await dapp.cancelRequest(dappSession, id);
    const outcome = await asking.outcomeOf(id, 10_000);
    expect(outcome.decision).toBe("cancelled");
    expect(outcome.response).toBeUndefined();

    // The next request is asked for and approved normally.
    const next = ask(dapp, dappSession, {
      method: "personal_sign",
      params: [toHex("after"), asking.address],
    });
    await manual.asked();
    manual.answer(true);
    expect(resultOf((await next).response)).toMatch(/^0x[0-9a-f]{130}$/);
  });

  test("the dapp ends the session → the wallet forgets it", async () => {
    const other = await createWalletHarness({
      privateKey: node.accounts[6]?.privateKey ?? "0x",
      rpcUrls: [node.rpcUrl],
    });
    extra.push(other);
    await other.serve({ pullWait: 10 });
    const { dappSession } = await pair(dapp, other);
    expect(other.wallet.status().sessions).toHaveLength(1);
    await dapp.endSession(dappSession);
    const deadline = Date.now() + 10_000;
    while (other.wallet.status().sessions.length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(other.wallet.status().sessions).toEqual([]);
  });

  test("the wallet disconnects → the dapp sees the disconnect, then session_not_found", async () => {
    const cursor = await dapp.pollEvents(session, { after: 0, wait: 0 });
    const watching = dapp.pollEvents(session, { after: cursor.next, lastN: cursor.lastN, wait: 10 }).then(
      (page) => page.events.map((e) => e.event.type),
      (error: unknown) => error,
    );
    await new Promise((r) => setTimeout(r, 200)); // let the long-poll reach the relay
    expect(await harness.wallet.disconnect(session.sessionId, "test over")).toEqual([session.sessionId]);
    const seen = await watching;
    // The disconnect event wakes the long-poll; if the session is already gone, that is the same news.
    if (Array.isArray(seen)) expect(seen).toContain("disconnect");
    else expect(seen).toMatchObject({ code: "session_not_found" });

    const after = dapp.sendRequest(session, { method: "eth_chainId", origin: ORIGIN, chainId: "0x7a69" });
    await expect(after).rejects.toBeInstanceOf(RelayError);
    await expect(after).rejects.toMatchObject({ code: "session_not_found" });
    expect(harness.wallet.status().sessions).toEqual([]);
  });
});
