/**
 * Per-client-IP rate limit: a token bucket (`rate` tokens per second, at most `burst`). An empty bucket
 * answers 429 rate_limited with Retry-After (RFC 9110 §10.2.3) in whole seconds. A long-poll costs one
 * token however long it waits. The table of buckets is bounded: full (idle) buckets are dropped first.
 */

export type RateLimiter = {
  /** Takes one token for `key`; `retryAfter` is the seconds until one is available when refused. */
  take(key: string): { ok: true } | { ok: false; retryAfter: number };
  size(): number;
};

export function createRateLimiter(options: {
  rate: number;
  burst: number;
  now?: () => number;
  maxClients?: number;
}): RateLimiter {
  const { rate, burst } = options;
  const now = options.now ?? (() => performance.now());
  const maxClients = options.maxClients ?? 100_000;
  const buckets = new Map<string, { tokens: number; at: number }>();

  function prune(t: number) {
    for (const [key, b] of buckets) {
      if (b.tokens + ((t - b.at) / 1000) * rate >= burst) buckets.delete(key);
    }
    // Still too many active clients: forget the oldest (they get a fresh, full bucket).
    for (const key of buckets.keys()) {
      if (buckets.size < maxClients) break;
      buckets.delete(key);
    }
  }

  return {
    take(key) {
      const t = now();
      let b = buckets.get(key);
      if (!b) {
        if (buckets.size >= maxClients) prune(t);
        b = { tokens: burst, at: t };
        buckets.set(key, b);
      } else {
        b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * rate);
        b.at = t;
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return { ok: true };
      }
      return { ok: false, retryAfter: Math.max(1, Math.ceil((1 - b.tokens) / rate)) };
    },
    size: () => buckets.size,
  };
}
