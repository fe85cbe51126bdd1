/**
 * What the operator sees: Prometheus metrics for `GET /metrics` (per instance, scraped live) and daily
 * statistics for `balance-bridge-relay report` (shared by every instance: counters are summed in memory
 * and added to the store every `--stats-interval` seconds and at shutdown, so a crash loses at most
 * one interval's worth).
 *
 * The relay is blind to contents; everything here is metadata it handles anyway (what happened when),
 * plus the wallet's optional `outcome` label on a response (docs/PROTOCOL.md, PUT …/response).
 * Time-to-answer distributions go to the daily statistics as histogram bucket counters, so any number
 * of instances can add to them and `report` can estimate p50/p99 without keeping samples.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Logger } from "./log.ts";
import type { DayStats, Store } from "./store/types.ts";

export type PairingOutcome = "created" | "answered" | "acknowledged" | "expired" | "cancelled";
export type RequestStatus = "posted" | "fetched" | "answered" | "cancelled" | "expired";
export type ResponseOutcome = "approved" | "rejected" | "failed" | "unlabelled";
export type PushKind = "webhook" | "webpush";
export type PushOutcome = "delivered" | "retried" | "failed" | "gone" | "refused";
export type AnswerTimer = "pairing_answer_seconds" | "request_answer_seconds";

/**
 * Upper bounds (seconds) of the time-to-answer buckets: a person answers, so from under a second to
 * the longest request ttl (1 h). Used by the Prometheus histograms and the daily statistics alike.
 */
export const ANSWER_BUCKETS = [
  0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 240, 300, 450, 600, 900,
  1200, 1800, 2700, 3600,
] as const;
/** Store operations: LMDB answers in microseconds to milliseconds, a remote store in milliseconds. */
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** Names of the daily statistics counters (the store only adds numbers; `report.ts` reads them). */
export const statName = {
  pairing: (o: PairingOutcome) => `pairings.${o}`,
  request: (s: RequestStatus) => `requests.${s}`,
  response: (o: ResponseOutcome) => `responses.${o}`,
  push: (k: PushKind, o: PushOutcome) => `push.${k}.${o}`,
  bucket: (t: AnswerTimer, le: number | "+Inf") => `${t}.le.${le}`,
  count: (t: AnswerTimer) => `${t}.count`,
  sum: (t: AnswerTimer) => `${t}.sum`,
};

/** YYYY-MM-DD (UTC) of a time in ms. */
const DAY_MS = 86_400_000; // JavaScript time has no leap seconds: every UTC day is exactly this long
let lastDay = { n: Number.NaN, day: "" };
/** The UTC day (YYYY-MM-DD) of a time in ms; remembered, as every counted event asks for it. */
export function dayOf(ms: number): string {
  const n = Math.floor(ms / DAY_MS);
  if (n !== lastDay.n) lastDay = { n, day: new Date(n * DAY_MS).toISOString().slice(0, 10) };
  return lastDay.day;
}

// Process metrics (CPU, memory, event loop lag, …) belong to the process, not to one app: one registry
// per process, created on the first scrape, merged into every app's answer.
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export type Telemetry = ReturnType<typeof createTelemetry>;

export function createTelemetry(deps: {
  store: Store;
  logger: Logger;
  /** Seconds between flushes of the daily statistics; 0: only on `flush()`. */
  flushInterval: number;
  openLongPolls: () => number;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  const registry = new Registry();
  const pairings = new Counter({
    name: "balance_bridge_pairings_total",
    help: "Pairings by outcome: created, answered (by a wallet), acknowledged (answer taken by the dapp side), expired (no answer in time), cancelled (dapp side closed the QR code).",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const requests = new Counter({
    name: "balance_bridge_requests_total",
    help: "Requests by status: posted, fetched (handed to a wallet), answered, cancelled, expired (no response in time).",
    labelNames: ["status"],
    registers: [registry],
  });
  const responses = new Counter({
    name: "balance_bridge_responses_total",
    help: "First responses by the outcome label the wallet chose to send: approved, rejected, failed, unlabelled.",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const pushes = new Counter({
    name: "balance_bridge_push_total",
    help: "Push notifications by kind (webhook, webpush) and outcome: delivered, retried (each extra attempt), failed, gone (subscription dropped), refused (target not allowed).",
    labelNames: ["kind", "outcome"],
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: "balance_bridge_rate_limited_total",
    help: "Requests refused with 429 rate_limited.",
    registers: [registry],
  });
  const lockdownRefusals = new Counter({
    name: "balance_bridge_lockdown_refusals_total",
    help: "Requests refused by the operator lockdown, by code: pairings_locked, device_blocked.",
    labelNames: ["code"],
    registers: [registry],
  });
  new Gauge({
    name: "balance_bridge_long_polls_open",
    help: "Long-polls being held open right now.",
    registers: [registry],
    collect() {
      this.set(deps.openLongPolls());
    },
  });
  const storeLatency = new Histogram({
    name: "balance_bridge_store_operation_seconds",
    help: "Duration of store operations, by Store method.",
    labelNames: ["operation"],
    buckets: STORE_BUCKETS,
    registers: [registry],
  });
  const answerTimes = {
    pairing_answer_seconds: new Histogram({
      name: "balance_bridge_pairing_answer_seconds",
      help: "Time from pairing created to the wallet's answer.",
      buckets: [...ANSWER_BUCKETS],
      registers: [registry],
    }),
    request_answer_seconds: new Histogram({
      name: "balance_bridge_request_answer_seconds",
      help: "Time from request posted to the wallet's first response.",
      buckets: [...ANSWER_BUCKETS],
      registers: [registry],
    }),
  } satisfies Record<AnswerTimer, Histogram>;

  // ── Daily statistics, summed here and added to the store in batches ──────────────────────────────
  let pending = new Map<string, DayStats>();
  const add = (name: string, n = 1) => {
    const day = dayOf(now());
    let counters = pending.get(day);
    if (!counters) {
      counters = {};
      pending.set(day, counters);
    }
    counters[name] = (counters[name] ?? 0) + n;
  };
  let flushing: Promise<void> = Promise.resolve();
  async function flushOnce(): Promise<void> {
    const batch = pending;
    pending = new Map();
    for (const [day, counters] of batch) {
      try {
        await deps.store.recordStats(day, counters);
      } catch (error) {
        // Keep them for the next flush: statistics are worth a retry, never a failed request.
        const later = pending.get(day) ?? {};
        for (const [name, n] of Object.entries(counters)) later[name] = (later[name] ?? 0) + n;
        pending.set(day, later);
        deps.logger.warn({ err: error, day }, "statistics not saved; will retry");
      }
    }
  }
  const flush = () => {
    flushing = flushing.then(flushOnce);
    return flushing;
  };
  const timer =
    deps.flushInterval > 0 ? setInterval(() => void flush(), deps.flushInterval * 1000) : undefined;
  timer?.unref();

  return {
    registry,
    pairing(outcome: PairingOutcome) {
      pairings.inc({ outcome });
      add(statName.pairing(outcome));
    },
    request(status: RequestStatus, n = 1) {
      if (n <= 0) return;
      requests.inc({ status }, n);
      add(statName.request(status), n);
    },
    response(outcome: ResponseOutcome) {
      responses.inc({ outcome });
      add(statName.response(outcome));
    },
    push(kind: PushKind, outcome: PushOutcome, n = 1) {
      if (n <= 0) return;
      pushes.inc({ kind, outcome }, n);
      add(statName.push(kind, outcome), n);
    },
    rateLimited() {
      rateLimited.inc();
    },
    lockdownRefused(code: "pairings_locked" | "device_blocked") {
      lockdownRefusals.inc({ code });
    },
    /** A time to answer, in seconds. */
    answered(timer: AnswerTimer, seconds: number) {
      if (!Number.isFinite(seconds) || seconds < 0) return;
      answerTimes[timer].observe(seconds);
      const le = ANSWER_BUCKETS.find((b) => seconds <= b) ?? "+Inf";
      add(statName.bucket(timer, le));
      add(statName.count(timer));
      add(statName.sum(timer), seconds);
    },
    /** Records store calls' durations (seconds) into the latency histogram, for one operation. */
    storeObserver(operation: string): (seconds: number) => void {
      return storeLatency.labels({ operation }).observe;
    },
    /** The Prometheus exposition (text format 0.0.4): this app's metrics and the process's. */
    async exposition(): Promise<{ contentType: string; body: string }> {
      const merged = Registry.merge([registry, processMetrics()]);
      return { contentType: merged.contentType, body: await merged.metrics() };
    },
    flush,
    async close(): Promise<void> {
      if (timer) clearInterval(timer);
      await flush();
    },
  };
}

/**
 * The store, with every async method timed into `balance_bridge_store_operation_seconds`. Every request
 * makes store calls, so the timing allocates little: a clock reading and one callback per call (no
 * timer closures or label objects, which prom-client's `startTimer` makes each time). A plain object
 * with the wrapped methods, made once: a Proxy would run its trap on every call.
 */
export function instrumentStore(store: Store, telemetry: Pick<Telemetry, "storeObserver">): Store {
  const untimed = new Set<PropertyKey>(["watch", "close"]);
  const wrapped: Record<string, unknown> = {};
  // The methods wherever they are defined (an object literal or a class), nearest first.
  for (let o: object | null = store; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === "constructor" || name in wrapped) continue;
      const value = Reflect.get(store, name) as unknown;
      if (typeof value !== "function") wrapped[name] = value;
      else if (untimed.has(name)) wrapped[name] = value.bind(store);
      else wrapped[name] = timed(store, value as (...a: unknown[]) => unknown, telemetry.storeObserver(name));
    }
  }
  return wrapped as unknown as Store;
}

function timed(
  target: Store,
  method: (...a: unknown[]) => unknown,
  observe: (seconds: number) => void,
): (...args: unknown[]) => unknown {
  return (...args) => {
    const started = performance.now();
    const result = method.apply(target, args);
    if (!(result instanceof Promise)) {
      observe((performance.now() - started) / 1000);
      return result;
    }
    // Observed when it settles, before the caller's own reactions (registered first).
    const end = () => observe((performance.now() - started) / 1000);
    result.then(end, end);
    return result;
  };
}
