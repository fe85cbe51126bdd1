#!/usr/bin/env node
// `npm run demo`: the whole Balance Bridge path on this machine, in one terminal.
//
// Builds the extension if needed, then starts a relay (memory store), a Hardhat chain node, the test
// dapp on two local origins, and Chromium with the extension loaded (headed when $DISPLAY is set,
// else headless and driven by this script). When the connect window shows a pairing code, the
// reference wallet's CLI answers it (standing in for the phone scanning the QR code) and then serves
// requests with `--approve ask`: it asks you on this terminal, y or n, for every request.
// Ctrl-C stops everything.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DIST = join(ROOT, "dist");
const DAPP_DIR = join(ROOT, "tests", "e2e", "dapp");
const CHROMIUM = process.env.BB_CHROMIUM ?? "/usr/bin/chromium";
const EXTENSION_ID = "fmnimmajkfnhflnjhbneacdkmogmgbpd";
// Hardhat's first well-known test account: never use it for real funds.
const DEMO_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const HEADLESS = !process.env.DISPLAY || process.argv.includes("--headless");
const INTERACTIVE = Boolean(process.stdin.isTTY);

const say = (line = "") => console.log(line);
const step = (line) => console.log(`\n\x1b[1m▸ ${line}\x1b[0m`);
const cleanups = [];
const work = mkdtempSync(join(tmpdir(), "bb-demo-"));
cleanups.push(() => rmSync(work, { recursive: true, force: true }));

function newest(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

function ensureBuilt() {
  const manifest = join(DIST, "manifest.json");
  const sources = ["extension", "manifest.config.ts", "vite.config.ts"].map((p) => newest(join(ROOT, p)));
  if (existsSync(manifest) && newest(manifest) >= Math.max(...sources)) return;
  step("Building the extension (vite build → dist/)");
  const { status } = spawnSync("npx", ["vite", "build", "--logLevel", "warn"], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (status !== 0) throw new Error("the build failed");
}

function freePort() {
  return new Promise((done, fail) => {
    const server = createNetServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

function track(child, name) {
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  });
  child.once("exit", (code, signal) => {
    if (!stopping && code !== 0) say(`${name} exited (code ${code}, signal ${signal})`);
  });
  return child;
}

function startRelay() {
  const child = track(
    spawn(
      process.execPath,
      ["bin/balance-bridge-relay.js", "--port", "0", "--store", "memory", "--rate-limit", "0"],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "inherit"],
      },
    ),
    "relay",
  );
  return new Promise((done, fail) => {
    let buffer = "";
    const timer = setTimeout(() => fail(new Error("the relay did not start")), 20_000);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      buffer += chunk;
      for (const line of buffer.split("\n")) {
        try {
          const entry = JSON.parse(line);
          if (entry.msg === "listening") {
            clearTimeout(timer);
            buffer = "";
            child.stdout.removeAllListeners("data");
            child.stdout.resume();
            done(entry.url);
            return;
          }
        } catch {
          // not a JSON log line
        }
      }
    });
  });
}

async function startHardhat() {
  const port = await freePort();
  const rpcUrl = `http://127.0.0.1:${port}`;
  track(
    spawn(
      join(ROOT, "node_modules", ".bin", "hardhat"),
      [
        "node",
        "--config",
        "tests/support/hardhat.config.cjs",
        "--hostname",
        "127.0.0.1",
        "--port",
        String(port),
      ],
      { cwd: ROOT, stdio: "ignore", env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" } },
    ),
    "hardhat node",
  );
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    try {
      const res = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      const { result } = await res.json();
      if (result) return { rpcUrl, chainId: Number.parseInt(result, 16) };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("the Hardhat node did not start");
}

async function serveDapp() {
  const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8" };
  const origins = [];
  for (let i = 0; i < 2; i++) {
    const server = createServer((req, res) => {
      const path = normalize(new URL(req.url ?? "/", "http://x").pathname).replace(/^(\.\.[/\\])+/, "");
      const file = join(DAPP_DIR, path.endsWith("/") ? `${path}index.html` : path);
      if (!file.startsWith(DAPP_DIR) || !existsSync(file)) return res.writeHead(404).end("not found");
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
      res.end(readFileSync(file));
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    cleanups.push(() => server.close());
    origins.push(`http://127.0.0.1:${server.address().port}`);
  }
  return origins;
}

function wallet(args, o = {}) {
  return {
    cmd: process.execPath,
    args: ["bin/balance-bridge-wallet.js", ...args],
    opts: {
      cwd: ROOT,
      env: {
        ...process.env,
        BB_WALLET_PRIVATE_KEY: DEMO_KEY,
        BB_WALLET_RPC: o.rpcUrl,
        BB_WALLET_STATE: join(work, "wallet-state.json"),
        BB_WALLET_NAME: "Balance Bridge demo wallet",
      },
    },
  };
}

let stopping = false;
async function stopAll(code = 0) {
  if (stopping) return;
  stopping = true;
  say("\nStopping…");
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch {
      // best effort
    }
  }
  process.exit(code);
}
process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));

async function main() {
  ensureBuilt();
  step("Starting the relay, a Hardhat chain node and the test dapp");
  const [relayUrl, chain, origins] = await Promise.all([startRelay(), startHardhat(), serveDapp()]);
  say(`  relay        ${relayUrl}`);
  say(`  chain        ${chain.rpcUrl} (chain id ${chain.chainId})`);
  say(`  test dapp    ${origins[0]}/  and  ${origins[1]}/  (two origins)`);

  step(
    `Starting Chromium with the extension (${HEADLESS ? "headless: no $DISPLAY, so this script clicks for you" : "headed"})`,
  );
  const context = await chromium.launchPersistentContext(join(work, "profile"), {
    executablePath: CHROMIUM,
    headless: HEADLESS,
    ignoreDefaultArgs: ["--disable-extensions"],
    args: [
      `--disable-extensions-except=${DIST}`,
      `--load-extension=${DIST}`,
      "--no-sandbox",
      "--no-first-run",
      "--disable-sync",
    ],
    viewport: null,
  });
  cleanups.push(() => context.close());
  const page = (path) => `chrome-extension://${EXTENSION_ID}/${path}`;

  // Point the extension at this relay and chain, through its options page.
  const options = await context.newPage();
  await options.goto(page("extension/options/options.html"));
  await options.fill("#relay-url", relayUrl);
  await options.locator(".rpc-chain").first().fill(String(chain.chainId));
  await options.locator(".rpc-url").first().fill(chain.rpcUrl);
  await options.click("#save");
  await options.waitForSelector("#status.ok");
  await options.close();
  say(`  extension    ${EXTENSION_ID} (relay and RPC set on its options page)`);

  let serving = false;
  const approve = INTERACTIVE ? "ask" : "auto";
  const onConnectWindow = async (win) => {
    await win.waitForSelector("#pairing-uri, #match-code, .approval", { timeout: 60_000 });
    if (await win.$(".approval")) {
      if (HEADLESS) await win.click(".approval .approve");
      else say("  The connect window asks whether to connect this site: answer it in the browser.");
      return;
    }
    const uri = await win.inputValue("#pairing-uri").catch(() => "");
    if (!uri) return;
    step("The connect window shows a pairing QR code; the reference wallet answers it (as your phone would)");
    say(`  ${uri}`);
    const w = wallet(["pair", uri], chain);
    const paired = spawnSync(w.cmd, w.args, { ...w.opts, encoding: "utf8" });
    say(paired.stdout.trimEnd().replace(/^/gm, "  [wallet] "));
    if (paired.status !== 0) {
      process.stdout.write(paired.stderr);
      return;
    }
    const walletCode = /Match code: (\d{6})/.exec(paired.stdout)?.[1];
    await win.waitForSelector("#match-code");
    const shown = await win.textContent("#match-code");
    say(
      `  Match codes: browser ${shown}, wallet ${walletCode}: ${shown === walletCode ? "the same" : "DIFFERENT"}`,
    );
    if (HEADLESS && shown === walletCode) await win.click("#confirm");
    else say("  Compare them and press “Codes match: connect” in the connect window.");
    if (!serving) {
      serving = true;
      step(
        `The wallet now serves requests (--approve ${approve})${INTERACTIVE ? ": answer its questions here, y or n" : ""}`,
      );
      const s = wallet(["serve", "--approve", approve, "--pull-wait", "10"], chain);
      track(spawn(s.cmd, s.args, { ...s.opts, stdio: "inherit" }), "wallet");
    }
  };
  context.on("page", (p) => {
    if (p.url().startsWith(page("extension/connect/connect.html")))
      void onConnectWindow(p).catch(() => undefined);
  });

  const dapp = await context.newPage();
  dapp.on("console", (message) => say(`  [dapp] ${message.text()}`));
  await dapp.goto(`${origins[0]}/`);

  if (!HEADLESS) {
    step("Try it");
    say(`  1. In the test dapp (${origins[0]}/) press Connect: the connect window shows a QR code.`);
    say("  2. This script hands the code to the wallet; both show a match code: press “Codes match”.");
    say("  3. Press Send or personal_sign in the dapp; approve on this terminal; the dapp shows the result.");
    say(`  4. Open ${origins[1]}/ too: it is another origin, with its own permission.`);
    say("  The toolbar button opens the extension's popup: wallet, connected sites, waiting requests.");
    say("\nCtrl-C stops everything.");
    return;
  }

  step("Headless walk-through: connect, send a transaction, sign a message");
  await dapp.click("#connect");
  await dapp.waitForFunction(() => document.getElementById("accounts")?.textContent !== "[]", null, {
    timeout: 120_000,
  });
  say(`  connected: ${await dapp.textContent("#accounts")}`);
  for (const [button, method, what] of [
    ["#send", "eth_sendTransaction", "Sending 0.01 ETH"],
    ["#sign", "personal_sign", "Signing a message"],
  ]) {
    step(`${what}${INTERACTIVE ? ": the wallet asks you below" : ""}`);
    await dapp.click(button);
    // The dapp logs "← method result" or "✗ method error" when the answer comes.
    await dapp.waitForFunction(
      (m) => new RegExp(`[←✗] ${m} `).test(document.getElementById("log")?.textContent ?? ""),
      method,
      { timeout: 300_000 },
    );
  }
  say("\nDone. The relay, chain, wallet and browser keep running: Ctrl-C stops everything.");
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  void stopAll(1);
});
