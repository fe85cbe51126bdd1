/**
 * The injected provider without a wallet: window.ethereum, EIP-6963 discovery, EIP-1193 errors and
 * the page ↔ bridge ↔ background path, in real Chromium with the built extension.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExtensionBrowser, launchExtensionBrowser } from "../support/chromium.ts";
import { type DappServers, startDappServers } from "../support/extensionDapp.ts";

let browser: ExtensionBrowser;
let dapps: DappServers;

beforeAll(async () => {
  [browser, dapps] = await Promise.all([launchExtensionBrowser(), startDappServers()]);
});

afterAll(async () => {
  await browser?.close();
  await dapps?.close();
});

async function openDapp(origin: string): Promise<Page> {
  const page = await browser.context.newPage();
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => (window as unknown as { dapp?: { provider?: unknown } }).dapp?.provider);
  return page;
}

/** Runs `provider.request` in the page and returns `{result}` or `{error: {code, message, isError}}`. */
function request(page: Page, method: string, params?: unknown) {
  return page.evaluate(
    async ([m, p]) => {
      const provider = (window as unknown as { ethereum: { request(a: unknown): Promise<unknown> } })
        .ethereum;
      try {
        return { result: await provider.request(p === undefined ? { method: m } : { method: m, params: p }) };
      } catch (e) {
        const error = e as { code: number; message: string };
        return { error: { code: error.code, message: error.message, isError: e instanceof Error } };
      }
    },
    [method, params] as const,
  );
}

describe("injected provider", () => {
  it("installs window.ethereum and announces itself by EIP-6963 with a working provider", async () => {
    const page = await openDapp(dapps.originA);
    const found = await page.evaluate(async () => {
      const w = window as unknown as {
        ethereum: { isBalanceBridge?: boolean };
        dapp: { announcements: { info: Record<string, string>; provider: unknown }[] };
      };
      const ours = w.dapp.announcements.filter((a) => a.info.rdns === "org.balancebridge");
      // A second request gets a second announcement, with the same frozen detail.
      const again: unknown[] = [];
      window.addEventListener("eip6963:announceProvider", (e) => again.push((e as CustomEvent).detail));
      window.dispatchEvent(new Event("eip6963:requestProvider"));
      const detail = ours[0] as {
        info: Record<string, string>;
        provider: { request(a: unknown): Promise<unknown> };
      };
      return {
        count: ours.length,
        info: detail.info,
        frozen: Object.isFrozen(detail) && Object.isFrozen(detail.info),
        sameAsWindow: detail.provider === w.ethereum,
        isBalanceBridge: w.ethereum.isBalanceBridge,
        reannounced: again.length === 1 && again[0] === detail,
        chainId: await detail.provider.request({ method: "eth_chainId" }),
      };
    });
    expect(found.count).toBeGreaterThanOrEqual(1);
    expect(found.info.name).toBe("Balance Bridge");
    expect(found.info.rdns).toBe("org.balancebridge");
    expect(found.info.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(found.info.icon).toMatch(/^data:image\/svg\+xml,/);
    expect(found).toMatchObject({
      frozen: true,
      sameAsWindow: true,
      isBalanceBridge: true,
      reannounced: true,
    });
    expect(found.chainId).toBe("0x1");
    await page.close();
  });

  it("gives a new EIP-6963 uuid on every page load", async () => {
    const page = await openDapp(dapps.originA);
    const uuid = () =>
      page.evaluate(
        () =>
          (window as unknown as { dapp: { announcements: { info: { uuid: string } }[] } }).dapp
            .announcements[0]?.info.uuid,
      );
    const first = await uuid();
    await page.reload();
    await page.waitForFunction(() => (window as unknown as { dapp?: { provider?: unknown } }).dapp?.provider);
    expect(await uuid()).not.toBe(first);
    await page.close();
  });

  it("answers locally and with EIP-1193 errors before any wallet is paired", async () => {
    const page = await openDapp(dapps.originA);
    expect(await request(page, "eth_accounts")).toEqual({ result: [] });
    expect(await request(page, "wallet_getPermissions")).toEqual({ result: [] });
    expect(
      await page.evaluate(() =>
        (window as unknown as { ethereum: { isConnected(): boolean } }).ethereum.isConnected(),
      ),
    ).toBe(false);
    // Unknown method: 4200. Needs an account: 4100. Read-only without an RPC node: 4901.
    expect((await request(page, "eth_subscribe", ["newHeads"])).error).toMatchObject({
      code: 4200,
      isError: true,
    });
    expect(
      (await request(page, "personal_sign", ["0x68690a", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"]))
        .error,
    ).toMatchObject({ code: 4100 });
    expect((await request(page, "eth_blockNumber")).error).toMatchObject({ code: 4901 });
    // Malformed calls are refused in the page, as rejected promises.
    const bad = await page.evaluate(async () => {
      const p = (window as unknown as { ethereum: { request(a: unknown): Promise<unknown> } }).ethereum;
      const codes: unknown[] = [];
      for (const args of [undefined, {}, { method: "" }, { method: "eth_call", params: 5 }]) {
        await p.request(args).catch((e: { code: number }) => codes.push(e.code));
      }
      return codes;
    });
    expect(bad).toEqual([-32600, -32600, -32600, -32602]);
    await page.close();
  });

  it("ignores forged messages that do not come from the page's own window or have the wrong shape", async () => {
    const page = await openDapp(dapps.originA);
    // A request with an unexpected field is dropped by the bridge: no answer ever comes.
    const answered = await page.evaluate(
      () =>
        new Promise<boolean>((resolve) => {
          const listener = (e: MessageEvent) => {
            if (
              (e.data as { id?: string })?.id === "forged-1" &&
              (e.data as { type?: string }).type === "response"
            )
              resolve(true);
          };
          window.addEventListener("message", listener);
          window.postMessage(
            {
              target: "balance-bridge:page->bridge",
              type: "request",
              id: "forged-1",
              method: "eth_chainId",
              origin: "https://evil.example",
            },
            "*",
          );
          setTimeout(() => resolve(false), 1_000);
        }),
    );
    expect(answered).toBe(false);
    // The well-formed one (without the extra field) is answered.
    const ok = await page.evaluate(
      () =>
        new Promise<unknown>((resolve) => {
          window.addEventListener("message", (e) => {
            if (
              (e.data as { id?: string })?.id === "forged-2" &&
              (e.data as { type?: string }).type === "response"
            )
              resolve(e.data);
          });
          window.postMessage(
            { target: "balance-bridge:page->bridge", type: "request", id: "forged-2", method: "eth_chainId" },
            "*",
          );
        }),
    );
    expect(ok).toMatchObject({ result: "0x1" });
    await page.close();
  });

  it("leaves window.ethereum to a wallet that assigns it, unless the user chose to take it over", async () => {
    // Another wallet's script, before the page's own: Playwright's init scripts run at document start.
    const other = "{ isOtherWallet: true, request: async () => 'other' }";
    const page = await browser.context.newPage();
    await page.addInitScript(`window.ethereum = ${other};`);
    await page.goto(`${dapps.originA}/`);
    await page.waitForFunction(() => (window as unknown as { dapp?: { provider?: unknown } }).dapp?.provider);
    expect(
      await page.evaluate(() =>
        Boolean((window as unknown as { ethereum: { isOtherWallet?: boolean } }).ethereum.isOtherWallet),
      ),
    ).toBe(true);
    // Still discoverable by EIP-6963.
    expect(
      await page.evaluate(() =>
        (
          window as unknown as { dapp: { announcements: { info: { rdns: string } }[] } }
        ).dapp.announcements.some((a) => a.info.rdns === "org.balancebridge"),
      ),
    ).toBe(true);

    // Options page: take over window.ethereum.
    const options = await browser.openPage("extension/options/options.html");
    await options.check("#take-over");
    await options.click("#save");
    await options.waitForSelector("#status.ok");
    await page.reload();
    await page.waitForFunction(
      () =>
        (window as unknown as { ethereum?: { isBalanceBridge?: boolean } }).ethereum?.isBalanceBridge ===
        true,
    );
    // An assignment by a later script no longer replaces it.
    expect(
      await page.evaluate(() => {
        (window as unknown as { ethereum: unknown }).ethereum = { isOtherWallet: true };
        return (window as unknown as { ethereum: { isBalanceBridge?: boolean } }).ethereum.isBalanceBridge;
      }),
    ).toBe(true);
    await options.uncheck("#take-over");
    await options.click("#save");
    await options.waitForSelector("#status.ok");
    await options.close();
    await page.close();
  });

  it("refuses invalid options with a message naming the field", async () => {
    const options = await browser.openPage("extension/options/options.html");
    await options.fill("#relay-url", "ftp://relay.example");
    await options.click("#save");
    await options.waitForSelector("#status.error");
    expect(await options.textContent("#status")).toContain("relay URL");
    await options.fill("#relay-url", "http://127.0.0.1:8787");
    await options.locator(".rpc-chain").first().fill("not a chain");
    await options.locator(".rpc-url").first().fill("http://127.0.0.1:8545");
    await options.click("#save");
    await options.waitForSelector("#status.error");
    expect(await options.textContent("#status")).toContain("chain id");
    await options.close();
  });
});
