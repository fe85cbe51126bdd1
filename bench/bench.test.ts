/**
 * Smoke test of the benchmark's modules (`npm run bench`): each measurement runs one trivial case
 * against an in-process relay or the bare ceiling server, and the report renders. It asserts shapes
 * and counts only, never a time: timings belong to `npm run bench`, not to the test suite.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestRelay, type TestRelay } from "../tests/relay/helpers.ts";
import { cannonPairings } from "./createPairing.ts";
import { benchIdle } from "./idle.ts";
import { describeMachine } from "./lib/machine.ts";
import { type Server, startCeiling } from "./lib/processes.ts";
import { latency, median, medianDeep, pause, quantile } from "./lib/stats.ts";
import { benchLoneWrite } from "./loneWrite.ts";
import { type Results, renderSection } from "./report.ts";
import { benchRoundTrip } from "./roundtrip.ts";
import { benchWakeup } from "./wakeup.ts";

let relay: TestRelay;
let ceiling: Server;

beforeAll(async () => {
  [relay, ceiling] = await Promise.all([startTestRelay(), startCeiling()]);
});
afterAll(async () => {
  await Promise.all([relay?.close(), ceiling?.stop()]);
});

describe("bench (smoke)", () => {
  it("statistics: nearest-rank quantiles and medians", () => {
    expect(quantile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99)).toBe(10);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(
      medianDeep([
        { a: 1, b: { c: 2 } },
        { a: 5, b: { c: 9 } },
        { a: 3, b: { c: 4 } },
      ]),
    ).toEqual({
      a: 3,
      b: { c: 4 },
    });
    expect(latency([]).n).toBe(0);
  });

  it("a pause lasts at least its time by performance.now (a bare 1 ms timer came back after 0.83 ms in CI)", async () => {
    const short: number[] = [];
    for (let i = 0; i < 300; i++) {
      const started = performance.now();
      await pause(1);
      const took = performance.now() - started;
      if (took < 1) short.push(took);
    }
    expect(short).toEqual([]);
  });

  it("create pairing: autocannon with a fresh token per request, against the relay and the ceiling", async () => {
    for (const url of [relay.url, ceiling.url]) {
      const f = await cannonPairings(url, { connections: 2, durationSec: 5, amount: 20 });
      expect(f.bad).toBe(0);
      expect(f.rps).toBeGreaterThan(0);
    }
  });

  it("pairing wake-up and request round trip complete their cycles", async () => {
    const o = { sequential: 3, concurrency: 2, parallelSec: 0.2, maxParallel: 4, warmup: 1 };
    const w = await benchWakeup(relay.url, o);
    expect(w.sequential.n).toBe(3);
    expect(w.parallel.pairings).toBeGreaterThan(0);
    const t = await benchRoundTrip(relay.url, o);
    expect(t.sequential.n).toBe(3);
    expect(t.parallel.roundTrips).toBeGreaterThan(0);
  });

  it("the wake-up's floors: the bare server answers the same cycle, and a lone durable write is timed", async () => {
    // A GET that comes after its PUT gets the answer at once (warm-up and parallel runs do that).
    const w = await benchWakeup(ceiling.url, {
      sequential: 2,
      concurrency: 2,
      parallelSec: 0.2,
      maxParallel: 4,
      warmup: 1,
    });
    expect(w.sequential.n).toBe(2);
    // The GET is given 1 ms before the PUT: the disk has been idle at least that long.
    expect(w.sequential.pauseMs).toBeGreaterThanOrEqual(1);
    expect(w.parallel.pairings).toBeGreaterThan(0);
    const started = performance.now();
    const d = await benchLoneWrite({ writes: 3, gapMs: 2.5 });
    expect(d.n).toBe(3);
    expect(d.p50).toBeGreaterThan(0);
    // Fractions of a pause are kept (timers alone would sleep 2 ms).
    expect(performance.now() - started).toBeGreaterThanOrEqual(7.5);
  });

  it("idle long-polls: held by the client process, counted on the server", async () => {
    const f = await benchIdle(ceiling, { polls: 20, healthz: 3 });
    expect(f.held).toBe(20);
    expect(f.sockets).toBeGreaterThanOrEqual(20);
    expect(f.rssHeldMiB).toBeGreaterThan(0);
  });

  it("renders a report section with the machine's description", () => {
    const r: Results = {
      mode: "quick",
      machine: describeMachine(),
      loadAtEnd: 0,
      durationSec: 1,
      runs: 1,
      settings: {},
      stores: [{ name: "redis", label: "redis", available: false, why: "not here" }],
      wakeup: {},
      roundtrip: {},
      idle: undefined,
    };
    const text = renderSection(r);
    expect(text).toContain("Quick run");
    expect(text).toContain("not available (not here)");

    const seq = { p50: 0.45, p99: 1, max: 2, n: 10, pauseMs: 1.4 };
    const figures = {
      sequential: seq,
      parallel: { ...seq, concurrency: 50, pairingsPerSec: 3000, pairings: 9 },
    };
    r.stores = [{ name: "journal", label: "journal (default)", available: true }];
    r.wakeup = { journal: figures };
    r.wakeupFloor = {
      bare: { ...figures, sequential: { ...seq, p50: 0.2 } },
      disk: { p50: 0.15, p99: 0.2, max: 0.3, n: 10, bytes: 800, gapMs: 1 },
      store: "journal",
    };
    const withFloor = renderSection(r);
    expect(withFloor).toContain("| bare node:http (floor) | 0.2 / 1 ms");
    expect(withFloor).toContain("plus 0.1 ms of the relay's own work");
    // Measured per run (floor, store and disk one after the other): the median of those differences.
    r.wakeupFloor.own = { p50: 0.12, perRun: [0.11, 0.12, 0.14] };
    expect(renderSection(r)).toContain(
      "plus 0.12 ms of the relay's own work (the median of each run's difference: 0.11 ms, 0.12 ms, 0.14 ms;",
    );
  });
});
