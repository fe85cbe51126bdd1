/** Small statistics helpers: every figure in the report is a median of runs, every comparison a ratio. */

/** The q-quantile (0..1) of `values` by the nearest-rank method; NaN for an empty list. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1] as number;
}

export const median = (values: readonly number[]): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

export type Latency = { p50: number; p99: number; max: number; n: number };

export function latency(samples: readonly number[]): Latency {
  return {
    p50: quantile(samples, 0.5),
    p99: quantile(samples, 0.99),
    max: samples.length ? Math.max(...samples) : Number.NaN,
    n: samples.length,
  };
}

/** Field-wise median of several runs' results: numbers anywhere in nested objects; other values from the first run. */
export function medianDeep<T>(runs: readonly T[]): T {
  const first = runs[0];
  if (typeof first === "number") return median(runs as readonly number[]) as T;
  if (first === null || typeof first !== "object" || Array.isArray(first)) return first as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(first))
    out[key] = medianDeep(runs.map((r) => (r as Record<string, unknown>)[key]));
  return out as T;
}

/** A nicely rounded number for tables: 3 significant digits below 1000, integers above. */
export function fmt(value: number | undefined, digits = 3): string {
  if (value === undefined || !Number.isFinite(value)) return "–";
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs === 0) return "0";
  return Number(value.toPrecision(digits)).toString();
}

export const ratio = (a: number, b: number): number => (b > 0 ? a / b : Number.NaN);

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits at least `ms` by `performance.now()`. A timer alone may return early by that clock: libuv
 * schedules timers on a loop time cached in whole milliseconds, so `setTimeout(r, 1)` can come back
 * after 0.8 ms. The timer sleeps the whole milliseconds, the rest is waited in event-loop turns.
 */
export async function pause(ms: number): Promise<void> {
  const until = performance.now() + ms;
  await sleep(Math.floor(ms));
  while (performance.now() < until) await new Promise((resolve) => setImmediate(resolve));
}
