/**
 * Two relay PROCESSES on one Redis, as behind a load balancer: whatever one instance stores the other
 * serves, and a long-poll waiting on one instance answers the moment the write lands on the other
 * (pub/sub wake-up), not when its wait runs out.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REQUEST_STATUS_HEADER } from "../../protocol/constants.ts";
import {
  type Api,
  createApi,
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

/** The wait each long-poll asks for; every wake-up below must come far sooner. */
const WAIT = 10;
/** Pub/sub across two processes on loopback: generous bound, still 20× under the wait. */
const WAKE_MS = 500;

let redis: RedisServer;
let a: RelayProcess;
let b: RelayProcess;
let apiA: Api;
let apiB: Api;

beforeAll(async () => {
  redis = await startRedis();
  const args = ["--store", redis.url, "--rate-limit", "0"];
  [a, b] = await Promise.all([startRelayProcess({ args }), startRelayProcess({ args })]);
  apiA = createApi(a.url);
  apiB = createApi(b.url);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.stop();
});

/** Starts a long-poll; resolves with its reply and the time it came back. */
function poll(api: Api, path: string) {
  return api.get(path).then((reply) => ({ reply, at: performance.now() }));
}
/** Lets the poll reach the relay and register before the write happens. */
const settle = () => sleep(150);

async function answeredWithin(pending: Promise<{ reply: Reply; at: number }>, writtenAt: number) {
  const { reply, at } = await pending;
  expect(at - writtenAt).toBeLessThan(WAKE_MS);
  return reply;
}

describe("two relay processes on one Redis", () => {
  it("both report the redis store", async () => {
    for (const api of [apiA, apiB]) {
      expect((await api.get("/healthz")).body).toMatchObject({ ok: true, store: "redis" });
    }
  });

  it("pairing created on A, answered on B: the long-poll waiting on A answers at once", async () => {
    const t = token();
    expect((await apiA.post("/v1/pairings", { token: t, ttl: 60 })).status).toBe(201);
    const waiting = poll(apiA, `/v1/pairings/${t}?wait=${WAIT}`);
    await settle();
    const answer = { deviceId: uuid(), sessionId: sessionId(), sealed: sealedPair() };
    expect((await apiB.put(`/v1/pairings/${t}`, answer)).status).toBe(201);
    const reply = await answeredWithin(waiting, performance.now());
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual(answer);
    // Acknowledged on B, forgotten on A.
    expect((await apiB.del(`/v1/pairings/${t}`)).status).toBe(204);
    expect((await apiA.get(`/v1/pairings/${t}?wait=0`)).status).toBe(404);
  });

  it("request posted on A is pulled and answered on B; the response long-poll on A wakes", async () => {
    const { sessionId: sid } = await apiA.pair();
    // The wallet's pull long-poll waits on B before the request exists.
    const pulling = poll(apiB, `/v1/sessions/${sid}/requests?wait=${WAIT}`);
    await settle();
    const id = uuid();
    const sealed = sealedSession();
    expect((await apiA.post(`/v1/sessions/${sid}/requests`, { id, sealed, ttl: 60 })).status).toBe(201);
    const pulled = await answeredWithin(pulling, performance.now());
    expect(pulled.body.requests).toEqual([{ id, sealed, expiresAt: expect.any(Number) }]);

    // The extension's response long-poll on A, answered by the wallet on B.
    const responding = poll(apiA, `/v1/sessions/${sid}/requests/${id}/response?wait=${WAIT}`);
    await settle();
    const response = sealedSession();
    expect((await apiB.put(`/v1/sessions/${sid}/requests/${id}/response`, { sealed: response })).status).toBe(
      201,
    );
    const reply = await answeredWithin(responding, performance.now());
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ sealed: response });
    expect((await apiB.del(`/v1/sessions/${sid}/requests/${id}`)).status).toBe(204);
    expect((await apiA.get(`/v1/sessions/${sid}/requests/${id}/response?wait=0`)).status).toBe(404);
  });

  it("a cancel on B wakes the response poll on A, and delivery status is shared", async () => {
    const { sessionId: sid } = await apiB.pair();
    const id = uuid();
    await apiB.post(`/v1/sessions/${sid}/requests`, { id, sealed: sealedSession(), ttl: 60 });
    expect((await apiA.get(`/v1/sessions/${sid}/requests/${id}`)).status).toBe(200);
    const status = await apiB.get(`/v1/sessions/${sid}/requests/${id}/response?wait=0`);
    expect(status.headers.get(REQUEST_STATUS_HEADER)).toBe("fetched");
    const responding = poll(apiA, `/v1/sessions/${sid}/requests/${id}/response?wait=${WAIT}`);
    await settle();
    expect((await apiB.del(`/v1/sessions/${sid}/requests/${id}`)).status).toBe(204);
    const reply = await answeredWithin(responding, performance.now());
    expect(reply.status).toBe(410);
  });

  it("events posted on B reach the event long-poll on A; deleting the session on A ends B's poll", async () => {
    const { sessionId: sid } = await apiA.pair();
    const listening = poll(apiA, `/v1/sessions/${sid}/events?after=0&wait=${WAIT}`);
    await settle();
    const event = { id: uuid(), sealed: sealedSession() };
    expect((await apiB.post(`/v1/sessions/${sid}/events`, event)).status).toBe(201);
    const reply = await answeredWithin(listening, performance.now());
    expect(reply.body).toEqual({ events: [{ seq: 1, ...event }], next: 1 });

    const pulling = poll(apiB, `/v1/sessions/${sid}/requests?wait=${WAIT}`);
    await settle();
    expect((await apiA.del(`/v1/sessions/${sid}`)).status).toBe(204);
    expect((await answeredWithin(pulling, performance.now())).status).toBe(404);
  });
});
