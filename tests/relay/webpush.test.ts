/**
 * Web Push (RFC 8030 / 8291 / 8292) against a push service on loopback: the relay (VAPID keys, the
 * loopback allow-listed) encrypts `{sessionId, requestId}` to a subscription made like a browser makes
 * one, and the test decrypts it with the subscription's private key and checks the VAPID JWT; a 429
 * with Retry-After is retried after it; a 410 drops the subscription and the wallet still pulls.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toHex } from "viem";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { REQUEST_STATUS_HEADER } from "../../protocol/constants.ts";
import { generateVapidKeys } from "../../relay/push/webpush.ts";
import { runCli } from "../../wallet/runCli.ts";
import { ask, createDappClient, createWalletHarness, resultOf } from "../integration/harness.ts";
import { hardhatAccounts } from "../support/hardhat.ts";
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
import {
  browserSubscription,
  checkVapid,
  decryptPush,
  type PushAnswer,
  type PushHit,
  startPushService,
} from "./pushService.ts";

const vapid = { ...generateVapidKeys(), subject: "mailto:ops@relay.test" };
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function webPushRelay(overrides = {}): Promise<TestRelay> {
  const relay = await startTestRelay({
    pushAllowHosts: ["127.0.0.1"],
    vapidPublicKey: vapid.publicKey,
    vapidPrivateKey: vapid.privateKey,
    vapidSubject: vapid.subject,
    ...overrides,
  });
  cleanup.push(() => relay.close());
  return relay;
}
async function pushService(answer?: (hit: PushHit, n: number) => PushAnswer) {
  const service = await startPushService(answer);
  cleanup.push(() => service.close());
  return service;
}
/** One sample from the Prometheus text, e.g. metric(text, 'balance_bridge_push_total{kind="webpush",outcome="gone"}'). */
function metric(text: string, sample: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}
async function eventually(check: () => Promise<boolean>, ms = 4000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await sleep(20);
  }
}
const pushMetric = (outcome: string) => `balance_bridge_push_total{kind="webpush",outcome="${outcome}"}`;

describe("Web Push", () => {
  it("the reference wallet registers a subscription; the request arrives encrypted (RFC 8291) with a valid VAPID JWT (RFC 8292)", async () => {
    const service = await pushService();
    const relay = await webPushRelay();
    const browser = browserSubscription(`${service.origin}/wpush/${uuid()}`);
    const dapp = createDappClient({ relayUrl: relay.url });
    const wallet = await createWalletHarness({
      privateKey: hardhatAccounts()[0]?.privateKey ?? "0x",
      chainId: 31337,
    });
    cleanup.push(() => wallet.stop());

    const pending = await dapp.createPairing({ ttl: 60 });
    const waiting = dapp.waitForPairing(pending, { signal: AbortSignal.timeout(10_000) });
    const paired = await wallet.wallet.pair(pending.uri, {
      webPushSubscription: JSON.stringify(browser.subscription),
    });
    expect(paired.push).toEqual({ type: "webpush", subscription: browser.subscription });
    const session = await waiting;

    await wallet.serve({ pullWait: 1 });
    const { id, response } = await ask(dapp, session, {
      method: "personal_sign",
      params: [toHex("web push"), wallet.address],
    });
    expect(resultOf(response)).toMatch(/^0x[0-9a-f]+$/);
    await service.received(1);
    const hit = service.hits[0] as PushHit;

    // RFC 8030 §5: a POST to the subscription's endpoint, TTL and Urgency set.
    expect(hit.path).toBe(new URL(browser.subscription.endpoint).pathname);
    expect(hit.headers["content-encoding"]).toBe("aes128gcm");
    expect(hit.headers["content-type"]).toBe("application/octet-stream");
    expect(Number(hit.headers.ttl)).toBeGreaterThan(0);
    expect(Number(hit.headers.ttl)).toBeLessThanOrEqual(300);
    expect(hit.headers.urgency).toBe("high");
    // RFC 8291: only the subscription's private key opens it; inside is the same JSON as a webhook's.
    expect(JSON.parse(decryptPush(hit.body, browser))).toEqual({
      sessionId: session.sessionId,
      requestId: id,
    });
    expect(hit.body.includes(Buffer.from(session.sessionId))).toBe(false);
    expect(() => decryptPush(hit.body, browserSubscription(browser.subscription.endpoint))).toThrow();
    // RFC 8292: ES256 JWT signed by the relay's VAPID key, audience the push service's origin.
    const jwt = checkVapid(hit.headers.authorization);
    expect(jwt.publicKey).toBe(vapid.publicKey);
    expect(jwt.header).toMatchObject({ typ: "JWT", alg: "ES256" });
    expect(jwt.claims.aud).toBe(service.origin);
    expect(jwt.claims.sub).toBe(vapid.subject);
    const nowSec = Date.now() / 1000;
    expect(jwt.claims.exp).toBeGreaterThan(nowSec);
    expect(jwt.claims.exp).toBeLessThanOrEqual(nowSec + 24 * 3600); // RFC 8292 §2: at most 24 h ahead
    const [h, , s] = jwt.token.split(".");
    const forged = Buffer.from(JSON.stringify({ ...jwt.claims, aud: "https://elsewhere.example" })).toString(
      "base64url",
    );
    expect(jwt.verifies(`${h}.${forged}`, s ?? "")).toBe(false);

    await eventually(
      async () => metric((await relay.api.get("/metrics")).text, pushMetric("delivered")) === 1,
    );
    const metrics = (await relay.api.get("/metrics")).text;
    // The wallet labelled its response (PUT …/response `outcome`), so the relay counts an approval.
    expect(metric(metrics, 'balance_bridge_responses_total{outcome="approved"}')).toBe(1);
    expect(metric(metrics, 'balance_bridge_requests_total{status="answered"}')).toBe(1);
  });

  it("retries after a 429, honouring Retry-After, and the request becomes notified", async () => {
    const service = await pushService((_hit, n) =>
      n === 1 ? { status: 429, headers: { "retry-after": "1" } } : { status: 201 },
    );
    const relay = await webPushRelay();
    const browser = browserSubscription(`${service.origin}/wpush/${uuid()}`);
    const { sessionId: sid } = await relay.api.pair({
      push: { type: "webpush", subscription: browser.subscription },
    });
    const id = uuid();
    expect(
      (await relay.api.post(`/v1/sessions/${sid}/requests`, { id, sealed: sealedSession(), ttl: 120 }))
        .status,
    ).toBe(201);
    await service.received(2);
    const [first, second] = service.hits as [PushHit, PushHit];
    expect(second.at - first.at).toBeGreaterThanOrEqual(950);
    for (const hit of [first, second]) {
      expect(JSON.parse(decryptPush(hit.body, browser))).toEqual({ sessionId: sid, requestId: id });
      expect(Number(hit.headers.ttl)).toBeLessThanOrEqual(120);
    }
    await eventually(async () => {
      const reply = await relay.api.get(`/v1/sessions/${sid}/requests/${id}/response?wait=0`);
      return reply.headers.get(REQUEST_STATUS_HEADER) === "notified";
    });
    const metrics = (await relay.api.get("/metrics")).text;
    expect(metric(metrics, pushMetric("retried"))).toBe(1);
    expect(metric(metrics, pushMetric("delivered"))).toBe(1);
  });

  it("drops a subscription the push service reports gone (410); later requests are not pushed but still pullable", async () => {
    const service = await pushService(() => ({ status: 410 }));
    const relay = await webPushRelay();
    const browser = browserSubscription(`${service.origin}/wpush/${uuid()}`);
    const { sessionId: sid } = await relay.api.pair({
      push: { type: "webpush", subscription: browser.subscription },
    });
    const first = { id: uuid(), sealed: sealedSession() };
    await relay.api.post(`/v1/sessions/${sid}/requests`, first);
    await service.received(1);
    await eventually(async () => metric((await relay.api.get("/metrics")).text, pushMetric("gone")) === 1);
    const later = { id: uuid(), sealed: sealedSession() };
    expect((await relay.api.post(`/v1/sessions/${sid}/requests`, later)).status).toBe(201);
    await sleep(300);
    expect(service.hits).toHaveLength(1); // the dropped subscription is not called again
    const pulled = await relay.api.get(`/v1/sessions/${sid}/requests?wait=0`);
    expect(pulled.body.requests.map((r: { id: string }) => r.id)).toEqual([first.id, later.id]);
    const metrics = (await relay.api.get("/metrics")).text;
    expect(metric(metrics, pushMetric("retried"))).toBe(0);
    expect(metric(metrics, pushMetric("failed"))).toBe(0);
  });

  it("refuses endpoints the SSRF allow-list refuses, plain http, and malformed keys (400 push_target_refused)", async () => {
    const relay = await webPushRelay();
    const good = browserSubscription("https://push.example/x").subscription;
    const cases: Array<[unknown, RegExp]> = [
      [{ ...good, endpoint: "https://10.1.2.3/wpush/1" }, /private|non-public/],
      [{ ...good, endpoint: "https://127.0.0.2:9/wpush/1" }, /private|non-public/],
      [{ ...good, endpoint: "https://169.254.169.254/latest" }, /private|non-public/],
      [{ ...good, endpoint: "http://push.example/wpush/1" }, /https/],
      [{ ...good, keys: { ...good.keys, p256dh: Buffer.alloc(65, 4).toString("base64url") } }, /p256dh/],
      [{ ...good, keys: { ...good.keys, auth: Buffer.alloc(8).toString("base64url") } }, /auth/],
      [{ ...good, expirationTime: Date.now() - 1000 }, /expired/],
    ];
    for (const [subscription, why] of cases) {
      const t = token();
      await relay.api.post("/v1/pairings", { token: t });
      const reply = await relay.api.put(`/v1/pairings/${t}`, {
        deviceId: uuid(),
        sessionId: sessionId(),
        sealed: sealedPair(),
        push: { type: "webpush", subscription },
      });
      expect(errorOf(reply), JSON.stringify(subscription)).toMatchObject({
        status: 400,
        code: "push_target_refused",
      });
      expect(reply.body.error.message).toMatch(why);
    }
    expect(metric((await relay.api.get("/metrics")).text, pushMetric("refused"))).toBe(cases.length);
  });

  it("a relay without VAPID keys keeps refusing Web Push targets", async () => {
    const relay = await startTestRelay({ pushAllowHosts: ["127.0.0.1"] });
    cleanup.push(() => relay.close());
    const t = token();
    await relay.api.post("/v1/pairings", { token: t });
    const reply = await relay.api.put(`/v1/pairings/${t}`, {
      deviceId: uuid(),
      sessionId: sessionId(),
      sealed: sealedPair(),
      push: { type: "webpush", subscription: browserSubscription("https://push.example/x").subscription },
    });
    expect(errorOf(reply)).toMatchObject({ status: 400, code: "push_target_refused" });
    expect(reply.body.error.message).toMatch(/not enabled/);
  });
});

describe("wallet CLI: pair --webpush-subscription", () => {
  const dir = mkdtempSync(join(tmpdir(), "bb-wallet-webpush-"));
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await webPushRelay();
  });
  afterAll(async () => {
    await relay.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const run = async (args: string[], env: Record<string, string> = {}) => {
    let stdout = "";
    let stderr = "";
    const code = await runCli(
      args,
      { BB_WALLET_PRIVATE_KEY: hardhatAccounts()[1]?.privateKey ?? "", ...env },
      {
        stdout: (t) => {
          stdout += t;
        },
        stderr: (t) => {
          stderr += t;
        },
      },
    );
    return { code, stdout, stderr };
  };

  it("pairs with a Web Push subscription from the flag or the environment; refuses one that is not", async () => {
    const dapp = createDappClient({ relayUrl: relay.url });
    const subscription = browserSubscription("http://127.0.0.1:9/wpush/cli").subscription;
    const base = ["--chain-id", "31337", "--json", "--state", join(dir, "state.json")];

    const pending = await dapp.createPairing({ ttl: 60 });
    const out = await run([
      "pair",
      pending.uri,
      ...base,
      "--webpush-subscription",
      JSON.stringify(subscription),
    ]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout).push).toEqual({ type: "webpush", subscription });

    const viaEnv = await dapp.createPairing({ ttl: 60 });
    const fromEnv = await run(["pair", viaEnv.uri, ...base], {
      BB_WALLET_WEBPUSH_SUBSCRIPTION: JSON.stringify(subscription),
    });
    expect(fromEnv.code).toBe(0);
    expect(JSON.parse(fromEnv.stdout).push.type).toBe("webpush");

    const third = await dapp.createPairing({ ttl: 60 });
    const bad = await run(["pair", third.uri, ...base, "--webpush-subscription", '{"endpoint":"not a url"}']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/webpush-subscription/);
    const both = await run([
      "pair",
      third.uri,
      ...base,
      "--webpush-subscription",
      JSON.stringify(subscription),
      "--webhook-url",
      "http://127.0.0.1:9/",
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/choose one push target/);
  });
});
