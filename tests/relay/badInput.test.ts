/**
 * Every class of bad input on every route gets a clean 4xx JSON error with the right code (and, for
 * 400s, a message naming the field); none produces a 5xx, and the relay stays healthy afterwards.
 */
import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  errorOf,
  type Reply,
  sealedPair,
  sealedSession,
  sessionId,
  startTestRelay,
  type TestRelay,
  token,
  uuid,
} from "./helpers.ts";

const MAX_BODY = 4096;

describe("bad input", () => {
  let relay: TestRelay;
  let sid: string;
  let requestId: string;
  const seen: Reply[] = [];
  const call = async (...args: Parameters<TestRelay["api"]["call"]>) => {
    const reply = await relay.api.call(...args);
    seen.push(reply);
    return reply;
  };

  beforeAll(async () => {
    relay = await startTestRelay({ maxBodyBytes: MAX_BODY });
    sid = (await relay.api.pair()).sessionId;
    requestId = uuid();
    await relay.api.post(`/v1/sessions/${sid}/requests`, { id: requestId, sealed: sealedSession() });
  });
  afterEach(() => {
    for (const reply of seen.splice(0)) {
      expect(reply.status, reply.text).toBeLessThan(500);
      if (reply.status >= 400) {
        expect(reply.headers.get("content-type")).toMatch(/^application\/json/);
        expect(reply.body).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
      }
    }
  });
  afterAll(async () => {
    const health = await relay.api.get("/healthz");
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ ok: true, store: "memory" });
    await relay.close();
  });

  type BodyRoute = {
    name: string;
    method: "POST" | "PUT";
    path: () => string;
    valid: () => Record<string, unknown>;
    /** [field, a wrong value] pairs: each must be a 400 naming that field. */
    wrong: Array<[string, unknown]>;
  };
  const bodyRoutes: BodyRoute[] = [
    {
      name: "POST /v1/pairings",
      method: "POST",
      path: () => "/v1/pairings",
      valid: () => ({ token: token(), ttl: 60 }),
      wrong: [
        ["token", 42],
        ["token", "short"],
        ["token", `${token()}=`],
        ["ttl", "60"],
        ["ttl", 0],
        ["ttl", 601],
        ["ttl", 1.5],
      ],
    },
    {
      name: "PUT /v1/pairings/:token",
      method: "PUT",
      path: () => `/v1/pairings/${token()}`,
      valid: () => ({ deviceId: uuid(), sessionId: sessionId(), sealed: sealedPair() }),
      wrong: [
        ["deviceId", "not-a-uuid"],
        ["deviceId", uuid().toUpperCase()],
        ["sessionId", 7],
        ["sealed", sealedSession()],
        ["sealed", sealedPair(72)],
        ["push", { type: "webhook", url: "ftp://example.com/x" }],
        ["push", { type: "carrier-pigeon" }],
      ],
    },
    {
      name: "POST /v1/sessions/:sessionId/requests",
      method: "POST",
      path: () => `/v1/sessions/${sid}/requests`,
      valid: () => ({ id: uuid(), sealed: sealedSession(), ttl: 60 }),
      wrong: [
        ["id", "1234"],
        ["sealed", sealedPair()],
        ["sealed", sealedSession(40)],
        ["sealed", "not base64url!"],
        ["ttl", 3601],
        ["ttl", null],
      ],
    },
    {
      name: "PUT /v1/sessions/:sessionId/requests/:id/response",
      method: "PUT",
      path: () => `/v1/sessions/${sid}/requests/${requestId}/response`,
      valid: () => ({ sealed: sealedSession() }),
      wrong: [
        ["sealed", ""],
        ["sealed", ["x"]],
      ],
    },
    {
      name: "POST /v1/sessions/:sessionId/events",
      method: "POST",
      path: () => `/v1/sessions/${sid}/events`,
      valid: () => ({ id: uuid(), sealed: sealedSession() }),
      wrong: [
        ["id", false],
        ["sealed", 1],
      ],
    },
  ];

  describe.each(bodyRoutes)("$name", (route) => {
    it("malformed JSON → 400 invalid_json", async () => {
      for (const raw of ['{"token":', "{'a':1}", "null", '"text"', "", "{}x"]) {
        const reply = await call(route.method, route.path(), undefined, {
          raw,
          headers: { "content-type": "application/json" },
        });
        if (raw === "") {
          // An empty JSON body is an empty object: every required field is missing.
          expect(errorOf(reply)).toMatchObject({ status: 400, code: "invalid_field" });
        } else {
          expect(errorOf(reply), raw).toMatchObject({ status: 400, code: "invalid_json" });
        }
      }
    });

    it("a non-JSON content type, or none → 415 unsupported_media_type", async () => {
      const raw = JSON.stringify(route.valid());
      for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/jsonx"]) {
        const reply = await call(route.method, route.path(), undefined, {
          raw,
          headers: { "content-type": type },
        });
        expect(errorOf(reply), type).toMatchObject({ status: 415, code: "unsupported_media_type" });
      }
      const none = await call(route.method, route.path());
      expect(errorOf(none)).toMatchObject({ status: 415, code: "unsupported_media_type" });
    });

    it("a compressed or non-UTF-8 body → 415", async () => {
      const gz = await call(route.method, route.path(), undefined, {
        raw: gzipSync(JSON.stringify(route.valid())),
        headers: { "content-type": "application/json", "content-encoding": "gzip" },
      });
      expect(errorOf(gz)).toMatchObject({ status: 415, code: "unsupported_media_type" });
      const latin1 = await call(route.method, route.path(), undefined, {
        raw: JSON.stringify(route.valid()),
        headers: { "content-type": "application/json; charset=iso-8859-1" },
      });
      expect(errorOf(latin1)).toMatchObject({ status: 415, code: "unsupported_media_type" });
    });

    it("a body over the limit → 413 payload_too_large", async () => {
      const big = { ...route.valid(), padding: "x".repeat(MAX_BODY) };
      expect(errorOf(await call(route.method, route.path(), big))).toMatchObject({
        status: 413,
        code: "payload_too_large",
      });
    });

    it("missing fields, wrong types, unknown fields, non-object → 400 invalid_field naming the field", async () => {
      const valid = route.valid();
      for (const field of Object.keys(valid).filter((f) => f !== "ttl")) {
        const { [field]: _gone, ...rest } = valid;
        const reply = await call(route.method, route.path(), rest);
        expect(errorOf(reply), field).toMatchObject({ status: 400, code: "invalid_field" });
        expect(reply.body.error.message).toMatch(new RegExp(`^${field}\\b`));
      }
      for (const [field, value] of route.wrong) {
        const reply = await call(route.method, route.path(), { ...route.valid(), [field]: value });
        expect(errorOf(reply), `${field}=${JSON.stringify(value)}`).toMatchObject({
          status: 400,
          code: "invalid_field",
        });
        expect(reply.body.error.message).toMatch(new RegExp(`^${field}\\b`));
      }
      const extra = await call(route.method, route.path(), { ...route.valid(), surprise: 1 });
      expect(errorOf(extra)).toMatchObject({ status: 400, code: "invalid_field" });
      expect(extra.body.error.message).toMatch(/surprise/);
      for (const body of [[], [route.valid()]]) {
        expect(errorOf(await call(route.method, route.path(), body))).toMatchObject({
          status: 400,
          code: "invalid_field",
        });
      }
    });
  });

  it("bad path parameters → 400 invalid_field naming the parameter, on every route", async () => {
    const badTokens = ["abc", `${token().slice(0, 42)}B`, `${token()}A`, "%2B%2F", "A".repeat(44)];
    const badSessions = ["abc", `${sessionId()}=`, "x".repeat(64)];
    const badIds = ["abc", uuid().toUpperCase(), "6ba7b810-9dad-11d1-80b4-00c04fd430c8", `${uuid()}0`];
    const tokenBody = { deviceId: uuid(), sessionId: sessionId(), sealed: sealedPair() };
    for (const t of badTokens) {
      for (const [method, body] of [
        ["PUT", tokenBody],
        ["GET", undefined],
        ["DELETE", undefined],
      ] as const) {
        const reply = await call(method, `/v1/pairings/${t}?wait=0`, body);
        expect(errorOf(reply), `${method} ${t}`).toMatchObject({ status: 400, code: "invalid_field" });
        expect(reply.body.error.message).toMatch(/^token/);
      }
    }
    const id = uuid();
    const sessionRoutes = (s: string, r: string): Array<[string, string, unknown]> => [
      ["DELETE", `/v1/sessions/${s}`, undefined],
      ["POST", `/v1/sessions/${s}/requests`, { id, sealed: sealedSession() }],
      ["GET", `/v1/sessions/${s}/requests?wait=0`, undefined],
      ["GET", `/v1/sessions/${s}/requests/${r}`, undefined],
      ["DELETE", `/v1/sessions/${s}/requests/${r}`, undefined],
      ["PUT", `/v1/sessions/${s}/requests/${r}/response`, { sealed: sealedSession() }],
      ["GET", `/v1/sessions/${s}/requests/${r}/response?wait=0`, undefined],
      ["POST", `/v1/sessions/${s}/events`, { id, sealed: sealedSession() }],
      ["GET", `/v1/sessions/${s}/events?wait=0`, undefined],
    ];
    for (const s of badSessions) {
      for (const [method, path, body] of sessionRoutes(s, id)) {
        const reply = await call(method, path, body);
        expect(errorOf(reply), `${method} ${path}`).toMatchObject({ status: 400, code: "invalid_field" });
        expect(reply.body.error.message).toMatch(/^sessionId/);
      }
    }
    for (const r of badIds) {
      for (const [method, path, body] of sessionRoutes(sid, r).filter(([, p]) => p.includes(r))) {
        const reply = await call(method, path, body);
        expect(errorOf(reply), `${method} ${path}`).toMatchObject({ status: 400, code: "invalid_field" });
        expect(reply.body.error.message).toMatch(/^id/);
      }
    }
  });

  it("requests Node cannot parse (bad method, oversized headers) still get a JSON error", async () => {
    const { port } = new URL(relay.url);
    const raw = (text: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), "127.0.0.1", () => socket.end(text));
        let out = "";
        socket.setEncoding("utf8");
        socket.on("data", (chunk: string) => {
          out += chunk;
        });
        socket.on("end", () => resolve(out));
        socket.on("error", reject);
      });
    const garbage = await raw("BREW /v1/pairings HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(garbage.slice(garbage.indexOf("\r\n\r\n") + 4))).toMatchObject({
      error: { code: "invalid_field" },
    });
    const huge = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
    expect(huge).toMatch(/^HTTP\/1\.1 413 /);
    expect(huge).toContain('"code":"payload_too_large"');
  });

  it("undecodable percent-encoding in a path → 400, not 500", async () => {
    const reply = await call("GET", "/v1/pairings/%E0%A4%A");
    expect(errorOf(reply)).toMatchObject({ status: 400, code: "invalid_field" });
  });

  it("wait and after outside their bounds → 400 invalid_field naming them", async () => {
    const t = token();
    await call("POST", "/v1/pairings", { token: t });
    const polls = [
      `/v1/pairings/${t}`,
      `/v1/sessions/${sid}/requests`,
      `/v1/sessions/${sid}/requests/${requestId}/response`,
      `/v1/sessions/${sid}/events`,
    ];
    for (const path of polls) {
      for (const wait of ["-1", "31", "abc", "1.5", "", "1e1", "0x10"]) {
        const reply = await call("GET", `${path}?wait=${wait}`);
        expect(errorOf(reply), `${path}?wait=${wait}`).toMatchObject({ status: 400, code: "invalid_field" });
        expect(reply.body.error.message).toMatch(/^wait/);
      }
      const twice = await call("GET", `${path}?wait=1&wait=2`);
      expect(errorOf(twice)).toMatchObject({ status: 400, code: "invalid_field" });
    }
    for (const after of ["-1", "x", "1.0"]) {
      const reply = await call("GET", `/v1/sessions/${sid}/events?after=${after}&wait=0`);
      expect(errorOf(reply)).toMatchObject({ status: 400, code: "invalid_field" });
      expect(reply.body.error.message).toMatch(/^after/);
    }
  });

  it("unknown ids → 404 with the right code", async () => {
    const nobody = sessionId();
    const checks: Array<[string, string, unknown, string]> = [
      [
        "PUT",
        `/v1/pairings/${token()}`,
        { deviceId: uuid(), sessionId: sessionId(), sealed: sealedPair() },
        "pairing_not_found",
      ],
      ["GET", `/v1/pairings/${token()}?wait=0`, undefined, "pairing_not_found"],
      ["DELETE", `/v1/pairings/${token()}`, undefined, "pairing_not_found"],
      ["DELETE", `/v1/sessions/${nobody}`, undefined, "session_not_found"],
      [
        "POST",
        `/v1/sessions/${nobody}/requests`,
        { id: uuid(), sealed: sealedSession() },
        "session_not_found",
      ],
      ["GET", `/v1/sessions/${nobody}/requests/${uuid()}`, undefined, "session_not_found"],
      ["GET", `/v1/sessions/${sid}/requests/${uuid()}`, undefined, "request_not_found"],
      ["DELETE", `/v1/sessions/${sid}/requests/${uuid()}`, undefined, "request_not_found"],
      [
        "PUT",
        `/v1/sessions/${sid}/requests/${uuid()}/response`,
        { sealed: sealedSession() },
        "request_not_found",
      ],
      ["GET", `/v1/sessions/${sid}/requests/${uuid()}/response?wait=0`, undefined, "request_not_found"],
    ];
    for (const [method, path, body, code] of checks) {
      expect(errorOf(await call(method, path, body)), `${method} ${path}`).toMatchObject({
        status: 404,
        code,
      });
    }
  });

  it("unknown routes → 404 route_not_found; wrong methods → 405 with Allow", async () => {
    for (const path of [
      "/",
      "/v1",
      "/v2/pairings",
      "/v1/pairings/x/y",
      `/v1/sessions/${sid}/nope`,
      "/healthz/x",
    ]) {
      expect(errorOf(await call("GET", path)), path).toMatchObject({ status: 404, code: "route_not_found" });
    }
    const wrong: Array<[string, string, string]> = [
      ["GET", "/v1/pairings", "POST"],
      ["PATCH", "/v1/pairings", "POST"],
      ["POST", `/v1/pairings/${token()}`, "PUT, GET, DELETE, HEAD"],
      ["GET", `/v1/sessions/${sid}`, "DELETE"],
      ["PUT", `/v1/sessions/${sid}/requests`, "POST, GET, HEAD"],
      ["POST", `/v1/sessions/${sid}/requests/${requestId}`, "GET, DELETE, HEAD"],
      ["DELETE", `/v1/sessions/${sid}/requests/${requestId}/response`, "PUT, GET, HEAD"],
      ["DELETE", `/v1/sessions/${sid}/events`, "POST, GET, HEAD"],
      ["POST", "/healthz", "GET, HEAD"],
    ];
    for (const [method, path, allow] of wrong) {
      const reply = await call(method, path, method === "GET" ? undefined : {});
      expect(errorOf(reply), `${method} ${path}`).toMatchObject({ status: 405, code: "method_not_allowed" });
      expect(reply.headers.get("allow")).toBe(`${allow}, OPTIONS`);
    }
  });

  it("twice → the second is a clean conflict, not a crash", async () => {
    const t = token();
    expect((await call("POST", "/v1/pairings", { token: t })).status).toBe(201);
    expect(errorOf(await call("POST", "/v1/pairings", { token: t }))).toMatchObject({
      status: 409,
      code: "pairing_exists",
    });
    expect((await call("DELETE", `/v1/pairings/${t}`)).status).toBe(204);
    expect(errorOf(await call("DELETE", `/v1/pairings/${t}`))).toMatchObject({ status: 404 });
  });
});
