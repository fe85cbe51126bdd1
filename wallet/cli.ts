/**
 * Entry point of `balance-bridge-wallet` (bin/balance-bridge-wallet.js imports this file): runs the
 * command line and wires Ctrl-C / SIGTERM to a clean stop of `serve` (a second Ctrl-C exits at once).
 */
import { runCli } from "./runCli.ts";

const controller = new AbortController();
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130);
    stopping = true;
    controller.abort(signal);
  });
}

const code = await runCli(process.argv.slice(2), process.env, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  signal: controller.signal,
});
process.exit(code);
