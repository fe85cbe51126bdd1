import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  errorOf,
  fakeClock,
  sealedSession,
  sessionId,
  sleep,
  startTestRelay,
  type TestRelay,
  uuid,
} from "./helpers.ts";

describe("sessions", () => {
  let relay: TestRelay;
  const clock = fakeClock();
  beforeAll(async () => {
    relay = await startTestRelay({ sessionIdleTtl: 3600 }, { now: clock.now });
  });
  afterAll(() => relay.close());

  it("DELETE wakes every open long-poll on the session with 404, and later calls get 404", async () => {
    const { api } = relay;
    const { sessionId: sid } = await api.pair();
    const id = uuid();
    await api.post(`/v1/sessions/${sid}/requests`, { id, sealed: sealedSession() });
    await api.put(`/v1/sessions/${sid}/requests/${id}/response`, { sealed: sealedSession() });
    // Nothing pending and no events: both of the session's long-polls wait (the response long-poll,
    // which needs an unanswered request, is the next test).
    const waiting = [
      api.get(`/v1/sessions/${sid}/requests?wait=20`),
      api.get(`/v1/sessions/${sid}/events?after=0&wait=20`),
      api.get(`/v1/sessions/${sid}/events?after=0&wait=20`),
    ];
    await sleep(200);
    expect(relay.app.openLongPolls()).toBe(3);

    const started = performance.now();
    const deleted = await api.del(`/v1/sessions/${sid}`);
    expect(deleted.status).toBe(204);
    for (const reply of await Promise.all(waiting)) {
      expect(errorOf(reply)).toMatchObject({ status: 404, code: "session_not_found" });
    }
    expect(performance.now() - started).toBeLessThan(1500);

    for (const reply of [
      await api.del(`/v1/sessions/${sid}`),
      await api.post(`/v1/sessions/${sid}/requests`, { id: uuid(), sealed: sealedSession() }),
      await api.get(`/v1/sessions/${sid}/requests/${id}`),
      await api.get(`/v1/sessions/${sid}/requests/${id}/response?wait=0`),
      await api.put(`/v1/sessions/${sid}/requests/${id}/response`, { sealed: sealedSession() }),
      await api.del(`/v1/sessions/${sid}/requests/${id}`),
      await api.get(`/v1/sessions/${sid}/requests?wait=0`),
      await api.post(`/v1/sessions/${sid}/events`, { id: uuid(), sealed: sealedSession() }),
      await api.get(`/v1/sessions/${sid}/events?wait=0`),
    ]) {
      expect(errorOf(reply)).toMatchObject({ status: 404, code: "session_not_found" });
    }
  });

  it("a response long-poll wakes with 404 when its session is deleted", async () => {
    const { api } = relay;
    const { sessionId: sid } = await api.pair();
    const id = uuid();
    await api.post(`/v1/sessions/${sid}/requests`, { id, sealed: sealedSession() });
    const poll = api.get(`/v1/sessions/${sid}/requests/${id}/response?wait=20`);
    await sleep(150);
    await api.del(`/v1/sessions/${sid}`);
    const reply = await poll;
    expect(errorOf(reply)).toMatchObject({ status: 404, code: "session_not_found" });
    expect(reply.ms).toBeLessThan(2000);
  });

  it("expires after the idle time, sliding on activity", async () => {
    const { api } = relay;
    const { sessionId: sid } = await api.pair();
    clock.advance(3000);
    expect((await api.get(`/v1/sessions/${sid}/events?wait=0`)).status).toBe(200);
    clock.advance(3000);
    expect((await api.get(`/v1/sessions/${sid}/requests?wait=0`)).status).toBe(200);
    clock.advance(3601);
    expect(errorOf(await api.get(`/v1/sessions/${sid}/requests?wait=0`))).toMatchObject({
      status: 404,
      code: "session_not_found",
    });
  });

  it("DELETE of an unknown session is 404", async () => {
    expect(errorOf(await relay.api.del(`/v1/sessions/${sessionId()}`))).toMatchObject({
      status: 404,
      code: "session_not_found",
    });
  });
});
