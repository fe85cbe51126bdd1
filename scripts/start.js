#!/usr/bin/env node
// `npm start`: builds the extension into dist/ (and the relay's bundle when stale), then starts the
// relay on its embedded durable store (./data) and says how to load the extension. Extra arguments go to the relay:
// `npm start -- --port 9000 --store memory` (see `npm start -- --help`).
import { spawn, spawnSync } from "node:child_process";
import { resolve } from "node:path";

const args = process.argv.slice(2);
if (!args.includes("--help")) {
  console.log("Balance Bridge: building the extension into dist/ …");
  const build = spawnSync("npx", ["vite", "build", "--logLevel", "warn"], { stdio: "inherit" });
  if (build.status !== 0) process.exit(build.status ?? 1);
  // The relay's bundle (build/relay.js) starts faster and uses less memory than running through tsx;
  // the bin falls back to tsx by itself if this fails, so a failure here is only a warning.
  const bundle = spawnSync(process.execPath, ["scripts/build-relay.js", "--if-stale"], { stdio: "inherit" });
  if (bundle.status !== 0) console.warn("Could not bundle the relay; running it through tsx instead.");
  console.log(`
Extension built: ${resolve("dist")}
  load it:   chrome://extensions → Developer mode → Load unpacked → choose that folder (docs/EXTENSION.md)
  wallet:    npx balance-bridge-wallet pair '<pairing code>'   (docs/WALLET.md)
  all at once, with a local chain and a test dapp: npm run demo
  operate the relay: docs/OPERATING.md    protocol: docs/PROTOCOL.md

Starting the relay (its default URL is the extension's default relay) …
`);
}
const relay = spawn(process.execPath, ["bin/balance-bridge-relay.js", ...args], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => relay.kill(signal));
relay.on("exit", (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
