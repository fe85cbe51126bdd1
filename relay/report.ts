/**
 * The daily report (`balance-bridge-relay report --day YYYY-MM-DD`, `GET /admin/report?day=`): one
 * UTC day's statistics as every instance recorded them in the store (`telemetry.ts`).
 *
 * Percentiles are estimated from the time-to-answer histogram the way Prometheus' histogram_quantile
 * does (linear interpolation inside the bucket that holds the rank), so they are accurate to the
 * bucket width (about ±25 % with `ANSWER_BUCKETS`).
 */

import type { DayStats } from "./store/types.ts";
import {
  ANSWER_BUCKETS,
  type AnswerTimer,
  type PairingOutcome,
  type PushKind,
  type PushOutcome,
  type RequestStatus,
  type ResponseOutcome,
  statName,
} from "./telemetry.ts";

export type AnswerTimes = { count: number; p50: number | null; p99: number | null; mean: number | null };
export type PushSummary = Record<PushOutcome, number> & {
  /** delivered / (delivered + failed + gone + refused); null when nothing was sent. */
  successRate: number | null;
};

export type DayReport = {
  day: string;
  pairings: Record<PairingOutcome, number>;
  requests: Record<RequestStatus, number>;
  /** From the wallet's optional `outcome` label on its response. */
  responses: Record<ResponseOutcome, number>;
  timeToAnswer: { pairing: AnswerTimes; request: AnswerTimes };
  push: Record<PushKind, PushSummary> & { all: PushSummary };
};

const PAIRING: PairingOutcome[] = ["created", "answered", "acknowledged", "cancelled", "expired"];
const REQUEST: RequestStatus[] = ["posted", "fetched", "answered", "cancelled", "expired"];
const RESPONSE: ResponseOutcome[] = ["approved", "rejected", "failed", "unlabelled"];
const PUSH: PushOutcome[] = ["delivered", "retried", "failed", "gone", "refused"];

/** A real calendar date YYYY-MM-DD (2025-02-30 is not). */
export function isDay(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const ms = Date.parse(`${text}T00:00:00Z`);
  return !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(text);
}

/** The q-quantile (0..1) from non-cumulative bucket counts, interpolated inside the bucket. */
export function quantile(q: number, buckets: readonly number[], counts: readonly number[]): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i] ?? 0;
    if (n > 0 && seen + n >= rank) {
      const lower = i === 0 ? 0 : (buckets[i - 1] ?? 0);
      // The overflow bucket has no upper bound: report its lower bound, as histogram_quantile does.
      const upper = buckets[i] ?? lower;
      return lower + (upper - lower) * ((rank - seen) / n);
    }
    seen += n;
  }
  return buckets.at(-1) ?? null;
}

function answerTimes(stats: DayStats, timer: AnswerTimer): AnswerTimes {
  const bounds: number[] = [...ANSWER_BUCKETS];
  const counts = [
    ...bounds.map((b) => stats[statName.bucket(timer, b)] ?? 0),
    stats[statName.bucket(timer, "+Inf")] ?? 0,
  ];
  const count = stats[statName.count(timer)] ?? 0;
  const sum = stats[statName.sum(timer)] ?? 0;
  const round = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);
  return {
    count,
    p50: round(quantile(0.5, bounds, counts)),
    p99: round(quantile(0.99, bounds, counts)),
    mean: count > 0 ? round(sum / count) : null,
  };
}

function pushSummary(counts: Record<PushOutcome, number>): PushSummary {
  const attempts = counts.delivered + counts.failed + counts.gone + counts.refused;
  return {
    ...counts,
    successRate: attempts > 0 ? Math.round((counts.delivered / attempts) * 10_000) / 10_000 : null,
  };
}

export function buildReport(day: string, stats: DayStats): DayReport {
  const pick = <K extends string>(keys: K[], name: (k: K) => string) =>
    Object.fromEntries(keys.map((k) => [k, stats[name(k)] ?? 0])) as Record<K, number>;
  const webhook = pick(PUSH, (o) => statName.push("webhook", o));
  const webpush = pick(PUSH, (o) => statName.push("webpush", o));
  const all = Object.fromEntries(PUSH.map((o) => [o, webhook[o] + webpush[o]])) as Record<
    PushOutcome,
    number
  >;
  return {
    day,
    pairings: pick(PAIRING, statName.pairing),
    requests: pick(REQUEST, statName.request),
    responses: pick(RESPONSE, statName.response),
    timeToAnswer: {
      pairing: answerTimes(stats, "pairing_answer_seconds"),
      request: answerTimes(stats, "request_answer_seconds"),
    },
    push: { webhook: pushSummary(webhook), webpush: pushSummary(webpush), all: pushSummary(all) },
  };
}

const seconds = (x: number | null) => (x === null ? "-" : `${x} s`);
const percent = (x: number | null) => (x === null ? "-" : `${(x * 100).toFixed(1)} %`);

/** A plain-text table for a terminal. */
export function formatReport(r: DayReport): string {
  const rows: Array<[string, string]> = [
    ["pairings created", String(r.pairings.created)],
    ["pairings answered", String(r.pairings.answered)],
    ["pairings acknowledged", String(r.pairings.acknowledged)],
    ["pairings cancelled", String(r.pairings.cancelled)],
    ["pairings expired", String(r.pairings.expired)],
    ["requests posted", String(r.requests.posted)],
    ["requests fetched", String(r.requests.fetched)],
    ["requests answered", String(r.requests.answered)],
    ["  approved", String(r.responses.approved)],
    ["  rejected", String(r.responses.rejected)],
    ["  failed", String(r.responses.failed)],
    ["  unlabelled", String(r.responses.unlabelled)],
    ["requests cancelled", String(r.requests.cancelled)],
    ["requests expired", String(r.requests.expired)],
    ["pairing time to answer p50", seconds(r.timeToAnswer.pairing.p50)],
    ["pairing time to answer p99", seconds(r.timeToAnswer.pairing.p99)],
    ["request time to answer p50", seconds(r.timeToAnswer.request.p50)],
    ["request time to answer p99", seconds(r.timeToAnswer.request.p99)],
  ];
  for (const kind of ["webhook", "webpush"] as const) {
    const p = r.push[kind];
    rows.push([
      `push ${kind}`,
      `${p.delivered} delivered, ${p.retried} retried, ${p.failed} failed, ${p.gone} gone, ${p.refused} refused`,
    ]);
  }
  rows.push(["push success rate", percent(r.push.all.successRate)]);
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  return [
    `Balance Bridge relay, ${r.day} (UTC)`,
    "",
    ...rows.map(([k, v]) => `${k.padEnd(width)}${v}`),
    "",
  ].join("\n");
}
