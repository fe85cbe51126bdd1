/**
 * Operator tools on an in-process relay: the admin endpoint (operator token, constant-time compare,
 * 404 when no token is configured), lockdown (pairings_locked, device_blocked on every session path),
 * GET /metrics (open, token, off; each metric moving as the relay works), and the daily report.
 */
import { afterEach, describe, expect, it } from "vitest";
import { toBase64Url } from "../../protocol/base64url.ts";
import { createWalletClient, responseOutcome } from "../../protocol/walletClient.ts";
import { dayOf } from "../../relay/telemetry.ts";
import {
  errorOf,
  sealedPair,
  sealedSession,
  sessionId,
  sleep,
  startTestRelay,
  type TestRelay,
  token,
  uuid,
} from "./helpers.ts";

const ADMIN = "operator-token-0123456789abcdef";
const bearer = (t = ADMIN) => ({ authorization: `Bearer ${t}` });
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
async function relayWith(overrides = {}): Promise<TestRelay> {
  const relay = await startTestRelay({ adminToken: ADMIN, ...overrides });
  cleanup.push(() => relay.close());
  return relay;
}
const admin = (relay: TestRelay, method: string, path: string, body?: unknown) =>
  relay.api.call(method, path, body, { headers: bearer() });
function metric(text: string, sample: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}
async function eventually(check: () => Promise<boolean>, ms = 6000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await sleep(50);
  }
}

describe("admin endpoint", () => {
  it("does not exist without an operator token (404), and needs the exact token when configured (401)", async () => {
    const off = await startTestRelay();
    cleanup.push(() => off.close());
    expect(errorOf(await off.api.get("/admin/lockdown", bearer()))).toMatchObject({
      status: 404,
      code: "route_not_found",
    });

    const relay = await relayWith();
    for (const headers of [
      {},
      bearer("wrong"),
      bearer(`${ADMIN.slice(0, -1)}x`), // same length, last character differs
      bearer(`${ADMIN}x`),
      { authorization: `Basic ${Buffer.from(`admin:${ADMIN}`).toString("base64")}` },
    ]) {
      const reply = await relay.api.get("/admin/lockdown", headers);
      expect(errorOf(reply), JSON.stringify(headers)).toMatchObject({ status: 401, code: "unauthorized" });
      expect(reply.headers.get("www-authenticate")).toMatch(/^Bearer /);
    }
    const ok = await relay.api.get("/admin/lockdown", bearer());
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ pairingsLocked: false, blockedDevices: [] });
    expect(errorOf(await admin(relay, "PUT", "/admin/lockdown", { pairingsLocked: "yes" }))).toMatchObject({
      status: 400,
      code: "invalid_field",
    });
    expect(errorOf(await admin(relay, "PUT", "/admin/blocked-devices/not-a-uuid"))).toMatchObject({
      status: 400,
    });
  });

  it("a too-short operator token is a configuration error", async () => {
    await expect(startTestRelay({ adminToken: "short" })).rejects.toThrow(/admin-token/);
  });
});

describe("lockdown", () => {
  it("pairings_locked: new pairings and answers refused relay-wide, existing sessions go on; off again", async () => {
    const relay = await relayWith();
    const { sessionId: sid } = await relay.api.pair();
    const waiting = token();
    expect((await relay.api.post("/v1/pairings", { token: waiting })).status).toBe(201);

    expect((await admin(relay, "PUT", "/admin/lockdown", { pairingsLocked: true })).body).toEqual({
      pairingsLocked: true,
      blockedDevices: [],
    });
    expect(errorOf(await relay.api.post("/v1/pairings", { token: token() }))).toMatchObject({
      status: 403,
      code: "pairings_locked",
    });
    const answer = { deviceId: uuid(), sessionId: sessionId(), sealed: sealedPair() };
    expect(errorOf(await relay.api.put(`/v1/pairings/${waiting}`, answer))).toMatchObject({
      status: 403,
      code: "pairings_locked",
    });
    expect(
      (await relay.api.post(`/v1/sessions/${sid}/requests`, { id: uuid(), sealed: sealedSession() })).status,
    ).toBe(201);

    await admin(relay, "PUT", "/admin/lockdown", { pairingsLocked: false });
    expect((await relay.api.post("/v1/pairings", { token: token() })).status).toBe(201);
    expect((await relay.api.put(`/v1/pairings/${waiting}`, answer)).status).toBe(201);
    const metrics = (await relay.api.get("/metrics")).text;
    expect(metric(metrics, 'balance_bridge_lockdown_refusals_total{code="pairings_locked"}')).toBe(2);
  });

  it("device_blocked: the device's sessions are refused on every path (long-polls too), its new pairings too; unblock restores", async () => {
    const relay = await relayWith();
    const blocked = await relay.api.pair();
    const other = await relay.api.pair();
    const id = uuid();
    await relay.api.post(`/v1/sessions/${blocked.sessionId}/requests`, { id, sealed: sealedSession() });

    const state = await admin(relay, "PUT", `/admin/blocked-devices/${blocked.deviceId}`);
    expect(state.body).toEqual({ pairingsLocked: false, blockedDevices: [blocked.deviceId] });
    const s = `/v1/sessions/${blocked.sessionId}`;
    const refused = [
      await relay.api.post(`${s}/requests`, { id: uuid(), sealed: sealedSession() }),
      await relay.api.get(`${s}/requests?wait=0`), // long-poll (fast path)
      await relay.api.get(`${s}/requests/${id}`),
      await relay.api.put(`${s}/requests/${id}/response`, { sealed: sealedSession() }),
      await relay.api.get(`${s}/requests/${id}/response?wait=0`),
      await relay.api.post(`${s}/events`, { id: uuid(), sealed: sealedSession() }),
      await relay.api.get(`${s}/events?wait=0`),
    ];
    for (const reply of refused)
      expect(errorOf(reply)).toMatchObject({ status: 403, code: "device_blocked" });
    // The same device cannot pair again; other devices are untouched.
    const t = token();
    await relay.api.post("/v1/pairings", { token: t });
    expect(
      errorOf(
        await relay.api.put(`/v1/pairings/${t}`, {
          deviceId: blocked.deviceId,
          sessionId: sessionId(),
          sealed: sealedPair(),
        }),
      ),
    ).toMatchObject({ status: 403, code: "device_blocked" });
    expect(
      (
        await relay.api.post(`/v1/sessions/${other.sessionId}/requests`, {
          id: uuid(),
          sealed: sealedSession(),
        })
      ).status,
    ).toBe(201);

    await admin(relay, "DELETE", `/admin/blocked-devices/${blocked.deviceId}`);
    expect((await relay.api.get(`${s}/requests/${id}`)).status).toBe(200);
    await admin(relay, "PUT", `/admin/blocked-devices/${blocked.deviceId}`);
    // Ending the session stays possible: it only takes access away.
    expect((await relay.api.del(s)).status).toBe(204);
  });
});

describe("GET /metrics", () => {
  it("is open by default, token-protected with --metrics token, absent with --metrics off", async () => {
    const open = await startTestRelay();
    cleanup.push(() => open.close());
    const reply = await open.api.get("/metrics");
    expect(reply.status).toBe(200);
    expect(reply.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const name of [
      "balance_bridge_pairings_total",
      "balance_bridge_requests_total",
      "balance_bridge_push_total",
      "balance_bridge_long_polls_open",
      "balance_bridge_store_operation_seconds",
      "balance_bridge_pairing_answer_seconds",
      "balance_bridge_request_answer_seconds",
      "process_resident_memory_bytes",
    ]) {
      expect(reply.text).toContain(`# TYPE ${name} `);
    }
    const guarded = await relayWith({ metrics: "token" });
    expect(errorOf(await guarded.api.get("/metrics"))).toMatchObject({ status: 401, code: "unauthorized" });
    expect((await guarded.api.get("/metrics", bearer())).status).toBe(200);
    const off = await startTestRelay({ metrics: "off" });
    cleanup.push(() => off.close());
    expect((await off.api.get("/metrics")).status).toBe(404);
    await expect(startTestRelay({ metrics: "token" })).rejects.toThrow(/--metrics token needs --admin-token/);
  });

  it("counts pairings, requests, responses, expiries, long-polls and times to answer; the report adds them up", async () => {
    const relay = await relayWith({ statsInterval: 0.2 });
    const m = async () => (await relay.api.get("/metrics")).text;

    // A pairing that is answered and acknowledged, one cancelled, one left to expire.
    const done = await relay.api.pair();
    expect((await relay.api.del(`/v1/pairings/${done.token}`)).status).toBe(204);
    const cancelled = token();
    await relay.api.post("/v1/pairings", { token: cancelled });
    await relay.api.del(`/v1/pairings/${cancelled}`);
    await relay.api.post("/v1/pairings", { token: token(), ttl: 1 });

    // Requests: answered (approved, rejected, unlabelled), cancelled, expired; one open long-poll.
    const sid = done.sessionId;
    const post = async (ttl = 60) => {
      const id = uuid();
      expect(
        (await relay.api.post(`/v1/sessions/${sid}/requests`, { id, sealed: sealedSession(), ttl })).status,
      ).toBe(201);
      return id;
    };
    const [a, b, c, d] = [await post(), await post(), await post(), await post()];
    await post(1);
    expect((await relay.api.get(`/v1/sessions/${sid}/requests?wait=0`)).body.requests).toHaveLength(5);
    expect((await relay.api.get(`/v1/sessions/${sid}/requests/${a}`)).status).toBe(200);
    const answer = (id: string, outcome?: string) =>
      relay.api.put(`/v1/sessions/${sid}/requests/${id}/response`, {
        sealed: sealedSession(),
        ...(outcome ? { outcome } : {}),
      });
    expect(errorOf(await answer(a, "maybe"))).toMatchObject({ status: 400, code: "invalid_field" });
    expect((await answer(a, "approved")).status).toBe(201);
    expect((await answer(b, "rejected")).status).toBe(201);
    expect((await answer(c)).status).toBe(201);
    expect((await relay.api.del(`/v1/sessions/${sid}/requests/${d}`)).status).toBe(204);
    const poll = relay.api.get(`/v1/sessions/${sid}/events?wait=2`);
    await eventually(async () => metric(await m(), "balance_bridge_long_polls_open") === 1);

    const text = await m();
    const pairings = (o: string) => metric(text, `balance_bridge_pairings_total{outcome="${o}"}`);
    const requests = (s: string) => metric(text, `balance_bridge_requests_total{status="${s}"}`);
    expect([
      pairings("created"),
      pairings("answered"),
      pairings("acknowledged"),
      pairings("cancelled"),
    ]).toEqual([3, 1, 1, 1]);
    expect([requests("posted"), requests("fetched"), requests("answered"), requests("cancelled")]).toEqual([
      5, 6, 3, 1,
    ]);
    expect(metric(text, 'balance_bridge_responses_total{outcome="approved"}')).toBe(1);
    expect(metric(text, 'balance_bridge_responses_total{outcome="rejected"}')).toBe(1);
    expect(metric(text, 'balance_bridge_responses_total{outcome="unlabelled"}')).toBe(1);
    expect(metric(text, "balance_bridge_pairing_answer_seconds_count")).toBe(1);
    expect(metric(text, "balance_bridge_request_answer_seconds_count")).toBe(3);
    expect(metric(text, 'balance_bridge_request_answer_seconds_bucket{le="+Inf"}')).toBe(3);
    // The refused label never reached the store: three timed putResponse calls.
    expect(metric(text, 'balance_bridge_store_operation_seconds_count{operation="putResponse"}')).toBe(3);
    expect((await poll).status).toBe(200);

    // The 1-second pairing and request run out unanswered: counted as expired shortly after.
    await eventually(async () => {
      const t = await m();
      return (
        metric(t, 'balance_bridge_pairings_total{outcome="expired"}') === 1 &&
        metric(t, 'balance_bridge_requests_total{status="expired"}') === 1
      );
    });

    // The daily report, from the statistics every instance adds to the store.
    const day = dayOf(Date.now());
    await eventually(
      async () => (await admin(relay, "GET", `/admin/report?day=${day}`)).body.requests.expired === 1,
    );
    const report = (await admin(relay, "GET", `/admin/report?day=${day}`)).body;
    expect(report).toMatchObject({
      day,
      pairings: { created: 3, answered: 1, acknowledged: 1, cancelled: 1, expired: 1 },
      requests: { posted: 5, fetched: 6, answered: 3, cancelled: 1, expired: 1 },
      responses: { approved: 1, rejected: 1, failed: 0, unlabelled: 1 },
      timeToAnswer: { pairing: { count: 1 }, request: { count: 3 } },
      push: { all: { successRate: null } },
    });
    expect(report.timeToAnswer.request.p50).toBeGreaterThanOrEqual(0);
    expect(report.timeToAnswer.request.p99).toBeLessThanOrEqual(0.25);
    expect(errorOf(await admin(relay, "GET", "/admin/report?day=2025-13-01"))).toMatchObject({ status: 400 });
  });
});

describe("response outcome label (wallet side)", () => {
  it("labels a result approved, 4001 rejected, other errors failed; falls back without it on a relay that refuses it", async () => {
    expect(responseOutcome({ result: "0x1" })).toBe("approved");
    expect(responseOutcome({ error: { code: 4001, message: "no" } })).toBe("rejected");
    expect(responseOutcome({ error: { code: -32000, message: "gas" } })).toBe("failed");

    const bodies: Array<Record<string, unknown>> = [];
    // An older relay: PutResponseBody is strict, so the unknown field is a 400 naming it.
    const client = createWalletClient({
      fetch: async (_url, init) => {
        const body = JSON.parse(String(init.body)) as Record<string, unknown>;
        bodies.push(body);
        const refused = "outcome" in body;
        return new Response(
          refused
            ? JSON.stringify({
                error: { code: "invalid_field", message: 'body: Unrecognized key: "outcome"' },
              })
            : "{}",
          { status: refused ? 400 : 201, headers: { "content-type": "application/json" } },
        );
      },
    });
    const key = () => toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
    const session = {
      relayUrl: "http://relay.test",
      sessionId: key(),
      sendKey: key(),
      receiveKey: key(),
      matchCode: "123456",
      deviceId: uuid(),
      pairedAt: 0,
    };
    await client.respond(session, uuid(), { result: "0x1" }, { outcome: "approved" });
    expect(bodies.map((b) => b.outcome)).toEqual(["approved", undefined]);
    expect(bodies[0]?.sealed).toBe(bodies[1]?.sealed);
  });
});
