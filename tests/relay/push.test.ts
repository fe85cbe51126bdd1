/**
 * Webhook push against a real loopback receiver: the SSRF guard refuses loopback unless allow-listed,
 * retries reach a flaky receiver and mark the request `notified`, and a dead receiver never loses the
 * request (the wallet's pull path still returns it).
 */
import { afterEach, describe, expect, it } from "vitest";
import { REQUEST_STATUS_HEADER } from "../../protocol/constants.ts";
import { createWebhookPush } from "../../relay/push/webhook.ts";
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
import { startReceiver } from "./receiver.ts";

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function relayWithPush(
  options: Parameters<typeof createWebhookPush>[0] = {},
  overrides = {},
): Promise<TestRelay> {
  const relay = await startTestRelay(overrides, {
    push: createWebhookPush({ baseDelayMs: 20, timeoutMs: 2000, ...options }),
  });
  cleanup.push(() => relay.close());
  return relay;
}
async function receiver(...args: Parameters<typeof startReceiver>) {
  const r = await startReceiver(...args);
  cleanup.push(() => r.close());
  return r;
}
async function statusOf(relay: TestRelay, sid: string, id: string) {
  const reply = await relay.api.get(`/v1/sessions/${sid}/requests/${id}/response?wait=0`);
  return reply.headers.get(REQUEST_STATUS_HEADER);
}
async function eventually<T>(read: () => Promise<T>, want: T, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  let last: T = await read();
  while (last !== want && Date.now() < deadline) {
    await sleep(20);
    last = await read();
  }
  expect(last).toBe(want);
}

describe("webhook push", () => {
  it("refuses loopback and private targets at pairing time by default (SSRF), storing nothing", async () => {
    const hook = await receiver();
    const relay = await startTestRelay(); // the relay's own default push: no allow-list
    cleanup.push(() => relay.close());
    for (const url of [
      hook.url,
      `http://localhost:${hook.port}/hook`,
      "http://10.0.0.8/hook",
      "http://[::1]:9/x",
      "http://169.254.169.254/latest",
    ]) {
      const t = token();
      await relay.api.post("/v1/pairings", { token: t });
      const reply = await relay.api.put(`/v1/pairings/${t}`, {
        deviceId: uuid(),
        sessionId: sessionId(),
        sealed: sealedPair(),
        push: { type: "webhook", url },
      });
      expect(errorOf(reply), url).toMatchObject({ status: 400, code: "push_target_refused" });
      expect(reply.body.error.message).toMatch(/^push: /);
      expect((await relay.api.get(`/v1/pairings/${t}?wait=0`)).status).toBe(204);
    }
    expect(hook.hits).toHaveLength(0);
  });

  it("refuses Web Push targets (not enabled on this relay)", async () => {
    const relay = await relayWithPush();
    const t = token();
    await relay.api.post("/v1/pairings", { token: t });
    const reply = await relay.api.put(`/v1/pairings/${t}`, {
      deviceId: uuid(),
      sessionId: sessionId(),
      sealed: sealedPair(),
      push: {
        type: "webpush",
        subscription: { endpoint: "https://push.example/x", keys: { p256dh: "a", auth: "b" } },
      },
    });
    expect(errorOf(reply)).toMatchObject({ status: 400, code: "push_target_refused" });
  });

  it("notifies an allow-listed loopback receiver with {sessionId, requestId}; status becomes notified", async () => {
    const hook = await receiver();
    const relay = await relayWithPush({ allowHosts: ["127.0.0.1"] });
    const { sessionId: sid } = await relay.api.pair({ push: { type: "webhook", url: hook.url } });
    const id = uuid();
    const sealed = sealedSession();
    const posted = await relay.api.post(`/v1/sessions/${sid}/requests`, { id, sealed });
    expect(posted.status).toBe(201);
    await hook.answered(1);
    expect(hook.hits[0]?.body).toEqual({ sessionId: sid, requestId: id });
    expect(hook.hits[0]?.headers["content-type"]).toBe("application/json");
    expect(hook.hits[0]?.path).toBe("/hook");
    await eventually(() => statusOf(relay, sid, id), "notified");
    // The wallet fetches it; a repeated POST of the same request does not notify again.
    expect((await relay.api.get(`/v1/sessions/${sid}/requests/${id}`)).status).toBe(200);
    expect((await relay.api.post(`/v1/sessions/${sid}/requests`, { id, sealed })).status).toBe(200);
    await sleep(100);
    expect(hook.hits).toHaveLength(1);
    expect(await statusOf(relay, sid, id)).toBe("fetched");
  });

  it("retries a receiver that fails twice, then succeeds: delivered and notified", async () => {
    const hook = await receiver((n) => (n <= 2 ? { status: n === 1 ? 500 : 503 } : { status: 204 }));
    const relay = await relayWithPush({ allowHosts: ["127.0.0.1"], retries: 4 });
    const { sessionId: sid } = await relay.api.pair({ push: { type: "webhook", url: hook.url } });
    const id = uuid();
    await relay.api.post(`/v1/sessions/${sid}/requests`, { id, sealed: sealedSession() });
    await hook.answered(3);
    await eventually(() => statusOf(relay, sid, id), "notified");
    expect(hook.hits).toHaveLength(3);
  });

  it("honours Retry-After on 429", async () => {
    const hook = await receiver((n) =>
      n === 1 ? { status: 429, headers: { "retry-after": "1" } } : { status: 200 },
    );
    const relay = await relayWithPush({ allowHosts: ["127.0.0.1"] });
    const { sessionId: sid } = await relay.api.pair({ push: { type: "webhook", url: hook.url } });
    await relay.api.post(`/v1/sessions/${sid}/requests`, { id: uuid(), sealed: sealedSession() });
    await hook.answered(2);
    const [first, second] = hook.hits;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it("a receiver that always fails: the request is not lost, the wallet's pull path returns it", async () => {
    const hook = await receiver(() => ({ status: 500 }));
    const relay = await relayWithPush({ allowHosts: ["127.0.0.1"], retries: 2 });
    const { sessionId: sid } = await relay.api.pair({ push: { type: "webhook", url: hook.url } });
    const id = uuid();
    const sealed = sealedSession();
    await relay.api.post(`/v1/sessions/${sid}/requests`, { id, sealed });
    await hook.answered(3);
    await sleep(100);
    expect(hook.hits).toHaveLength(3); // 1 + 2 retries, then it gives up
    expect(await statusOf(relay, sid, id)).toBe("queued");
    const pulled = await relay.api.get(`/v1/sessions/${sid}/requests?wait=0`);
    expect(pulled.body.requests).toEqual([{ id, sealed, expiresAt: expect.any(Number) }]);
  });

  it("does not retry a final 4xx", async () => {
    const hook = await receiver(() => ({ status: 410 }));
    const relay = await relayWithPush({ allowHosts: ["127.0.0.1"], retries: 3 });
    const { sessionId: sid } = await relay.api.pair({ push: { type: "webhook", url: hook.url } });
    await relay.api.post(`/v1/sessions/${sid}/requests`, { id: uuid(), sealed: sealedSession() });
    await hook.answered(1);
    await sleep(200);
    expect(hook.hits).toHaveLength(1);
  });

  it("a slow receiver never delays the 201", async () => {
    const hook = await receiver(() => ({ status: 200, delayMs: 1500 }));
    const relay = await relayWithPush({ allowHosts: ["127.0.0.1"] });
    const { sessionId: sid } = await relay.api.pair({ push: { type: "webhook", url: hook.url } });
    const id = uuid();
    const posted = await relay.api.post(`/v1/sessions/${sid}/requests`, { id, sealed: sealedSession() });
    expect(posted.status).toBe(201);
    expect(posted.ms).toBeLessThan(500);
    expect(await statusOf(relay, sid, id)).toBe("queued");
    await eventually(() => statusOf(relay, sid, id), "notified", 4000);
  });

  it("closing the relay aborts push retries promptly", async () => {
    const hook = await receiver(() => ({ status: 503 }));
    const relay = await startTestRelay(
      {},
      { push: createWebhookPush({ allowHosts: ["127.0.0.1"], retries: 10, baseDelayMs: 2000 }) },
    );
    const { sessionId: sid } = await relay.api.pair({ push: { type: "webhook", url: hook.url } });
    await relay.api.post(`/v1/sessions/${sid}/requests`, { id: uuid(), sealed: sealedSession() });
    await hook.answered(1);
    const started = performance.now();
    await relay.close();
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
