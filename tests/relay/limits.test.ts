import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorOf, startTestRelay, type TestRelay, token } from "./helpers.ts";

describe("rate limit", () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay({ rateLimit: 1, rateBurst: 5 });
  });
  afterAll(() => relay.close());

  it("answers 429 rate_limited with Retry-After once a client's bucket is empty; /healthz is exempt", async () => {
    const replies = [];
    for (let i = 0; i < 7; i++) replies.push(await relay.api.get(`/v1/pairings/${token()}?wait=0`));
    expect(replies.slice(0, 5).map((r) => r.status)).toEqual([404, 404, 404, 404, 404]);
    const limited = replies[5];
    expect(limited && errorOf(limited)).toMatchObject({ status: 429, code: "rate_limited" });
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // CORS headers are on the 429 too, so a browser can read Retry-After.
    expect(limited?.headers.get("access-control-allow-origin")).toBe("*");
    expect((await relay.api.get("/healthz")).status).toBe(200);
  });

  it("refills at the configured rate", async () => {
    await new Promise((r) => setTimeout(r, 1100));
    expect((await relay.api.get(`/v1/pairings/${token()}?wait=0`)).status).toBe(404);
  });
});

describe("CORS", () => {
  it("answers preflights for any route with the allowed methods and headers", async () => {
    const relay = await startTestRelay();
    try {
      const res = await fetch(`${relay.url}/v1/sessions/abc/requests`, {
        method: "OPTIONS",
        headers: {
          origin: "chrome-extension://abcdefghijklmnopabcdefghijklmnop",
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe("*");
      expect(res.headers.get("access-control-allow-methods")).toBe("GET, POST, PUT, DELETE");
      expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toBe("content-type");
      expect(res.headers.get("access-control-allow-credentials")).toBeNull();

      const normal = await fetch(`${relay.url}/healthz`, { headers: { origin: "https://wallet.example" } });
      expect(normal.headers.get("access-control-allow-origin")).toBe("*");
      expect(normal.headers.get("access-control-expose-headers")).toBe("Request-Status, Retry-After");
    } finally {
      await relay.close();
    }
  });

  it("with a list of origins, echoes only a listed one", async () => {
    const extension = "chrome-extension://abcdefghijklmnopabcdefghijklmnop";
    const relay = await startTestRelay({ corsOrigins: [extension] });
    try {
      const ok = await fetch(`${relay.url}/healthz`, { headers: { origin: extension } });
      expect(ok.headers.get("access-control-allow-origin")).toBe(extension);
      expect(ok.headers.get("vary")).toMatch(/Origin/);
      const other = await fetch(`${relay.url}/healthz`, { headers: { origin: "https://evil.example" } });
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
    } finally {
      await relay.close();
    }
  });
});

describe("bounds from the configuration", () => {
  it("a lower --max-wait makes larger waits 400, and a pairing ttl above --max-pairing-ttl 400", async () => {
    const relay = await startTestRelay({ maxWait: 5, maxPairingTtl: 30 });
    try {
      const t = token();
      expect((await relay.api.post("/v1/pairings", { token: t, ttl: 30 })).status).toBe(201);
      const tooLong = await relay.api.post("/v1/pairings", { token: token(), ttl: 31 });
      expect(errorOf(tooLong)).toMatchObject({ status: 400, code: "invalid_field" });
      expect(tooLong.body.error.message).toMatch(/^ttl/);
      expect((await relay.api.post("/v1/pairings", { token: token() })).body.expiresAt).toBeLessThanOrEqual(
        Math.ceil(Date.now() / 1000) + 30,
      );
      expect(errorOf(await relay.api.get(`/v1/pairings/${t}?wait=6`))).toMatchObject({
        status: 400,
        code: "invalid_field",
      });
      expect((await relay.api.get(`/v1/pairings/${t}?wait=0`)).status).toBe(204);
    } finally {
      await relay.close();
    }
  });
});

describe("responses", () => {
  it("are never cached and never sniffed", async () => {
    const relay = await startTestRelay();
    try {
      const res = await relay.api.get("/healthz");
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("etag")).toBeNull();
      expect(res.headers.get("x-powered-by")).toBeNull();
      expect(res.body).toEqual({ ok: true, store: "memory", uptime: expect.any(Number) });
    } finally {
      await relay.close();
    }
  });
});
