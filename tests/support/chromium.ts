/**
 * Real Chromium (Debian's /usr/bin/chromium, headless) with the built extension from dist/ loaded, for
 * the e2e tests: one persistent context per test file, in a fresh temporary profile.
 *
 * - The build is refreshed first when dist/ is missing or older than the extension's sources
 *   (`vite build`, under a lock so parallel test files build once).
 * - Playwright adds `--disable-extensions` by default; it is removed (ignoreDefaultArgs).
 * - The extension id is fixed by the manifest key (extension/extensionId.ts); the service worker's URL
 *   host is checked against it.
 * - `stopServiceWorker()` stops the extension's MV3 worker the way Chrome does when it is idle: CDP
 *   `ServiceWorker.stopAllWorkers` on a session attached to a tab of the profile, then waits for
 *   `ServiceWorker.workerVersionUpdated` to report it "stopped". The next extension event (a port from
 *   a bridge, an alarm, a message) starts it again.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, chromium, type Page, type Worker } from "playwright-core";
import { EXTENSION_ID, PAGES } from "../../extension/extensionId.ts";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const DIST = join(ROOT, "dist");
export const CHROMIUM = process.env.BB_CHROMIUM ?? "/usr/bin/chromium";
export { EXTENSION_ID, PAGES };

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((name) => newestMtime(join(path, name))));
}

/** Builds dist/ when it is missing or older than extension/, manifest.config.ts or vite.config.ts. */
export function ensureExtensionBuilt(): void {
  const manifest = join(DIST, "manifest.json");
  const sources = [join(ROOT, "extension"), join(ROOT, "manifest.config.ts"), join(ROOT, "vite.config.ts")];
  const stale = () => !existsSync(manifest) || newestMtime(manifest) < Math.max(...sources.map(newestMtime));
  if (!stale()) return;
  const lock = join(ROOT, ".tmp", "extension-build.lock");
  mkdirSync(dirname(lock), { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another test file is building: wait for it, then check again.
      if (Date.now() > deadline) rmSync(lock, { recursive: true, force: true });
      execFileSync("sleep", ["0.2"]);
    }
  }
  try {
    if (stale())
      execFileSync("npx", ["vite", "build", "--logLevel", "warn"], { cwd: ROOT, stdio: "inherit" });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

type RunningStatus = "stopped" | "starting" | "running" | "stopping";

export type ExtensionBrowser = {
  context: BrowserContext;
  extensionId: string;
  /** chrome-extension://<id>/<path> */
  url(path: string): string;
  /**
   * An extension page kept open for calling extension APIs from tests (chrome.storage, …). Playwright
   * keeps a stale Worker handle once the service worker has been stopped, so tests use this instead.
   */
  extensionPage(): Promise<Page>;
  /** The service worker's running status, as CDP's ServiceWorker domain reports it. */
  workerStatus(): RunningStatus | undefined;
  /** Stops the MV3 service worker (as Chrome does after 30 s idle) and waits until it is stopped. */
  stopServiceWorker(): Promise<void>;
  /** Waits until the service worker runs again (it restarts on the next extension event). */
  waitForWorkerRunning(timeoutMs?: number): Promise<void>;
  /** Opens one of the extension's pages in a tab. */
  openPage(path: string): Promise<Page>;
  /** The next popup window the extension opens (chrome.windows.create), once loaded. */
  waitForWindow(path: string, o?: { timeout?: number }): Promise<Page>;
  close(): Promise<void>;
};

type VersionUpdate = {
  versions: { registrationId: string; scriptURL: string; runningStatus: RunningStatus }[];
};

export async function launchExtensionBrowser(): Promise<ExtensionBrowser> {
  ensureExtensionBuilt();
  const profile = mkdtempSync(join(tmpdir(), "bb-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    ignoreDefaultArgs: ["--disable-extensions"],
    args: [
      `--disable-extensions-except=${DIST}`,
      `--load-extension=${DIST}`,
      "--no-sandbox",
      "--no-first-run",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    // Each window keeps its own size: the connect window is the 400×680 popup the extension asks for.
    viewport: null,
  });
  const prefix = `chrome-extension://${EXTENSION_ID}/`;
  const isOurs = (w: Worker) => w.url().startsWith(prefix);
  const url = (path: string) => `${prefix}${path}`;

  // The worker starts with the extension: its URL's host is the id the manifest key gives.
  const first =
    context.serviceWorkers().find(isOurs) ??
    (await context.waitForEvent("serviceworker", { predicate: isOurs, timeout: 15_000 }));
  if (new URL(first.url()).host !== EXTENSION_ID)
    throw new Error(`unexpected extension id in ${first.url()}`);

  // A CDP session on a blank tab, with the ServiceWorker domain on: it reports every running-status
  // change of the extension's worker and can stop it.
  const cdpPage = await context.newPage();
  const cdp = await context.newCDPSession(cdpPage);
  let status: RunningStatus | undefined;
  const statusWaiters = new Set<() => void>();
  cdp.on("ServiceWorker.workerVersionUpdated", (event: VersionUpdate) => {
    for (const v of event.versions) if (v.scriptURL.startsWith(prefix)) status = v.runningStatus;
    for (const wake of statusWaiters) wake();
  });
  await cdp.send("ServiceWorker.enable");
  const waitForStatus = async (wanted: RunningStatus, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (status !== wanted) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`service worker did not become ${wanted} (it is ${status})`);
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, Math.min(left, 250));
        statusWaiters.add(() => {
          clearTimeout(timer);
          wake();
        });
      });
      statusWaiters.clear();
    }
  };

  let apiPage: Page | undefined;
  const browser: ExtensionBrowser = {
    context,
    extensionId: EXTENSION_ID,
    url,
    async extensionPage() {
      if (!apiPage || apiPage.isClosed()) {
        apiPage = await context.newPage();
        await apiPage.goto(url(PAGES.options));
      }
      return apiPage;
    },
    workerStatus: () => status,
    async stopServiceWorker() {
      await cdp.send("ServiceWorker.stopAllWorkers");
      await waitForStatus("stopped", 10_000);
    },
    waitForWorkerRunning: (timeoutMs = 10_000) => waitForStatus("running", timeoutMs),
    async openPage(path) {
      const page = await context.newPage();
      await page.goto(url(path));
      return page;
    },
    async waitForWindow(path, o = {}) {
      const target = url(path);
      const existing = context.pages().find((p) => p.url().startsWith(target));
      const page =
        existing ??
        (await context.waitForEvent("page", {
          predicate: (p) => p.url().startsWith(target),
          timeout: o.timeout ?? 15_000,
        }));
      await page.waitForLoadState("domcontentloaded");
      return page;
    },
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
  return browser;
}
