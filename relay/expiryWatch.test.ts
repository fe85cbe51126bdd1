import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createExpiryWatch } from "./expiryWatch.ts";
import type { Logger } from "./log.ts";
import type { Fate } from "./store/types.ts";

const T0 = 1_800_000_000_000;
const TOKEN = "t".repeat(43);
const SESSION = "s".repeat(43);
const ID = "0b6f6b7e-8d3c-4c56-9a3b-2f1f7f1d9e01";

function setup(fates: { pairing?: () => Fate; request?: () => Fate } = {}) {
  const calls: string[] = [];
  const expired: string[] = [];
  const debug = vi.fn();
  const watch = createExpiryWatch({
    store: {
      pairingFate: async (token) => {
        calls.push(`pairing ${token}`);
        return fates.pairing ? fates.pairing() : "expired";
      },
      requestFate: async (sessionId, id) => {
        calls.push(`request ${sessionId}|${id}`);
        return fates.request ? fates.request() : "expired";
      },
    },
    logger: { debug } as unknown as Logger,
    onExpired: (kind) => expired.push(kind),
  });
  return { watch, calls, expired, debug };
}

describe("expiry watch", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("asks the store once, shortly after expiry, and counts what expired", async () => {
    const { watch, calls, expired } = setup();
    watch.pairing(TOKEN, T0 / 1000 + 10);
    watch.request(SESSION, ID, T0 / 1000 + 20);
    expect(watch.size()).toBe(2);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toEqual([]); // not before expiresAt + 1 s of slack
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toEqual([`pairing ${TOKEN}`]);
    expect(expired).toEqual(["pairing"]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toEqual([`pairing ${TOKEN}`, `request ${SESSION}|${ID}`]);
    expect(expired).toEqual(["pairing", "request"]);
    expect(watch.size()).toBe(0);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(calls).toHaveLength(2);
    watch.close();
  });

  it("forgets what was settled through this instance", async () => {
    const { watch, calls } = setup();
    const tokens = Array.from({ length: 5 }, (_, i) => `${TOKEN}${i}`);
    for (const t of tokens) watch.pairing(t, T0 / 1000 + 5);
    watch.request(SESSION, ID, T0 / 1000 + 5);
    watch.settlePairing(tokens[1] as string);
    watch.settlePairing(tokens[3] as string);
    watch.settleRequest(SESSION, ID);
    watch.settlePairing("never scheduled");
    expect(watch.size()).toBe(3);
    await vi.advanceTimersByTimeAsync(7_000);
    expect(calls.sort()).toEqual([0, 2, 4].map((i) => `pairing ${tokens[i]}`).sort());
    expect(watch.size()).toBe(0);
    watch.close();
  });

  it("does not count what was answered or cancelled elsewhere", async () => {
    const { watch, calls, expired } = setup({ pairing: () => "answered", request: () => "cancelled" });
    watch.pairing(TOKEN, T0 / 1000 + 1);
    watch.request(SESSION, ID, T0 / 1000 + 1);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(calls).toHaveLength(2);
    expect(expired).toEqual([]);
    watch.close();
  });

  it("looks again while another instance's clock still says pending, three times at most", async () => {
    const fates: Fate[] = ["pending", "pending", "expired"];
    const { watch, calls, expired } = setup({ request: () => fates.shift() ?? "expired" });
    watch.request(SESSION, ID, T0 / 1000 + 1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(calls).toHaveLength(1);
    expect(watch.size()).toBe(1);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(calls).toHaveLength(2);
    expect(expired).toEqual([]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(calls).toHaveLength(3);
    expect(expired).toEqual(["request"]);

    const always = setup({ pairing: () => "pending" });
    always.watch.pairing(TOKEN, T0 / 1000 + 20);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(always.calls).toHaveLength(4); // the first check and three more
    expect(always.watch.size()).toBe(0);
    watch.close();
    always.watch.close();
  });

  it("retries a failed store read, then gives up with a debug line", async () => {
    const { watch, calls, debug } = setup({
      pairing: () => {
        throw new Error("store down");
      },
    });
    watch.pairing(TOKEN, T0 / 1000 + 1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toHaveLength(4);
    expect(debug).toHaveBeenCalledTimes(1);
    expect(watch.size()).toBe(0);
    watch.close();
  });

  it("scheduling a key again replaces its check", async () => {
    const { watch, calls } = setup();
    watch.pairing(TOKEN, T0 / 1000 + 3);
    watch.pairing(TOKEN, T0 / 1000 + 30);
    expect(watch.size()).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(25_000);
    expect(calls).toEqual([`pairing ${TOKEN}`]);
    watch.close();
  });

  it("checks nothing once closed", async () => {
    const { watch, calls } = setup();
    watch.pairing(TOKEN, T0 / 1000 + 1);
    watch.close();
    watch.pairing(`${TOKEN}x`, T0 / 1000 + 1);
    expect(watch.size()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toEqual([]);
  });

  it("sends the checks of a burst together, a bounded number at a time, and counts every one", async () => {
    let inFlight = 0;
    let most = 0;
    const expired: string[] = [];
    const watch = createExpiryWatch({
      store: {
        // Each read answers a turn later, as a store round trip does.
        pairingFate: async () => {
          most = Math.max(most, ++inFlight);
          await new Promise((resolve) => setImmediate(resolve));
          inFlight--;
          return "expired";
        },
        requestFate: async () => "expired",
      },
      logger: { debug: vi.fn() } as unknown as Logger,
      onExpired: (kind) => expired.push(kind),
    });
    for (let i = 0; i < 1_000; i++) watch.pairing(`${TOKEN}${i}`, T0 / 1000 + 5);
    await vi.advanceTimersByTimeAsync(7_000);
    expect(expired).toHaveLength(1_000);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(64);
    expect(watch.size()).toBe(0);
    watch.close();
  });
});
