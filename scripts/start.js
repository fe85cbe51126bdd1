#!/usr/bin/env node
// `npm start`: starts the relay on its embedded durable store (./data) and says what to do next.
// Extra arguments go to the relay: `npm start -- --port 9000 --store memory`.
import { spawn } from "node:child_process";

const args = process.argv.slice(2);
console.log(`Balance Bridge: starting the relay (options: npm start -- --help)
  pair a wallet:   npx balance-bridge-wallet pair '<pairing URI>'   (docs/WALLET.md)
  operate it:      docs/OPERATING.md    protocol: docs/PROTOCOL.md
`);
const relay = spawn(process.execPath, ["bin/balance-bridge-relay.js", ...args], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => relay.kill(signal));
relay.on("exit", (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
