import { describe, expect, it } from "vitest";
import { createRateLimiter } from "./rateLimit.ts";

describe("token bucket", () => {
  it("allows a burst, then refills at the rate, with Retry-After in whole seconds", () => {
    let t = 0;
    const limiter = createRateLimiter({ rate: 2, burst: 3, now: () => t });
    expect([1, 2, 3].map(() => limiter.take("a").ok)).toEqual([true, true, true]);
    expect(limiter.take("a")).toEqual({ ok: false, retryAfter: 1 });
    expect(limiter.take("b").ok).toBe(true); // per client
    t += 500; // one token back at 2/s
    expect(limiter.take("a").ok).toBe(true);
    expect(limiter.take("a").ok).toBe(false);
    t += 10_000;
    expect([1, 2, 3, 4].map(() => limiter.take("a").ok)).toEqual([true, true, true, false]);
  });

  it("a slow rate gives a longer Retry-After", () => {
    const limiter = createRateLimiter({ rate: 0.1, burst: 1, now: () => 0 });
    expect(limiter.take("a").ok).toBe(true);
    expect(limiter.take("a")).toEqual({ ok: false, retryAfter: 10 });
  });

  it("bounds the number of tracked clients", () => {
    let t = 0;
    const limiter = createRateLimiter({ rate: 1, burst: 2, now: () => t, maxClients: 100 });
    for (let i = 0; i < 1000; i++) {
      t += 1;
      limiter.take(`client-${i}`);
    }
    expect(limiter.size()).toBeLessThanOrEqual(100);
  });
});
