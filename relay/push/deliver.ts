/**
 * The delivery loop webhooks and Web Push share: before every attempt the target is re-resolved and
 * re-checked (ssrf.ts: the answer at pairing time may have changed; DNS rebinding), then `send` posts
 * to exactly the address that was checked. Any 2xx is delivery. Network errors, timeouts, 408, 429
 * and 5xx are retried with exponential backoff and jitter ("Exponential Backoff And Jitter", AWS
 * Architecture Blog), honouring Retry-After (RFC 9110 §10.2.3); a Retry-After longer than the longest
 * allowed wait ends the retries. `goneStatuses` (Web Push: 404/410, RFC 8030 §7.3) end them as gone.
 */
import { checkTarget, type Lookup, type ResolvedAddress, type TargetPolicy } from "./ssrf.ts";
import type { PushResult } from "./types.ts";

/** Options every push sender takes (webhooks and Web Push alike). */
export type DeliverySettings = {
  /** Hostnames/IPs allowed even when private or loopback (and, for Web Push, over plain http). */
  allowHosts?: readonly string[];
  /** Allow every private/loopback target (trusted networks only). */
  allowPrivate?: boolean;
  /** Retries after the first attempt. Default 4. */
  retries?: number;
  /** Timeout of one attempt, ms. Default 5000. */
  timeoutMs?: number;
  /** First backoff step, ms (doubles per retry, with jitter). Default 500. */
  baseDelayMs?: number;
  /** Longest wait between attempts, ms; a longer Retry-After ends the retries. Default 30000. */
  maxDelayMs?: number;
  /** Replaces the DNS lookup (tests). */
  lookup?: Lookup;
};

/** The settings with their defaults, and the SSRF policy they make. */
export function resolveDelivery(o: DeliverySettings) {
  const policy: TargetPolicy = {
    allowHosts: o.allowHosts ?? [],
    allowPrivate: o.allowPrivate ?? false,
    ...(o.lookup ? { lookup: o.lookup } : {}),
  };
  return {
    policy,
    retries: o.retries ?? 4,
    timeoutMs: o.timeoutMs ?? 5000,
    baseDelayMs: o.baseDelayMs ?? 500,
    maxDelayMs: o.maxDelayMs ?? 30_000,
  };
}

export type Reply = { status: number; retryAfter: string | undefined };

export type DeliverOptions = {
  url: URL;
  policy: TargetPolicy;
  /** Retries after the first attempt. */
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** What answers: "receiver" (webhook) or "push service" (Web Push), for the failure reasons. */
  peer: string;
  send(address: ResolvedAddress): Promise<Reply>;
  goneStatuses?: readonly number[];
  /** Rewrites a refusal reason from checkTarget (which speaks of webhooks). */
  refusal?: (reason: string) => string;
  signal?: AbortSignal | undefined;
};

const retryableStatus = (status: number) => status === 408 || status === 429 || status >= 500;

export async function deliverWithRetries(o: DeliverOptions): Promise<PushResult> {
  let reason = "not attempted";
  let attempts = 0;
  for (let attempt = 0; attempt <= o.retries; attempt++) {
    if (o.signal?.aborted) return { ok: false, attempts, reason: "aborted" };
    let delay = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** attempt) * (0.5 + Math.random() / 2);
    const check = await checkTarget(o.url, o.policy);
    if (!check.ok) {
      reason = o.refusal ? o.refusal(check.reason) : check.reason;
      if (!check.retryable) return { ok: false, attempts, reason, refused: true };
    } else {
      attempts++;
      try {
        const reply = await o.send(check.addresses[0] as ResolvedAddress);
        if (reply.status >= 200 && reply.status < 300) return { ok: true, attempts };
        reason = `${o.peer} answered ${reply.status}`;
        if (o.goneStatuses?.includes(reply.status)) return { ok: false, attempts, reason, gone: true };
        if (!retryableStatus(reply.status)) return { ok: false, attempts, reason };
        const retryAfter = parseRetryAfter(reply.retryAfter);
        if (retryAfter !== undefined) {
          if (retryAfter > o.maxDelayMs)
            return { ok: false, attempts, reason: `${reason}, Retry-After too long` };
          delay = Math.max(delay, retryAfter);
        }
      } catch (error) {
        reason = o.signal?.aborted
          ? "aborted"
          : `network error: ${error instanceof Error ? error.message : error}`;
      }
    }
    if (attempt < o.retries) await sleep(delay, o.signal);
  }
  return { ok: false, attempts, reason };
}

/** Retry-After as ms: delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
