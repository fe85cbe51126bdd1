/**
 * The whole path in real Chromium: test dapp page → provider (MAIN world) → bridge (ISOLATED) →
 * service worker → real relay process → reference wallet (library) → real Hardhat node, and back.
 * The tests run in order and share one browser, one pairing and two dapp origins.
 */
import type { Page } from "playwright-core";
import {
  createPublicClient,
  http,
  parseEther,
  recoverMessageAddress,
  recoverTypedDataAddress,
  toHex,
} from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExtensionBrowser, PAGES } from "../support/chromium.ts";
import type { DappServers } from "../support/extensionDapp.ts";
import {
  call,
  events,
  openDapp,
  result,
  settled,
  startCall,
  waitForEvent,
} from "../support/extensionDappPage.ts";
import { pairFromQr, readQrCode } from "../support/extensionSetup.ts";
import type { TestWallet } from "../support/extensionWallet.ts";
import { type E2eWorld, startE2eWorld } from "../support/extensionWorld.ts";
import type { HardhatNode } from "../support/hardhat.ts";
import type { RelayProcess } from "../support/relayProcess.ts";

let world: E2eWorld;
let browser: ExtensionBrowser;
let dapps: DappServers;
let relay: RelayProcess;
let chain: HardhatNode;
let wallet: TestWallet;
let pageA: Page;
let pageB: Page;

beforeAll(async () => {
  world = await startE2eWorld();
  ({ browser, dapps, relay, chain, wallet } = world);
  [pageA, pageB] = await Promise.all([
    openDapp(browser.context, dapps.originA),
    openDapp(browser.context, dapps.originB),
  ]);
}, 90_000);

afterAll(async () => {
  await world?.stop();
});

const publicClient = () => createPublicClient({ transport: http(chain.rpcUrl) });

describe("extension ↔ relay ↔ wallet", () => {
  it("shows an expired code as such, offers a new one, and rejects with 4001 when the window is closed", async () => {
    const opened = browser.waitForWindow(PAGES.connect);
    await startCall(pageA, "closed", "eth_requestAccounts");
    const window = await opened;
    const first = await readQrCode(window);
    expect(await window.textContent("#countdown")).toMatch(/^Expires in (5:00|4:\d\d)$/);
    // Fast-forward: the code's expiry is in storage.session (the window counts down to it).
    const ext = await browser.extensionPage();
    await ext.evaluate(async () => {
      const { pairing } = (await chrome.storage.session.get("pairing")) as { pairing: { pending: object } };
      await chrome.storage.session.set({
        pairing: { ...pairing, pending: { ...pairing.pending, expiresAt: 1 } },
      });
    });
    await window.waitForSelector("#expired");
    expect(await window.textContent("#expired")).toContain("expired");
    await window.click("#new-code");
    const second = await readQrCode(window);
    expect(second).not.toBe(first);
    // The old code is dead at the relay: a wallet can no longer answer it.
    await expect(wallet.pair(first)).rejects.toThrow();
    await window.close();
    expect(await settled(pageA, "closed")).toMatchObject({ error: { code: 4001 } });
    expect(await result(pageA, "eth_accounts")).toEqual([]);
  });

  it("pairs by the QR code in the connect window, with the same match code on both screens", async () => {
    const paired = await pairFromQr(browser, pageA, wallet, { saveAs: "qr-popup.png" });
    expect(paired.uri).toMatch(/^balancebridge:[A-Za-z0-9_-]{43}@1\?/);
    expect(paired.uri).toContain(`relay=${encodeURIComponent(relay.url)}`);
    expect(paired.shownMatchCode).toMatch(/^\d{6}$/);
    expect(paired.shownMatchCode).toBe(paired.matchCode);
    expect(await settled(pageA, "connect")).toEqual({ result: [wallet.address] });
    // The window closes itself once the pairing is confirmed.
    await expect.poll(() => paired.window.isClosed()).toBe(true);
    await wallet.serve();

    expect(await result(pageA, "eth_accounts")).toEqual([wallet.address]);
    expect(await result(pageA, "eth_chainId")).toBe(toHex(chain.chainId));
    expect(await result(pageA, "wallet_getPermissions")).toMatchObject([
      { invoker: dapps.originA, parentCapability: "eth_accounts" },
    ]);
    // EIP-1193 events: connect (with the chain) and accountsChanged.
    expect(await waitForEvent(pageA, "connect")).toEqual({
      name: "connect",
      data: { chainId: toHex(chain.chainId) },
    });
    expect((await waitForEvent(pageA, "accountsChanged")).data).toEqual([wallet.address]);
    // The session keys live in storage.session only: nothing on disk could post to the phone.
    const ext = await browser.extensionPage();
    const stored = await ext.evaluate(async () => ({
      local: JSON.stringify(await chrome.storage.local.get(null)),
      session: (await chrome.storage.session.get("wallet")) as { wallet?: { session: { sendKey: string } } },
    }));
    const sendKey = stored.session.wallet?.session.sendKey ?? "missing";
    expect(sendKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(stored.local).not.toContain(sendKey);
    expect(stored.local).not.toContain(paired.matchCode);
  });

  it("answers read-only calls from the chain's RPC node", async () => {
    const client = publicClient();
    const [block, balance] = await Promise.all([
      result<string>(pageA, "eth_blockNumber"),
      result<string>(pageA, "eth_getBalance", [wallet.address, "latest"]),
    ]);
    expect(BigInt(block)).toBe(await client.getBlockNumber());
    expect(BigInt(balance)).toBe(await client.getBalance({ address: wallet.address }));
    const failing = await call(pageA, "eth_call", [{ to: wallet.address, data: "0x" }, "not-a-block"]);
    expect("error" in failing && typeof failing.error.code).toBe("number");
  });

  it("sends a transaction: the hash comes back to the page and the recipient is paid", async () => {
    const to = chain.accounts[5]?.address as `0x${string}`;
    const client = publicClient();
    const before = await client.getBalance({ address: to });
    const value = parseEther("0.25");
    const hash = await result<`0x${string}`>(pageA, "eth_sendTransaction", [
      { from: wallet.address, to, value: toHex(value) },
    ]);
    expect(hash).toMatch(/^0x[0-9a-f]{64}$/);
    const receipt = await client.waitForTransactionReceipt({ hash });
    expect(receipt.status).toBe("success");
    expect(receipt.from.toLowerCase()).toBe(wallet.address.toLowerCase());
    expect(await client.getBalance({ address: to })).toBe(before + value);
  });

  it("signs with personal_sign and eth_signTypedData_v4, recoverable to the paired address", async () => {
    const message = "Sign in to the test dapp";
    const signature = await result<`0x${string}`>(pageA, "personal_sign", [toHex(message), wallet.address]);
    expect(await recoverMessageAddress({ message, signature })).toBe(wallet.address);

    const typed = await pageA.evaluate(
      ([chainId, from]) =>
        (window as unknown as { dapp: { typedData(c: number, f: string): unknown } }).dapp.typedData(
          chainId,
          from,
        ),
      [chain.chainId, wallet.address] as const,
    );
    const typedSignature = await result<`0x${string}`>(pageA, "eth_signTypedData_v4", [
      wallet.address,
      JSON.stringify(typed),
    ]);
    const t = typed as Parameters<typeof recoverTypedDataAddress>[0];
    expect(await recoverTypedDataAddress({ ...t, signature: typedSignature })).toBe(wallet.address);
  });

  it("rejects with 4001 when the wallet declines", async () => {
    wallet.setMode("decline");
    try {
      const declined = await call(pageA, "personal_sign", [toHex("no thanks"), wallet.address]);
      expect(declined).toMatchObject({ error: { code: 4001 } });
      const tx = await call(pageA, "eth_sendTransaction", [
        { from: wallet.address, to: wallet.address, value: "0x1" },
      ]);
      expect(tx).toMatchObject({ error: { code: 4001 } });
    } finally {
      wallet.setMode("approve");
    }
  });

  it("switches chains (EIP-3326): the current chain without asking, an unknown one → the wallet's 4902", async () => {
    const asked = wallet.outcomes.length;
    expect(await result(pageA, "wallet_switchEthereumChain", [{ chainId: toHex(chain.chainId) }])).toBeNull();
    expect(wallet.outcomes.length).toBe(asked);
    expect(await call(pageA, "wallet_switchEthereumChain", [{ chainId: "0x1" }])).toMatchObject({
      error: { code: 4902 },
    });
    expect(await call(pageA, "wallet_switchEthereumChain", [])).toMatchObject({ error: { code: -32602 } });
  });

  it("refuses an account the site was not given (4100) without asking the phone", async () => {
    const other = chain.accounts[3]?.address as string;
    expect(await call(pageA, "personal_sign", [toHex("hi"), other])).toMatchObject({ error: { code: 4100 } });
  });

  it("keeps permissions per origin: origin B sees nothing until it is approved", async () => {
    expect(await result(pageB, "eth_accounts")).toEqual([]);
    expect(await result(pageB, "wallet_getPermissions")).toEqual([]);
    expect(await call(pageB, "personal_sign", [toHex("hi"), wallet.address])).toMatchObject({
      error: { code: 4100 },
    });
    expect(
      await call(pageB, "eth_sendTransaction", [{ from: wallet.address, to: wallet.address }]),
    ).toMatchObject({
      error: { code: 4100 },
    });

    // Paired already: the connect window asks "Connect <origin B>?". Deny → 4001.
    let window = browser.waitForWindow(PAGES.connect);
    await startCall(pageB, "deny", "eth_requestAccounts");
    let prompt = await window;
    await prompt.waitForSelector(`.approval[data-origin="${dapps.originB}"]`);
    await prompt.click(`.approval[data-origin="${dapps.originB}"] .deny`);
    expect(await settled(pageB, "deny")).toMatchObject({ error: { code: 4001 } });
    expect(await result(pageB, "eth_accounts")).toEqual([]);

    // Ask again (EIP-2255 this time) and approve.
    window = browser.waitForWindow(PAGES.connect);
    await startCall(pageB, "approve", "wallet_requestPermissions", [{ eth_accounts: {} }]);
    prompt = await window;
    await prompt.click(`.approval[data-origin="${dapps.originB}"] .approve`);
    expect(await settled(pageB, "approve")).toMatchObject({
      result: [{ invoker: dapps.originB, parentCapability: "eth_accounts" }],
    });
    expect(await result(pageB, "eth_accounts")).toEqual([wallet.address]);
    expect((await waitForEvent(pageB, "accountsChanged")).data).toEqual([wallet.address]);
    // A returns accounts without a prompt (already connected).
    expect(await result(pageA, "eth_requestAccounts")).toEqual([wallet.address]);
  });

  it("revokes a site from the action popup: its eth_accounts becomes []", async () => {
    const popup = await browser.openPage(PAGES.popup);
    await popup.waitForSelector(`.site[data-origin="${dapps.originB}"]`);
    expect(await popup.textContent("#wallet-name")).toBe("E2E test wallet");
    const before = (await events(pageB)).filter((e) => e.name === "accountsChanged").length;
    await popup.click(`.site[data-origin="${dapps.originB}"] .revoke`);
    await popup.waitForSelector(`.site[data-origin="${dapps.originB}"]`, { state: "detached" });
    expect((await waitForEvent(pageB, "accountsChanged", before)).data).toEqual([]);
    expect(await result(pageB, "eth_accounts")).toEqual([]);
    // A is untouched; B can also revoke itself (EIP-2255 wallet_revokePermissions).
    expect(await result(pageA, "eth_accounts")).toEqual([wallet.address]);
    await popup.close();
  });

  it("passes the wallet's events to connected pages and ends with disconnect (4900)", async () => {
    const other = chain.accounts[1]?.address as `0x${string}`;
    const seen = (await events(pageA)).filter((e) => e.name === "accountsChanged").length;
    await wallet.wallet.emitAccountsChanged([other]);
    expect((await waitForEvent(pageA, "accountsChanged", seen)).data).toEqual([other]);
    expect(await result(pageA, "eth_accounts")).toEqual([other]);

    await wallet.wallet.disconnect();
    const disconnect = await waitForEvent(pageA, "disconnect");
    expect(disconnect.data).toMatchObject({ code: 4900 });
    expect(await result(pageA, "eth_accounts")).toEqual([]);
    expect(
      await pageA.evaluate(() =>
        (window as unknown as { ethereum: { isConnected(): boolean } }).ethereum.isConnected(),
      ),
    ).toBe(false);
    const popup = await browser.openPage(PAGES.popup);
    await popup.waitForSelector("#pair");
    await popup.close();
  });
});
