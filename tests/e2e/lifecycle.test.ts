/**
 * MV3 life: Chrome stops an extension's service worker whenever it likes (30 s idle, updates, memory).
 * Here it is stopped on purpose (CDP ServiceWorker.stopAllWorkers) at the worst moments, and the dapp's
 * pending promise must still settle with the wallet's real answer; answers whose page is gone must
 * reach the action popup and a notification.
 */
import type { Page } from "playwright-core";
import { createPublicClient, http, parseEther, toHex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExtensionBrowser, PAGES } from "../support/chromium.ts";
import type { DappServers } from "../support/extensionDapp.ts";
import { events, openDapp, result, settled, startCall, waitForEvent } from "../support/extensionDappPage.ts";
import { readQrCode, saveScreenshot } from "../support/extensionSetup.ts";
import type { TestWallet } from "../support/extensionWallet.ts";
import { type E2eWorld, startE2eWorld } from "../support/extensionWorld.ts";
import type { HardhatNode } from "../support/hardhat.ts";

let world: E2eWorld;
let browser: ExtensionBrowser;
let dapps: DappServers;
let chain: HardhatNode;
let wallet: TestWallet;
let page: Page;

beforeAll(async () => {
  world = await startE2eWorld();
  ({ browser, dapps, chain, wallet } = world);
  page = await openDapp(browser.context, dapps.originA);
}, 90_000);

afterAll(async () => {
  await world?.stop();
});

const to = () => chain.accounts[7]?.address as `0x${string}`;

describe("service worker stopped at the worst moments", () => {
  it("is stopped while the QR code is on screen: the wallet's answer still completes the pairing", async () => {
    const opened = browser.waitForWindow(PAGES.connect);
    await startCall(page, "connect", "eth_requestAccounts");
    const window = await opened;
    const uri = await readQrCode(window);

    await browser.stopServiceWorker();
    expect(browser.workerStatus()).toBe("stopped");
    // The phone answers while the worker is down (or just restarting).
    const { matchCode } = await wallet.pair(uri);
    // The connect window's port wakes the worker, which resumes the pairing long-poll from storage.session.
    await browser.waitForWorkerRunning();
    await window.waitForSelector("#match-code");
    expect(await window.textContent("#match-code")).toBe(matchCode);
    await window.click("#confirm");
    expect(await settled(page, "connect")).toEqual({ result: [wallet.address] });
    await wallet.serve();
  });

  it("is stopped while a transaction waits for the phone's approval: the page still gets the hash", async () => {
    wallet.setMode("hold");
    const asked = wallet.nextAsk();
    const value = parseEther("0.5");
    const client = createPublicClient({ transport: http(chain.rpcUrl) });
    const before = await client.getBalance({ address: to() });
    await startCall(page, "tx", "eth_sendTransaction", [
      { from: wallet.address, to: to(), value: toHex(value) },
    ]);
    const description = await asked; // the wallet has fetched it and is asking its user
    expect(description.origin).toBe(dapps.originA);

    // The action popup shows it with its delivery status; keep that as the README's screenshot.
    const popup = await browser.openPage(PAGES.popup);
    await popup.waitForSelector('.request[data-status="fetched"]');
    saveScreenshot("action-popup.png", await popup.locator("body").screenshot());
    await popup.close();

    await browser.stopServiceWorker();
    expect(browser.workerStatus()).toBe("stopped");
    wallet.setMode("approve");
    wallet.release(true); // approved only after the stop

    const answer = await settled(page, "tx");
    expect(answer).toMatchObject({ result: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    const hash = (answer as { result: `0x${string}` }).result;
    expect((await client.waitForTransactionReceipt({ hash })).status).toBe("success");
    expect(await client.getBalance({ address: to() })).toBe(before + value);
    // Executed once, although the request was re-sent to a fresh worker.
    expect(
      wallet.outcomes.filter((o) => o.method === "eth_sendTransaction" && o.decision === "approved"),
    ).toHaveLength(1);
  });

  it("is stopped while idle: wallet events still reach the connected page", async () => {
    const seen = (await events(page)).filter((e) => e.name === "accountsChanged").length;
    await browser.stopServiceWorker();
    const other = chain.accounts[2]?.address as `0x${string}`;
    await wallet.wallet.emitAccountsChanged([other]);
    expect((await waitForEvent(page, "accountsChanged", seen)).data).toEqual([other]);
    await wallet.wallet.emitAccountsChanged([wallet.address]);
    await expect.poll(() => result(page, "eth_accounts")).toEqual([wallet.address]);
  });

  it("keeps an answer whose tab was closed: the action popup lists the hash and a notification says so", async () => {
    const tab = await openDapp(browser.context, dapps.originA);
    wallet.setMode("hold");
    const asked = wallet.nextAsk();
    await startCall(tab, "tx", "eth_sendTransaction", [{ from: wallet.address, to: to(), value: "0x1" }]);
    await asked;
    await tab.close();
    wallet.setMode("approve");
    wallet.release(true);

    const popup = await browser.openPage(PAGES.popup);
    const entry = popup.locator('.history[data-delivered="false"]');
    await entry.waitFor({ timeout: 20_000 });
    const hash = ((await entry.locator(".outcome").textContent()) ?? "").trim() as `0x${string}`;
    expect(hash).toMatch(/^0x[0-9a-f]{64}$/);
    const client = createPublicClient({ transport: http(chain.rpcUrl) });
    expect((await client.waitForTransactionReceipt({ hash })).status).toBe("success");
    const rid = await entry.getAttribute("data-rid");
    const notifications = await popup.evaluate(() => chrome.notifications.getAll());
    expect(Object.keys(notifications)).toContain(`balance-bridge:${rid}`);
    await popup.close();
  });

  it("cancels a waiting request from the action popup: the page gets 4001", async () => {
    wallet.setMode("hold");
    const asked = wallet.nextAsk();
    await startCall(page, "sign", "personal_sign", [toHex("cancel me"), wallet.address]);
    await asked;
    const popup = await browser.openPage(PAGES.popup);
    await popup.click(".request .cancel");
    expect(await settled(page, "sign")).toMatchObject({ error: { code: 4001 } });
    await popup.waitForSelector("#no-requests");
    await popup.close();
    wallet.setMode("approve");
    wallet.release(false);
  });

  it("disconnects from the action popup: the page gets disconnect (4900) and the wallet forgets the session", async () => {
    const popup = await browser.openPage(PAGES.popup);
    await popup.click("#disconnect");
    expect((await waitForEvent(page, "disconnect")).data).toMatchObject({ code: 4900 });
    expect(await result(page, "eth_accounts")).toEqual([]);
    await popup.waitForSelector("#pair");
    await popup.close();
    await expect.poll(() => wallet.wallet.status().sessions.length, { timeout: 20_000 }).toBe(0);
  });
});
