#!/usr/bin/env node
// Runs the relay from its prebuilt bundle (build/relay.js, `node scripts/build-relay.js`) when it exists
// and is newer than every source it was built from; otherwise runs the TypeScript sources directly
// (tsx), so a fresh clone needs no build step and an edited source is never run stale. The bundle
// starts faster and uses ≈ 40 MB less memory (no TypeScript loader). BB_RELAY_BUNDLE=0 forces tsx,
// BB_RELAY_BUNDLE=1 requires the bundle (and fails when it is missing or stale).
import { PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";

// The young generation: V8 starts it at 1 MB per semi-space and doubles it after busy scavenges up
// to 16 MB (32 MB resident for both halves). At 16 MB, 10,000 idle long-polls sometimes stay ≈ 35 MB
// higher once settled (nothing shrinks it when no full GC has armed V8's memory reducer). Held at
// 1 MB, a request's garbage is still live at the next scavenge: ≈ 450 scavenges a second at 20,000
// requests/s, much of it promoted, and once the relay holds hundreds of thousands of records every
// scavenge also runs under old-generation marking: GC took 150–230 ms of each second. Capped at 8 MB:
// ≈ 60 scavenges and 60 ms of GC a second, and idle polls settle as low as at 1 MB
// (docs/BENCHMARKS.md, "The young generation").
// `--max-semi-space-size` is read only when the heap is set up, so it cannot be set from here; the
// growth factor is read at every growth step, so after each GC this keeps it at 2 (V8's default)
// below the cap and at 1 from the cap on. The young generation still shrinks when V8 decides to and
// grows again under load. Node flags that size the semi-space themselves (command line or
// NODE_OPTIONS, e.g. `--max-semi-space-size=16`) win: then this does nothing.
const SEMI_SPACE_CAP = 8 << 20;
const nodeFlags = `${process.execArgv.join(" ")} ${process.env.NODE_OPTIONS ?? ""}`;
if (!/semi[-_]space/.test(nodeFlags)) {
  let factor = 2;
  const capped = () => {
    const young = getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
    // space_size is both semi-spaces.
    return (young?.space_size ?? 0) >= 2 * SEMI_SPACE_CAP;
  };
  new PerformanceObserver(() => {
    const want = capped() ? 1 : 2;
    if (want === factor) return;
    factor = want;
    setFlagsFromString(`--semi-space-growth-factor=${want}`);
  }).observe({ entryTypes: ["gc"] });
}

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
