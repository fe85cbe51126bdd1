/**
 * 1. Create pairing: `POST /v1/pairings {token, ttl}` with a fresh token per request, 50 connections,
 * autocannon. The same load against a bare node:http server answering the same route with a fixed
 * body is the ceiling; each run measures every target back to back and takes the ratio in that run.
 */
import autocannon from "autocannon";
import { PAIRING_TTL } from "../protocol/constants.ts";
import { token } from "./lib/http.ts";
import { fmt, median, quantile, ratio } from "./lib/stats.ts";

export type CannonFigures = {
  rps: number;
  p50: number;
  p99: number;
  /** Answers that were not 2xx, plus socket errors and timeouts: must be 0 for a valid figure. */
  bad: number;
};

export type Target = { label: string; url: string };

export type CreatePairingResult = {
  connections: number;
  durationSec: number;
  runs: number;
  /** Per target: median figures over the runs. */
  targets: { label: string; figures: CannonFigures; perRun: CannonFigures[] }[];
  /** Per relay target: median over runs of (relay rps / ceiling rps in the same run). */
  ratios: { label: string; ratio: number; perRun: number[] }[];
};

/**
 * The pairings' `ttl`: the longest the protocol allows (protocol/constants.ts `PAIRING_TTL.max`), so
 * none expires while the section runs. A relay reads the fate of every unanswered pairing a second
 * after it expires (relay/expiryWatch.ts); with 60 s those reads, a minute after a relay's slice, fell
 * on whichever target was being measured then (the ceiling's fifth run fell from ≈ 26,000 to 15,500
 * req/s in two full runs).
 */
const TTL = PAIRING_TTL.max;

export async function cannonPairings(
  url: string,
  o: { connections: number; durationSec: number; amount?: number; ttl?: number },
) {
  // Latencies from each response (autocannon's own histogram keeps whole milliseconds only).
  const samples: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url,
        connections: o.connections,
        duration: o.durationSec,
        ...(o.amount ? { amount: o.amount } : {}),
        pipelining: 1,
        timeout: 10,
        requests: [
          {
            method: "POST",
            path: "/v1/pairings",
            headers: { "content-type": "application/json" },
            // A fresh token per request, as every dapp connection makes one (a repeated token is 409).
            setupRequest: (request) => ({
              ...request,
              body: JSON.stringify({ token: token(), ttl: o.ttl ?? TTL }),
            }),
          },
        ],
      },
      (error: unknown, r: autocannon.Result) => (error ? reject(error) : resolve(r)),
    );
    instance.on("response", (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300 && samples.length < 2_000_000) samples.push(ms);
    });
  });
  const figures: CannonFigures = {
    rps: result.requests.average,
    p50: quantile(samples, 0.5),
    p99: quantile(samples, 0.99),
    bad: result.non2xx + result.errors + result.timeouts,
  };
  return figures;
}

/**
 * `ceiling` first, then each relay, in every run (after one short warm-up of each, not counted).
 * Returns medians of the runs and, per relay, the median of its per-run ratio to the ceiling.
 */
export async function benchCreatePairing(
  ceiling: Target,
  relays: Target[],
  o: {
    connections: number;
    durationSec: number;
    runs: number;
    warmupSec: number;
    log?: (line: string) => void;
  },
): Promise<CreatePairingResult> {
  const log = o.log ?? (() => undefined);
  const all = [ceiling, ...relays];
  for (const t of all) await cannonPairings(t.url, { connections: o.connections, durationSec: o.warmupSec });
  const perRun = new Map<string, CannonFigures[]>(all.map((t) => [t.label, []]));
  const ratios = new Map<string, number[]>(relays.map((t) => [t.label, []]));
  for (let run = 1; run <= o.runs; run++) {
    const inRun = new Map<string, CannonFigures>();
    for (const t of all) {
      const f = await cannonPairings(t.url, { connections: o.connections, durationSec: o.durationSec });
      inRun.set(t.label, f);
      perRun.get(t.label)?.push(f);
      log(
        `  run ${run}/${o.runs} ${t.label.padEnd(28)} ${Math.round(f.rps).toString().padStart(6)} req/s  p50 ${fmt(f.p50)} ms  p99 ${fmt(f.p99)} ms${f.bad ? `  (${f.bad} failed!)` : ""}`,
      );
    }
    const c = inRun.get(ceiling.label)?.rps ?? Number.NaN;
    for (const t of relays) ratios.get(t.label)?.push(ratio(inRun.get(t.label)?.rps ?? Number.NaN, c));
  }
  const med = (list: CannonFigures[]): CannonFigures => ({
    rps: median(list.map((f) => f.rps)),
    p50: median(list.map((f) => f.p50)),
    p99: median(list.map((f) => f.p99)),
    bad: list.reduce((n, f) => n + f.bad, 0),
  });
  return {
    connections: o.connections,
    durationSec: o.durationSec,
    runs: o.runs,
    targets: all.map((t) => ({
      label: t.label,
      figures: med(perRun.get(t.label) ?? []),
      perRun: perRun.get(t.label) ?? [],
    })),
    ratios: relays.map((t) => ({
      label: t.label,
      ratio: median(ratios.get(t.label) ?? []),
      perRun: ratios.get(t.label) ?? [],
    })),
  };
}
