/**
 * Redis crashes (SIGKILL) under two running relays and comes back, with AOF on and
 * `appendfsync always`: nothing the relays acknowledged is lost (pending pairing, pending request,
 * landed response, session); while Redis is away every call answers 503 store_unavailable at once
 * (never a 500, never a hang); afterwards the relays reconnect by themselves, including their
 * pub/sub wake-ups.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REQUEST_STATUS_HEADER } from "../../protocol/constants.ts";
import {
  type Api,
  createApi,
  errorOf,
  type Reply,
  sealedPair,
  sealedSession,
  sessionId,
  sleep,
  token,
  uuid,
} from "../relay/helpers.ts";
import { type RedisServer, startRedis } from "../support/redisServer.ts";
import { type RelayProcess, startRelayProcess } from "../support/relayProcess.ts";

let redis: RedisServer;
let a: RelayProcess;
let b: RelayProcess;
let apiA: Api;
let apiB: Api;

beforeAll(async () => {
  redis = await startRedis({ appendonly: true, appendfsync: "always" });
  const args = ["--store", redis.url, "--rate-limit", "0"];
  [a, b] = await Promise.all([startRelayProcess({ args }), startRelayProcess({ args })]);
  apiA = createApi(a.url);
  apiB = createApi(b.url);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.stop();
});

async function healthy(api: Api, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await api.get("/healthz")).status !== 200) {
    if (Date.now() > deadline) throw new Error("relay did not recover");
    await sleep(50);
  }
}

/** A long-poll that, like the clients, retries 503s (a poll may be woken while Redis is still away). */
async function pollUntilAnswered(api: Api, path: string, ms = 15_000): Promise<Reply> {
  const deadline = Date.now() + ms;
  for (;;) {
    const reply = await api.get(path);
    if (reply.status !== 503 && reply.status !== 204) return reply;
    if (Date.now() > deadline) throw new Error(`no answer on ${path}`);
    if (reply.status === 503) await sleep(100);
  }
}

describe("Redis restart with AOF", () => {
  it("loses nothing acknowledged, answers 503 while down, and recovers by itself", async () => {
    // Acknowledged state of every kind, written through both instances.
    const pendingPairing = token();
    expect((await apiA.post("/v1/pairings", { token: pendingPairing, ttl: 300 })).status).toBe(201);
    const { sessionId: sid } = await apiB.pair();
    const pendingId = uuid();
    const pendingSealed = sealedSession();
    expect(
      (await apiA.post(`/v1/sessions/${sid}/requests`, { id: pendingId, sealed: pendingSealed, ttl: 300 }))
        .status,
    ).toBe(201);
    const answeredId = uuid();
    await apiA.post(`/v1/sessions/${sid}/requests`, { id: answeredId, sealed: sealedSession(), ttl: 300 });
    const response = sealedSession();
    expect(
      (await apiB.put(`/v1/sessions/${sid}/requests/${answeredId}/response`, { sealed: response })).status,
    ).toBe(201);
    const event = { id: uuid(), sealed: sealedSession() };
    expect((await apiB.post(`/v1/sessions/${sid}/events`, event)).status).toBe(201);

    // The extension waits on A for the pending request's response across the whole outage.
    const waiting = pollUntilAnswered(apiA, `/v1/sessions/${sid}/requests/${pendingId}/response?wait=20`);
    await sleep(150);

    await redis.kill("SIGKILL");
    const t = token();
    const outage = [
      await apiA.post("/v1/pairings", { token: t, ttl: 60 }),
      await apiB.get(`/v1/pairings/${pendingPairing}?wait=0`),
      await apiA.post(`/v1/sessions/${sid}/requests`, { id: uuid(), sealed: sealedSession() }),
      await apiB.get(`/v1/sessions/${sid}/requests/${pendingId}`),
      await apiA.get(`/v1/sessions/${sid}/requests?wait=5`),
      await apiB.get(`/v1/sessions/${sid}/requests/${answeredId}/response?wait=5`),
      await apiA.put(`/v1/pairings/${pendingPairing}`, {
        deviceId: uuid(),
        sessionId: sessionId(),
        sealed: sealedPair(),
      }),
      await apiA.get("/healthz"),
      await apiB.get("/healthz"),
    ];
    for (const reply of outage) {
      expect(errorOf(reply)).toMatchObject({ status: 503, code: "store_unavailable" });
      expect(reply.headers.get("retry-after")).toBeTruthy();
      // Fails fast, even the long-polls: no command waits for Redis to come back.
      expect(reply.ms).toBeLessThan(2000);
    }

    await redis.restart();
    await Promise.all([healthy(apiA), healthy(apiB)]);

    // Everything acknowledged came back with Redis.
    expect((await apiB.get(`/v1/pairings/${pendingPairing}?wait=0`)).status).toBe(204);
    const status = await apiB.get(`/v1/sessions/${sid}/requests/${pendingId}/response?wait=0`);
    expect(status.status).toBe(204);
    expect(status.headers.get(REQUEST_STATUS_HEADER)).toBe("queued");
    expect((await apiA.get(`/v1/sessions/${sid}/requests/${answeredId}/response?wait=0`)).body).toEqual({
      sealed: response,
    });
    expect((await apiA.get(`/v1/sessions/${sid}/events?after=0&wait=0`)).body).toEqual({
      events: [{ seq: 1, ...event }],
      next: 1,
    });
    const pulled = await apiB.get(`/v1/sessions/${sid}/requests?wait=0`);
    expect(pulled.body.requests).toEqual([
      { id: pendingId, sealed: pendingSealed, expiresAt: expect.any(Number) },
    ]);

    // Pub/sub is back too: the poll waiting on A answers when the wallet responds on B.
    const late = sealedSession();
    const respondedAt = performance.now();
    expect(
      (await apiB.put(`/v1/sessions/${sid}/requests/${pendingId}/response`, { sealed: late })).status,
    ).toBe(201);
    const answered = await waiting;
    expect(answered.status).toBe(200);
    expect(answered.body).toEqual({ sealed: late });
    expect(performance.now() - respondedAt).toBeLessThan(1000);
  });
});
