#!/usr/bin/env node
// Runs the relay from its prebuilt bundle (build/relay.js, `node scripts/build-relay.js`) when it exists
// and is newer than every source it was built from; otherwise runs the TypeScript sources directly
// (tsx), so a fresh clone needs no build step and an edited source is never run stale. The bundle
// starts faster and uses ≈ 40 MB less memory (no TypeScript loader). BB_RELAY_BUNDLE=0 forces tsx,
// BB_RELAY_BUNDLE=1 requires the bundle (and fails when it is missing or stale).
import { setFlagsFromString } from "node:v8";

// V8's young generation starts at 1 MB per semi-space and doubles under allocation up to 16 MB (32 MB
// resident for both halves); the relay's request garbage grows it to the maximum within its first
// burst of requests. Keeping it at its initial size, as `node --max-semi-space-size=1` would, holds
// 10,000 idle long-polls in ≈ 20 MB less RSS, for a few per cent more CPU time per request (more
// frequent scavenges; docs/BENCHMARKS.md). That flag is read only when the heap is set up, so it
// cannot be set from here; the growth factor is read at every growth step, so setting it to 1 before
// the relay allocates has the same effect. Node flags that size the semi-space themselves (command
// line or NODE_OPTIONS, e.g. `--max-semi-space-size=16` to undo this) win: then this does nothing.
const nodeFlags = `${process.execArgv.join(" ")} ${process.env.NODE_OPTIONS ?? ""}`;
if (!/semi[-_]space/.test(nodeFlags)) setFlagsFromString("--semi-space-growth-factor=1");

const { bundleIsStale } = await import("../scripts/build-relay.js");
const want = process.env.BB_RELAY_BUNDLE;
const useBundle = want !== "0" && !bundleIsStale();
if (want === "1" && !useBundle) {
  process.stderr.write(
    "balance-bridge-relay: BB_RELAY_BUNDLE=1 but build/relay.js is missing or older than its sources (node scripts/build-relay.js)\n",
  );
  process.exit(2);
}
if (useBundle) {
  await import("../build/relay.js");
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../relay/cli.ts");
}
