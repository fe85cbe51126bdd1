/**
 * Steps the e2e tests share: configure the extension through its options page, read the pairing QR
 * code from a screenshot of the connect window (jsqr + pngjs), and pair the test wallet from it.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import jsQR from "jsqr";
import type { Page } from "playwright-core";
import { PNG } from "pngjs";
import { type ExtensionBrowser, PAGES, ROOT } from "./chromium.ts";
import { startCall } from "./extensionDappPage.ts";
import type { TestWallet } from "./extensionWallet.ts";

/**
 * Every run saves its screenshots under test-results/ (git-ignored); `npm run screenshots` runs the
 * e2e tests with BB_SCREENSHOTS=docs to refresh the copies the README shows.
 */
export const SCREENSHOTS =
  process.env.BB_SCREENSHOTS === "docs"
    ? join(ROOT, "docs", "screenshots")
    : join(ROOT, "test-results", "screenshots");

export async function configureOptions(
  browser: ExtensionBrowser,
  o: { relayUrl: string; rpc?: [chainId: string, url: string][]; takeOver?: boolean },
): Promise<void> {
  const page = await browser.openPage(PAGES.options);
  await page.fill("#relay-url", o.relayUrl);
  await page.evaluate(() => {
    for (const row of document.querySelectorAll(".rpc-row")) row.remove();
  });
  for (const [chainId, url] of o.rpc ?? []) {
    await page.click("#add-rpc");
    await page.locator(".rpc-row .rpc-chain").last().fill(chainId);
    await page.locator(".rpc-row .rpc-url").last().fill(url);
  }
  await page.setChecked("#take-over", o.takeOver ?? false);
  await page.click("#save");
  await page.waitForSelector("#status.ok");
  await page.close();
}

/** Decodes the QR code in a PNG screenshot. */
export function decodeQr(png: Buffer): string | undefined {
  const image = PNG.sync.read(png);
  const code = jsQR(
    new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length),
    image.width,
    image.height,
  );
  return code?.data;
}

export function saveScreenshot(name: string, png: Buffer): void {
  const file = join(SCREENSHOTS, name);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, png);
}

/** The pairing URI as the connect window shows it: decoded from a screenshot of its QR code. */
export async function readQrCode(window: Page, o: { saveAs?: string } = {}): Promise<string> {
  await window.waitForSelector("#qr");
  await window.waitForFunction(() => (document.getElementById("qr") as HTMLImageElement | null)?.complete);
  const shot = await window.screenshot();
  if (o.saveAs) saveScreenshot(o.saveAs, shot);
  const uri = decodeQr(shot);
  if (!uri) throw new Error("no QR code found in the connect window's screenshot");
  // The text beside the QR code is the same pairing URI.
  const text = await window.inputValue("#pairing-uri");
  if (text !== uri) throw new Error(`the QR code (${uri}) and the text (${text}) differ`);
  return uri;
}

export type Paired = { window: Page; uri: string; matchCode: string; shownMatchCode: string };

/**
 * Connects `page` by pairing the wallet: eth_requestAccounts (started as `callName`), the QR code
 * decoded from the connect window, the wallet answering it, then "codes match". Does not wait for the
 * page's promise: the caller checks it with `settled(page, callName)`.
 */
export async function pairFromQr(
  browser: ExtensionBrowser,
  page: Page,
  wallet: TestWallet,
  o: { callName?: string; saveAs?: string; beforeAnswer?: (window: Page) => Promise<void> } = {},
): Promise<Paired> {
  const windowOpened = browser.waitForWindow(PAGES.connect);
  await startCall(page, o.callName ?? "connect", "eth_requestAccounts");
  const window = await windowOpened;
  const uri = await readQrCode(window, o.saveAs ? { saveAs: o.saveAs } : {});
  await o.beforeAnswer?.(window);
  const { matchCode } = await wallet.pair(uri);
  const shown = await window.waitForSelector("#match-code", { timeout: 30_000 });
  const shownMatchCode = (await shown.textContent()) ?? "";
  if (shownMatchCode === matchCode) await window.click("#confirm");
  return { window, uri, matchCode, shownMatchCode };
}
