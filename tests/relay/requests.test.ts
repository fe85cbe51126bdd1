import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REQUEST_STATUS_HEADER } from "../../protocol/constants.ts";
import { errorOf, fakeClock, sealedSession, sleep, startTestRelay, type TestRelay, uuid } from "./helpers.ts";

describe("requests and responses", () => {
  let relay: TestRelay;
  const clock = fakeClock();
  beforeAll(async () => {
    relay = await startTestRelay({ maxPendingPerSession: 3 }, { now: clock.now });
  });
  afterAll(() => relay.close());

  const base = (sid: string) => `/v1/sessions/${sid}/requests`;

  it("full round trip with delivery receipts: queued → fetched → answered → acknowledged", async () => {
    const { api } = relay;
    const { sessionId: sid } = await api.pair();
    const id = uuid();
    const sealed = sealedSession();

    const posted = await api.post(base(sid), { id, sealed, ttl: 60 });
    expect(posted.status).toBe(201);
    const expiresAt = Math.ceil(clock.now() / 1000) + 60;
    expect(posted.body).toEqual({ expiresAt });

    const queued = await api.get(`${base(sid)}/${id}/response?wait=0`);
    expect(queued.status).toBe(204);
    expect(queued.text).toBe("");
    expect(queued.headers.get(REQUEST_STATUS_HEADER)).toBe("queued");

    const fetched = await api.get(`${base(sid)}/${id}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual({ id, sealed, expiresAt });
    expect((await api.get(`${base(sid)}/${id}/response?wait=0`)).headers.get(REQUEST_STATUS_HEADER)).toBe(
      "fetched",
    );

    const response = sealedSession();
    const put = await api.put(`${base(sid)}/${id}/response`, { sealed: response });
    expect(put.status).toBe(201);
    expect(put.body).toEqual({});

    const got = await api.get(`${base(sid)}/${id}/response?wait=0`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ sealed: response });

    expect((await api.del(`${base(sid)}/${id}`)).status).toBe(204);
    expect(errorOf(await api.get(`${base(sid)}/${id}/response?wait=0`))).toMatchObject({
      status: 404,
      code: "request_not_found",
    });
    expect(errorOf(await api.get(`${base(sid)}/${id}`))).toMatchObject({
      status: 404,
      code: "request_not_found",
    });
  });

  it("POST is idempotent on {id, sealed}; a different body under the same id is 409", async () => {
    const { api } = relay;
    const { sessionId: sid } = await api.pair();
    const id = uuid();
    const sealed = sealedSession();
    const first = await api.post(base(sid), { id, sealed });
    expect(first.status).toBe(201);
    expect(first.body.expiresAt).toBe(Math.ceil(clock.now() / 1000) + 300);
    const again = await api.post(base(sid), { id, sealed });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(errorOf(await api.post(base(sid), { id, sealed: sealedSession() }))).toMatchObject({
      status: 409,
      code: "request_conflict",
    });
  });

  it("the response long-poll wakes the moment the response lands", async () => {
    const { api } = relay;
    const { sessionId: sid } = await api.pair();
    const id = uuid();
    await api.post(base(sid), { id, sealed: sealedSession() });
    const poll = api.get(`${base(sid)}/${id}/response?wait=10`);
    await sleep(150);
    const response = sealedSession();
    const started = performance.now();
    await api.put(`${base(sid)}/${id}/response`, { sealed: response });
    const got = await poll;
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ sealed: response });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("the response long-poll answers 204 + Request-Status when the wait runs out", async () => {
    const { api } = relay;
    const { sessionId: sid } = await api.pair();
    const id = uuid();
    await api.post(base(sid), { id, sealed: sealedSession() });
    await api.get(`${base(sid)}/${id}`);
    const got = await api.get(`${base(sid)}/${id}/response?wait=1`);
    expect(got.status).toBe(204);
    expect(got.headers.get(REQUEST_STATUS_HEADER)).toBe("fetched");
    expect(got.ms).toBeGreaterThanOrEqual(900);
  });

  it("the wallet's pull long-poll wakes when a request arrives, and lists pending ones oldest first", async () => {
    const { api } = relay;
    const { sessionId: sid } = await api.pair();
    const empty = await api.get(`${base(sid)}?wait=0`);
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({ requests: [] });

    const poll = api.get(`${base(sid)}?wait=10`);
    await sleep(150);
    const first = { id: uuid(), sealed: sealedSession() };
    const started = performance.now();
    await api.post(base(sid), first);
    const got = await poll;
    expect(performance.now() - started).toBeLessThan(1000);
    expect(got.status).toBe(200);
    expect(got.body.requests).toEqual([{ ...first, expiresAt: expect.any(Number) }]);
    expect(
      (await api.get(`${base(sid)}/${first.id}/response?wait=0`)).headers.get(REQUEST_STATUS_HEADER),
    ).toBe("fetched");

    const second = { id: uuid(), sealed: sealedSession() };
    await api.post(base(sid), second);
    const both = await api.get(`${base(sid)}?wait=0`);
    expect(both.body.requests.map((r: { id: string }) => r.id)).toEqual([first.id, second.id]);
    await api.put(`${base(sid)}/${first.id}/response`, { sealed: sealedSession() });
    const rest = await api.get(`${base(sid)}?wait=0`);
    expect(rest.body.requests.map((r: { id: string }) => r.id)).toEqual([second.id]);
  });

  it("the pull long-poll holds while every pending request was already handed out", async () => {
    const { api } = relay;
    const { sessionId: sid } = await api.pair();
    const first = { id: uuid(), sealed: sealedSession() };
    await api.post(base(sid), first);
    expect((await api.get(`${base(sid)}?wait=10`)).body.requests).toHaveLength(1); // new: at once

    // The wallet is still deciding on `first`: a waiting pull must not return it again at once.
    const held = api.get(`${base(sid)}?wait=1`);
    const timedOut = await held;
    expect(timedOut.ms).toBeGreaterThanOrEqual(900);
    expect(timedOut.body.requests.map((r: { id: string }) => r.id)).toEqual([first.id]);

    // A new request wakes it, and the answer still lists every pending one.
    const poll = api.get(`${base(sid)}?wait=10`);
    await sleep(150);
    const second = { id: uuid(), sealed: sealedSession() };
    await api.post(base(sid), second);
    const woke = await poll;
    expect(woke.ms).toBeLessThan(2000);
    expect(woke.body.requests.map((r: { id: string }) => r.id)).toEqual([first.id, second.id]);
    // wait=0 answers at once with everything (a wallet starting up).
    const now = await api.get(`${base(sid)}?wait=0`);
    expect(now.body.requests).toHaveLength(2);
  });

  it("the pull long-poll answers {requests: []} when the wait runs out", async () => {
    const { sessionId: sid } = await relay.api.pair();
    const got = await relay.api.get(`${base(sid)}?wait=1`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ requests: [] });
    expect(got.ms).toBeGreaterThanOrEqual(900);
  });

  it("first response wins; the identical response again is 200", async () => {
    const { api } = relay;
    const { sessionId: sid } = await api.pair();
    const id = uuid();
    await api.post(base(sid), { id, sealed: sealedSession() });
    const response = sealedSession();
    expect((await api.put(`${base(sid)}/${id}/response`, { sealed: response })).status).toBe(201);
    expect(errorOf(await api.put(`${base(sid)}/${id}/response`, { sealed: sealedSession() }))).toMatchObject({
      status: 409,
      code: "request_answered",
    });
    expect((await api.put(`${base(sid)}/${id}/response`, { sealed: response })).status).toBe(200);
    expect((await api.get(`${base(sid)}/${id}/response`)).body).toEqual({ sealed: response });
  });

  it("cancel: DELETE before a response → the wallet sees 410 request_cancelled, waiters wake", async () => {
    const { api } = relay;
    const { sessionId: sid } = await api.pair();
    const id = uuid();
    await api.post(base(sid), { id, sealed: sealedSession() });
    const poll = api.get(`${base(sid)}/${id}/response?wait=10`);
    await sleep(150);
    expect((await api.del(`${base(sid)}/${id}`)).status).toBe(204);
    const woke = await poll;
    expect(woke.ms).toBeLessThan(2000);
    expect(errorOf(woke)).toMatchObject({ status: 410, code: "request_cancelled" });
    expect(errorOf(await api.get(`${base(sid)}/${id}`))).toMatchObject({
      status: 410,
      code: "request_cancelled",
    });
    expect(errorOf(await api.put(`${base(sid)}/${id}/response`, { sealed: sealedSession() }))).toMatchObject({
      status: 410,
      code: "request_cancelled",
    });
    expect((await api.get(`${base(sid)}?wait=0`)).body).toEqual({ requests: [] });
    // Cancelling twice is fine.
    expect((await api.del(`${base(sid)}/${id}`)).status).toBe(204);
  });

  it("expiry: 410 request_expired on every request route", async () => {
    const { api } = relay;
    const { sessionId: sid } = await api.pair();
    const id = uuid();
    const sealed = sealedSession();
    await api.post(base(sid), { id, sealed, ttl: 5 });
    clock.advance(6);
    for (const reply of [
      await api.get(`${base(sid)}/${id}`),
      await api.put(`${base(sid)}/${id}/response`, { sealed: sealedSession() }),
      await api.get(`${base(sid)}/${id}/response?wait=0`),
      await api.del(`${base(sid)}/${id}`),
      await api.post(base(sid), { id, sealed }),
    ]) {
      expect(errorOf(reply)).toMatchObject({ status: 410, code: "request_expired" });
    }
    expect((await api.get(`${base(sid)}?wait=0`)).body).toEqual({ requests: [] });
  });

  it("bounds pending requests per session: 429 too_many_pending", async () => {
    const { api } = relay;
    const { sessionId: sid } = await api.pair();
    const ids = [uuid(), uuid(), uuid()];
    for (const id of ids)
      expect((await api.post(base(sid), { id, sealed: sealedSession() })).status).toBe(201);
    expect(errorOf(await api.post(base(sid), { id: uuid(), sealed: sealedSession() }))).toMatchObject({
      status: 429,
      code: "too_many_pending",
    });
    await api.put(`${base(sid)}/${ids[0]}/response`, { sealed: sealedSession() });
    expect((await api.post(base(sid), { id: uuid(), sealed: sealedSession() })).status).toBe(201);
  });

  it("unknown sessions and request ids are 404", async () => {
    const { api } = relay;
    const { sessionId: sid } = await api.pair();
    const other = (await api.pair()).sessionId;
    const id = uuid();
    await api.post(base(other), { id, sealed: sealedSession() });
    // A request id is only visible within its own session.
    expect(errorOf(await api.get(`${base(sid)}/${id}`))).toMatchObject({
      status: 404,
      code: "request_not_found",
    });
    for (const reply of [
      await api.put(`${base(sid)}/${id}/response`, { sealed: sealedSession() }),
      await api.get(`${base(sid)}/${id}/response?wait=0`),
      await api.del(`${base(sid)}/${id}`),
    ]) {
      expect(errorOf(reply)).toMatchObject({ status: 404, code: "request_not_found" });
    }
  });

  it("ttl above the relay's maximum is 400 naming ttl", async () => {
    const small = await startTestRelay({ maxRequestTtl: 60 });
    try {
      const { sessionId: sid } = await small.api.pair();
      const reply = await small.api.post(base(sid), { id: uuid(), sealed: sealedSession(), ttl: 61 });
      expect(errorOf(reply)).toMatchObject({ status: 400, code: "invalid_field" });
      expect(reply.body.error.message).toMatch(/^ttl/);
      const ok = await small.api.post(base(sid), { id: uuid(), sealed: sealedSession() });
      expect(ok.status).toBe(201);
    } finally {
      await small.close();
    }
  });
});
