import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorOf, sealedSession, sessionId, sleep, startTestRelay, type TestRelay, uuid } from "./helpers.ts";

describe("session events", () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay({ eventMax: 3 });
  });
  afterAll(() => relay.close());

  const events = (sid: string) => `/v1/sessions/${sid}/events`;

  it("numbers events per session from 1 and pages with ?after", async () => {
    const { api } = relay;
    const { sessionId: sid } = await api.pair();
    const a = { id: uuid(), sealed: sealedSession() };
    const b = { id: uuid(), sealed: sealedSession() };
    const first = await api.post(events(sid), a);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ seq: 1 });
    expect((await api.post(events(sid), b)).body).toEqual({ seq: 2 });

    const all = await api.get(`${events(sid)}?after=0&wait=0`);
    expect(all.status).toBe(200);
    expect(all.body).toEqual({
      events: [
        { seq: 1, ...a },
        { seq: 2, ...b },
      ],
      next: 2,
    });
    expect((await api.get(`${events(sid)}?after=1&wait=0`)).body).toEqual({
      events: [{ seq: 2, ...b }],
      next: 2,
    });
    expect((await api.get(`${events(sid)}?after=2&wait=0`)).body).toEqual({ events: [], next: 2 });
    // `after` defaults to 0.
    expect((await api.get(`${events(sid)}?wait=0`)).body.next).toBe(2);
  });

  it("is idempotent on {id, sealed}; the same id with another body is 409 event_conflict", async () => {
    const { api } = relay;
    const { sessionId: sid } = await api.pair();
    const a = { id: uuid(), sealed: sealedSession() };
    expect((await api.post(events(sid), a)).status).toBe(201);
    const again = await api.post(events(sid), a);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ seq: 1 });
    expect(errorOf(await api.post(events(sid), { id: a.id, sealed: sealedSession() }))).toMatchObject({
      status: 409,
      code: "event_conflict",
    });
  });

  it("the events long-poll wakes the moment an event lands, and 200 {events: []} on timeout", async () => {
    const { api } = relay;
    const { sessionId: sid } = await api.pair();
    const poll = api.get(`${events(sid)}?after=0&wait=10`);
    await sleep(150);
    const started = performance.now();
    const e = { id: uuid(), sealed: sealedSession() };
    await api.post(events(sid), e);
    const got = await poll;
    expect(performance.now() - started).toBeLessThan(1000);
    expect(got.body).toEqual({ events: [{ seq: 1, ...e }], next: 1 });

    const idle = await api.get(`${events(sid)}?after=1&wait=1`);
    expect(idle.status).toBe(200);
    expect(idle.body).toEqual({ events: [], next: 1 });
    expect(idle.ms).toBeGreaterThanOrEqual(900);
  });

  it("retains only the newest events (bounded count)", async () => {
    const { api } = relay;
    const { sessionId: sid } = await api.pair();
    for (let i = 0; i < 5; i++) await api.post(events(sid), { id: uuid(), sealed: sealedSession() });
    const got = await api.get(`${events(sid)}?after=0&wait=0`);
    expect(got.body.events.map((e: { seq: number }) => e.seq)).toEqual([3, 4, 5]);
    expect(got.body.next).toBe(5);
  });

  it("unknown sessions are 404 session_not_found", async () => {
    const sid = sessionId();
    expect(errorOf(await relay.api.post(events(sid), { id: uuid(), sealed: sealedSession() }))).toMatchObject(
      {
        status: 404,
        code: "session_not_found",
      },
    );
    expect(errorOf(await relay.api.get(`${events(sid)}?wait=0`))).toMatchObject({
      status: 404,
      code: "session_not_found",
    });
  });
});
