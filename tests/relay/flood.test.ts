/**
 * Rate limits that hold under a flood, against a relay process: one address sends 2,000 requests in
 * under 3 s and gets 429 rate_limited with Retry-After, while pairings from another address see no
 * 429 and keep their latency (p50 within a generous bound of a baseline measured in the same test:
 * what a user notices, not a tight timing assertion).
 *
 * Two set-ups: behind a trusted proxy (`--trust-proxy loopback`; the client address is the
 * X-Forwarded-For hop the proxy appended, and a forged hop to its left changes nothing), and direct
 * (distinct loopback source addresses; X-Forwarded-For is ignored, so a flooder cannot rotate it).
 */
import { randomBytes } from "node:crypto";
import { Agent, request } from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import { type RelayProcess, startRelayProcess } from "../support/relayProcess.ts";

const running: RelayProcess[] = [];
afterAll(async () => {
  for (const p of running) await p.stop();
});

type Sent = { status: number; retryAfter: string | undefined; ms: number };

function post(base: string, agent: Agent, headers: Record<string, string> = {}): Promise<Sent> {
  const body = JSON.stringify({ token: randomBytes(32).toString("base64url"), ttl: 30 });
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/v1/pairings`,
      {
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          ...headers,
        },
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers["retry-after"],
            ms: performance.now() - started,
          }),
        );
      },
    );
    req.once("error", reject);
    req.end(body);
  });
}

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** `count` requests from one client, `concurrency` at a time, paced over about `durationMs`. */
async function flood(
  send: () => Promise<Sent>,
  count: number,
  concurrency: number,
  durationMs: number,
): Promise<Sent[]> {
  const results: Sent[] = [];
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const early = started + (next * durationMs) / count - performance.now();
        next++;
        if (early > 1) await new Promise((r) => setTimeout(r, early));
        results.push(await send());
      }
    }),
  );
  return results;
}

/** Pairings from the quiet client, one every `gapMs`, until `until` resolves. */
async function steady(send: () => Promise<Sent>, until: Promise<unknown>, gapMs: number): Promise<Sent[]> {
  const results: Sent[] = [];
  let done = false;
  void until.then(() => {
    done = true;
  });
  while (!done) {
    results.push(await send());
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return results;
}

async function scenario(flooder: () => Promise<Sent>, quiet: () => Promise<Sent>) {
  // Warm up (connections, JIT), then a baseline for the quiet client.
  for (let i = 0; i < 5; i++) await quiet();
  const baseline: Sent[] = [];
  for (let i = 0; i < 15; i++) baseline.push(await quiet());
  const started = performance.now();
  const flooding = flood(flooder, 2000, 32, 2000);
  const during = await steady(quiet, flooding, 100);
  const flooded = await flooding;
  return { baseline, during, flooded, seconds: (performance.now() - started) / 1000 };
}

function expectHeld(r: Awaited<ReturnType<typeof scenario>>) {
  expect(r.seconds).toBeLessThan(3);
  expect(r.flooded).toHaveLength(2000);
  const limited = r.flooded.filter((x) => x.status === 429);
  // Burst 40 + 20/s for under 3 s: everything else is refused, each with a Retry-After in seconds.
  expect(limited.length).toBeGreaterThan(1850);
  expect(limited.every((x) => Number(x.retryAfter) >= 1)).toBe(true);
  expect(r.flooded.filter((x) => x.status !== 429).every((x) => x.status === 201)).toBe(true);
  // The other address: never limited, and its pairings stay about as fast as before the flood.
  expect(r.during.length).toBeGreaterThanOrEqual(5);
  expect(r.during.map((x) => x.status).filter((s) => s !== 201)).toEqual([]);
  const before = p50(r.baseline.map((x) => x.ms));
  const under = p50(r.during.map((x) => x.ms));
  if (process.env.BB_FLOOD_VERBOSE) {
    console.log({ seconds: r.seconds, limited: limited.length, before, under, samples: r.during.length });
  }
  expect(under, `p50 ${under.toFixed(1)} ms under the flood vs ${before.toFixed(1)} ms before`).toBeLessThan(
    Math.max(before * 5, before + 50),
  );
}

describe("rate limit under a flood", () => {
  it("behind a trusted proxy: keyed on the hop the proxy appended (a forged hop to its left changes nothing)", async () => {
    const relay = await startRelayProcess({
      args: ["--store", "memory", "--trust-proxy", "loopback", "--rate-limit", "20", "--rate-burst", "40"],
    });
    running.push(relay);
    const agent = new Agent({ keepAlive: true, maxSockets: 40 });
    const result = await scenario(
      // Each request forges a different "client" in front of the real one; the proxy appended 203.0.113.9.
      () =>
        post(relay.url, agent, {
          "x-forwarded-for": `10.${Math.floor(Math.random() * 255)}.0.1, 203.0.113.9`,
        }),
      () => post(relay.url, agent, { "x-forwarded-for": "198.51.100.7" }),
    );
    agent.destroy();
    expectHeld(result);
  });

  it("direct: distinct source addresses (127.0.0.2 floods, 127.0.0.3 pairs); X-Forwarded-For is not trusted", async () => {
    const relay = await startRelayProcess({
      args: ["--store", "memory", "--rate-limit", "20", "--rate-burst", "40"],
    });
    running.push(relay);
    const flooderAgent = new Agent({ keepAlive: true, maxSockets: 32, localAddress: "127.0.0.2" });
    const quietAgent = new Agent({ keepAlive: true, maxSockets: 2, localAddress: "127.0.0.3" });
    const result = await scenario(
      // Rotating X-Forwarded-For must not help: without --trust-proxy the socket address counts.
      () =>
        post(relay.url, flooderAgent, { "x-forwarded-for": `198.51.100.${Math.floor(Math.random() * 255)}` }),
      () => post(relay.url, quietAgent),
    );
    flooderAgent.destroy();
    quietAgent.destroy();
    expectHeld(result);
  });
});
