/**
 * 5. End to end: `eth_sendTransaction` from a dapp page in real Chromium (the built extension, launched
 * exactly as the e2e tests launch it) → provider → bridge → service worker → relay (a real process) →
 * the reference wallet (library, approving automatically) → a Hardhat node (automine) → back to the
 * page with the hash. Sequential transactions after a warm-up, each split into:
 *
 *   page → background      the page's call until the service worker posts it to the relay
 *   background → wallet    relay POST, the wallet's pull long-poll waking, fetch, open, describe
 *   wallet (excl. chain)   approve (automatic), bookkeeping, prepare, sign; the chain's time removed
 *   chain                  the node's own time for the wallet's RPC calls (a timing proxy in front)
 *   back                   the wallet's PUT → relay → the worker's long-poll → the page's promise
 *
 * Marks come from the page (performance.timeOrigin + now), the wallet (same clock, this process), the
 * RPC proxy, and the worker's own network requests as Chromium reports them to Playwright (the start of
 * its POST, the end of its response GET). No code in the extension or the wallet is changed for it.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import type { LocalAccount } from "viem";
import { createWalletClient } from "../protocol/walletClient.ts";
import { DIST, launchExtensionBrowser, PAGES } from "../tests/support/chromium.ts";
import { startDappServers } from "../tests/support/extensionDapp.ts";
import { openDapp, settled, startCall } from "../tests/support/extensionDappPage.ts";
import { configureOptions, readQrCode } from "../tests/support/extensionSetup.ts";
import { startHardhatNode } from "../tests/support/hardhat.ts";
import { createApprover } from "../wallet/approval.ts";
import { createChainRegistry } from "../wallet/chains.ts";
import { createSigner } from "../wallet/signer.ts";
import { createStateStore } from "../wallet/state.ts";
import { createWallet } from "../wallet/wallet.ts";
import { registerPid, startRelay } from "./lib/processes.ts";
import { startRpcProxy, wallNow } from "./lib/rpcProxy.ts";
import { type Latency, latency } from "./lib/stats.ts";

/** Every step is bounded: a hung browser or wallet fails the benchmark instead of stalling it. */
function withTimeout<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export type ProviderSize = { file: string; bytes: number; gzip: number };

/** The MAIN-world content script in dist/ (what every page downloads and parses), as the build reports it. */
export function providerSize(): ProviderSize {
  const manifest = JSON.parse(readFileSync(join(DIST, "manifest.json"), "utf8")) as {
    content_scripts?: { js?: string[]; world?: string }[];
  };
  const file = manifest.content_scripts?.find((s) => s.world === "MAIN")?.js?.[0];
  if (!file) throw new Error("no MAIN-world content script in dist/manifest.json");
  const path = join(DIST, file);
  return { file: `dist/${file}`, bytes: statSync(path).size, gzip: gzipSync(readFileSync(path)).length };
}

export type E2eFigures = {
  iterations: number;
  total: Latency;
  excludingChain: Latency;
  parts: {
    pageToBackground: Latency;
    backgroundToWallet: Latency;
    walletExclChain: Latency;
    signing: Latency;
    chain: Latency;
    back: Latency;
    relayToBackground: Latency;
    backgroundToPage: Latency;
  };
  /** False when Chromium reported none of the worker's requests (then the first two parts are merged). */
  workerMarks: boolean;
  provider: ProviderSize;
  setupSec: number;
};

type Sample = {
  t0: number;
  t1: number;
  decide?: number;
  respondStart?: number;
  chain: number;
  signing: number;
  bgPost?: number;
  bgResponse?: number;
};

export async function benchE2e(o: {
  iterations: number;
  warmup: number;
  store: string;
  log?: (s: string) => void;
}) {
  const log = o.log ?? (() => undefined);
  const setupStarted = performance.now();
  const stateDir = mkdtempSync(join(tmpdir(), "bb-bench-wallet-"));
  const launched = await Promise.allSettled([
    launchExtensionBrowser(),
    startDappServers(),
    startRelay({ store: o.store, runtime: "bundle" }),
    startHardhatNode(),
  ] as const);
  if (launched.some((l) => l.status === "rejected")) {
    // Stop whatever did start, then report the first failure.
    const [b, d, r, c] = launched;
    await Promise.allSettled([
      b.status === "fulfilled" ? b.value.close() : undefined,
      d.status === "fulfilled" ? d.value.close() : undefined,
      r.status === "fulfilled" ? r.value.stop() : undefined,
      c.status === "fulfilled" ? c.value.stop() : undefined,
    ]);
    rmSync(stateDir, { recursive: true, force: true });
    throw (launched.find((l) => l.status === "rejected") as PromiseRejectedResult).reason;
  }
  const [browser, dapps, relay, chain] = launched.map(
    (l) => (l as PromiseFulfilledResult<unknown>).value,
  ) as [
    Awaited<ReturnType<typeof launchExtensionBrowser>>,
    Awaited<ReturnType<typeof startDappServers>>,
    Awaited<ReturnType<typeof startRelay>>,
    Awaited<ReturnType<typeof startHardhatNode>>,
  ];
  const unregisterChain = registerPid(chain.pid);
  const proxy = await startRpcProxy(chain.rpcUrl);
  const marks = {
    decide: [] as number[],
    respond: [] as { start: number; end: number }[],
    sign: [] as { start: number; ms: number }[],
  };
  // Chromium's record of the service worker's own requests (Playwright reports them by default).
  const worker = { posts: [] as number[], responses: [] as number[] };
  browser.context.on("requestfinished", (request) => {
    if (!request.serviceWorker()) return;
    const url = request.url();
    const timing = request.timing();
    if (request.method() === "POST" && /\/v1\/sessions\/[^/]+\/requests$/.test(url)) {
      worker.posts.push(timing.startTime);
    } else if (request.method() === "GET" && /\/requests\/[^/]+\/response\?/.test(url)) {
      void request.response().then((r) => {
        if (r?.status() === 200) worker.responses.push(timing.startTime + timing.responseEnd);
      });
    }
  });

  try {
    const key = chain.accounts[0]?.privateKey;
    const to = chain.accounts[5]?.address;
    if (!key || !to) throw new Error("no Hardhat accounts");
    const signer = createSigner({ privateKey: key });
    const sign = signer.signTransaction.bind(signer);
    const timedSigner: LocalAccount = {
      ...signer,
      signTransaction: (async (...args: Parameters<typeof sign>) => {
        const start = wallNow();
        try {
          return await sign(...args);
        } finally {
          marks.sign.push({ start, ms: wallNow() - start });
        }
      }) as typeof sign,
    };
    const auto = createApprover("auto");
    const baseClient = createWalletClient();
    const wallet = createWallet({
      state: createStateStore({ path: join(stateDir, "state.json") }),
      signer: timedSigner,
      chains: await createChainRegistry({ rpcUrls: [proxy.url] }),
      approve: {
        mode: "auto",
        decide(description, options) {
          marks.decide.push(wallNow());
          return auto.decide(description, options);
        },
      },
      client: {
        ...baseClient,
        async respond(...args: Parameters<typeof baseClient.respond>) {
          const start = wallNow();
          try {
            return await baseClient.respond(...args);
          } finally {
            marks.respond.push({ start, end: wallNow() });
          }
        },
      },
      walletInfo: { name: "Benchmark wallet" },
    });

    await configureOptions(browser, { relayUrl: relay.url, rpc: [[String(chain.chainId), chain.rpcUrl]] });
    const page = await openDapp(browser.context, dapps.originA);
    // Pair exactly as a user does: the QR code in the connect window, the match code, confirm.
    const windowOpened = browser.waitForWindow(PAGES.connect);
    await startCall(page, "connect", "eth_requestAccounts");
    const window = await windowOpened;
    const uri = await readQrCode(window);
    const paired = await wallet.pair(uri);
    const shown = await window.waitForSelector("#match-code", { timeout: 30_000 });
    if ((await shown.textContent()) !== paired.matchCode) throw new Error("match codes differ");
    await window.click("#confirm");
    const connected = await settled(page, "connect");
    if (!("result" in connected)) throw new Error(`pairing failed: ${JSON.stringify(connected)}`);
    const handle = await wallet.serve({ pullWait: 25 });
    const from = signer.address;
    const setupSec = (performance.now() - setupStarted) / 1000;
    log(`  e2e set up in ${setupSec.toFixed(1)} s (Chromium, extension, relay, Hardhat, pairing)`);

    const samples: Sample[] = [];
    try {
      for (let i = 0; i < o.warmup + o.iterations; i++) {
        const r = await withTimeout(
          30_000,
          `transaction ${i + 1}`,
          page.evaluate(
            async ([f, t]) => {
              const provider = (
                window as unknown as { dapp: { provider: { request(a: unknown): Promise<unknown> } } }
              ).dapp.provider;
              const t0 = performance.timeOrigin + performance.now();
              const hash = await provider.request({
                method: "eth_sendTransaction",
                params: [{ from: f, to: t, value: "0x1" }],
              });
              return { t0, t1: performance.timeOrigin + performance.now(), hash: String(hash) };
            },
            [from, to] as const,
          ),
        );
        if (!/^0x[0-9a-f]{64}$/.test(r.hash)) throw new Error(`not a transaction hash: ${r.hash}`);
        if (i < o.warmup) continue;
        const within = (t: number) => t >= r.t0 && t <= r.t1;
        const decide = marks.decide.find(within);
        const respond = marks.respond.find((m) => within(m.start));
        samples.push({
          t0: r.t0,
          t1: r.t1,
          ...(decide !== undefined ? { decide } : {}),
          ...(respond ? { respondStart: respond.start } : {}),
          chain: proxy.chainMs(r.t0, r.t1),
          signing: marks.sign.filter((m) => within(m.start)).reduce((ms, m) => ms + m.ms, 0),
        });
      }
    } finally {
      await handle.stop();
    }
    // The worker's network events arrive a little after the page's promise: match them at the end.
    await new Promise((r) => setTimeout(r, 500));
    for (const s of samples) {
      const post = worker.posts.find((t) => t >= s.t0 - 1 && t <= s.t1);
      const resp = worker.responses.find((t) => t >= s.t0 && t <= s.t1 + 1);
      if (post !== undefined) s.bgPost = post;
      if (resp !== undefined) s.bgResponse = resp;
    }
    return summarize(samples, setupSec);
  } finally {
    await browser.close();
    await Promise.all([dapps.close(), relay.stop(), chain.stop(), proxy.close()]);
    unregisterChain();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

function summarize(samples: Sample[], setupSec: number): E2eFigures {
  const pick = (f: (s: Sample) => number | undefined) =>
    samples.map(f).filter((v): v is number => v !== undefined && Number.isFinite(v));
  const workerMarks = samples.every((s) => s.bgPost !== undefined && s.bgResponse !== undefined);
  return {
    iterations: samples.length,
    total: latency(pick((s) => s.t1 - s.t0)),
    excludingChain: latency(pick((s) => s.t1 - s.t0 - s.chain)),
    parts: {
      pageToBackground: latency(pick((s) => (s.bgPost !== undefined ? s.bgPost - s.t0 : undefined))),
      backgroundToWallet: latency(
        pick((s) => (s.decide === undefined ? undefined : s.decide - (s.bgPost ?? s.t0))),
      ),
      walletExclChain: latency(
        pick((s) =>
          s.decide !== undefined && s.respondStart !== undefined
            ? s.respondStart - s.decide - s.chain
            : undefined,
        ),
      ),
      signing: latency(pick((s) => s.signing)),
      chain: latency(pick((s) => s.chain)),
      back: latency(pick((s) => (s.respondStart !== undefined ? s.t1 - s.respondStart : undefined))),
      relayToBackground: latency(
        pick((s) =>
          s.bgResponse !== undefined && s.respondStart !== undefined
            ? s.bgResponse - s.respondStart
            : undefined,
        ),
      ),
      backgroundToPage: latency(pick((s) => (s.bgResponse !== undefined ? s.t1 - s.bgResponse : undefined))),
    },
    workerMarks,
    provider: providerSize(),
    setupSec,
  };
}
