import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  errorOf,
  fakeClock,
  sealedPair,
  sessionId,
  sleep,
  startTestRelay,
  type TestRelay,
  token,
  uuid,
} from "./helpers.ts";

describe("pairings", () => {
  let relay: TestRelay;
  const clock = fakeClock();
  beforeAll(async () => {
    relay = await startTestRelay({}, { now: clock.now });
  });
  afterAll(() => relay.close());

  it("register → answer → long-poll gets the answer → acknowledge", async () => {
    const { api } = relay;
    const t = token();
    const created = await api.post("/v1/pairings", { token: t, ttl: 120 });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ expiresAt: Math.ceil(clock.now() / 1000) + 120 });

    const answer = { deviceId: uuid(), sessionId: sessionId(), sealed: sealedPair() };
    const put = await api.put(`/v1/pairings/${t}`, answer);
    expect(put.status).toBe(201);
    expect(put.body).toEqual({});

    const got = await api.get(`/v1/pairings/${t}?wait=0`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(answer);

    const ack = await api.del(`/v1/pairings/${t}`);
    expect(ack.status).toBe(204);
    expect(ack.text).toBe("");
    expect(errorOf(await api.get(`/v1/pairings/${t}?wait=0`))).toMatchObject({
      status: 404,
      code: "pairing_not_found",
    });
    expect(errorOf(await api.del(`/v1/pairings/${t}`))).toMatchObject({
      status: 404,
      code: "pairing_not_found",
    });
    // The token stays reserved after acknowledgement.
    expect(errorOf(await api.post("/v1/pairings", { token: t }))).toMatchObject({
      status: 409,
      code: "pairing_exists",
    });
  });

  it("uses the default ttl (300 s) when none is given", async () => {
    const created = await relay.api.post("/v1/pairings", { token: token() });
    expect(created.status).toBe(201);
    expect(created.body.expiresAt).toBe(Math.ceil(clock.now() / 1000) + 300);
  });

  it("the long-poll returns the moment the answer lands", async () => {
    const { api } = relay;
    const t = token();
    await api.post("/v1/pairings", { token: t });
    const answer = { deviceId: uuid(), sessionId: sessionId(), sealed: sealedPair() };
    const poll = api.get(`/v1/pairings/${t}?wait=10`);
    await sleep(150);
    expect(relay.app.openLongPolls()).toBe(1);
    const started = performance.now();
    await api.put(`/v1/pairings/${t}`, answer);
    const got = await poll;
    expect(got.status).toBe(200);
    expect(got.body).toEqual(answer);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(relay.app.openLongPolls()).toBe(0);
  });

  it("answers 204 with no body when the wait runs out", async () => {
    const t = token();
    await relay.api.post("/v1/pairings", { token: t });
    const got = await relay.api.get(`/v1/pairings/${t}?wait=1`);
    expect(got.status).toBe(204);
    expect(got.text).toBe("");
    expect(got.ms).toBeGreaterThanOrEqual(900);
    expect(got.ms).toBeLessThan(3000);
  });

  it("refuses a second registration, a second (different) answer, and a reused session id", async () => {
    const { api } = relay;
    const t = token();
    await api.post("/v1/pairings", { token: t });
    expect(errorOf(await api.post("/v1/pairings", { token: t }))).toMatchObject({
      status: 409,
      code: "pairing_exists",
    });
    const answer = { deviceId: uuid(), sessionId: sessionId(), sealed: sealedPair() };
    expect((await api.put(`/v1/pairings/${t}`, answer)).status).toBe(201);
    // The same answer again (a retry after a lost reply) is accepted without change.
    const again = await api.put(`/v1/pairings/${t}`, answer);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({});
    expect(errorOf(await api.put(`/v1/pairings/${t}`, { ...answer, sealed: sealedPair() }))).toMatchObject({
      status: 409,
      code: "pairing_answered",
    });

    const t2 = token();
    await api.post("/v1/pairings", { token: t2 });
    expect(errorOf(await api.put(`/v1/pairings/${t2}`, { ...answer, deviceId: uuid() }))).toMatchObject({
      status: 409,
      code: "session_exists",
    });
  });

  it("unknown tokens are 404 on every pairing route", async () => {
    const t = token();
    const answer = { deviceId: uuid(), sessionId: sessionId(), sealed: sealedPair() };
    for (const reply of [
      await relay.api.put(`/v1/pairings/${t}`, answer),
      await relay.api.get(`/v1/pairings/${t}?wait=0`),
      await relay.api.del(`/v1/pairings/${t}`),
    ]) {
      expect(errorOf(reply)).toMatchObject({ status: 404, code: "pairing_not_found" });
    }
  });

  it("expires: 410 on every route, token still reserved, then forgotten after the grace", async () => {
    const { api } = relay;
    const t = token();
    await api.post("/v1/pairings", { token: t, ttl: 5 });
    clock.advance(6); // expiresAt is rounded up to a whole second
    const answer = { deviceId: uuid(), sessionId: sessionId(), sealed: sealedPair() };
    for (const reply of [
      await api.get(`/v1/pairings/${t}?wait=0`),
      await api.put(`/v1/pairings/${t}`, answer),
      await api.del(`/v1/pairings/${t}`),
    ]) {
      expect(errorOf(reply)).toMatchObject({ status: 410, code: "pairing_expired" });
    }
    expect(errorOf(await api.post("/v1/pairings", { token: t }))).toMatchObject({ code: "pairing_exists" });
    clock.advance(relay.config.tombstoneGrace);
    expect(errorOf(await api.get(`/v1/pairings/${t}?wait=0`))).toMatchObject({
      status: 404,
      code: "pairing_not_found",
    });
  });

  it("an open long-poll answers 410 when the wait ends after the pairing expired", async () => {
    const t = token();
    await relay.api.post("/v1/pairings", { token: t, ttl: 10 });
    const poll = relay.api.get(`/v1/pairings/${t}?wait=1`);
    await sleep(100);
    clock.advance(11);
    expect(errorOf(await poll)).toMatchObject({ status: 410, code: "pairing_expired" });
  });

  it("acknowledging an unanswered pairing cancels it (the wallet then gets 404)", async () => {
    const t = token();
    await relay.api.post("/v1/pairings", { token: t });
    expect((await relay.api.del(`/v1/pairings/${t}`)).status).toBe(204);
    const answer = { deviceId: uuid(), sessionId: sessionId(), sealed: sealedPair() };
    expect(errorOf(await relay.api.put(`/v1/pairings/${t}`, answer))).toMatchObject({
      status: 404,
      code: "pairing_not_found",
    });
  });

  it("a client that goes away mid-poll frees its watcher", async () => {
    const t = token();
    await relay.api.post("/v1/pairings", { token: t });
    const controller = new AbortController();
    const poll = fetch(`${relay.url}/v1/pairings/${t}?wait=20`, { signal: controller.signal }).catch(
      () => "aborted",
    );
    await sleep(100);
    expect(relay.app.openLongPolls()).toBe(1);
    controller.abort();
    expect(await poll).toBe("aborted");
    await sleep(100);
    expect(relay.app.openLongPolls()).toBe(0);
  });
});
