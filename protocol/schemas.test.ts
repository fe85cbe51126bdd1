import { describe, expect, it } from "vitest";
import { toBase64Url } from "./base64url.ts";
import { EnvelopeError } from "./envelope.ts";
import { generateToken } from "./keys.ts";
import { openMessage, sealMessage } from "./messages.ts";
import {
  AnswerPairingBody,
  CreatePairingBody,
  describeIssues,
  EventPayload,
  Origin,
  PostRequestBody,
  PushTarget,
  RequestPayload,
  ResponsePayload,
} from "./schemas.ts";

const sessionSealed = toBase64Url(new Uint8Array(41));
const pairSealed = toBase64Url(Uint8Array.from({ length: 73 }, (_, i) => (i === 0 ? 1 : 0)));

describe("wire schemas", () => {
  it("accept well-formed bodies and name the field of a bad one", () => {
    expect(CreatePairingBody.safeParse({ token: generateToken(), ttl: 60 }).success).toBe(true);
    const bad = CreatePairingBody.safeParse({ token: generateToken(), ttl: 601 });
    expect(bad.success).toBe(false);
    if (!bad.success) expect(describeIssues(bad.error).field).toBe("ttl");
    const extra = CreatePairingBody.safeParse({ token: generateToken(), surprise: 1 });
    expect(extra.success).toBe(false);
  });

  it("check envelope type bytes and minimum lengths", () => {
    const base = { deviceId: crypto.randomUUID(), sessionId: generateToken() };
    expect(AnswerPairingBody.safeParse({ ...base, sealed: pairSealed }).success).toBe(true);
    expect(AnswerPairingBody.safeParse({ ...base, sealed: sessionSealed }).success).toBe(false);
    const id = crypto.randomUUID();
    expect(PostRequestBody.safeParse({ id, sealed: sessionSealed }).success).toBe(true);
    expect(PostRequestBody.safeParse({ id, sealed: toBase64Url(new Uint8Array(40)) }).success).toBe(false);
    expect(PostRequestBody.safeParse({ id: id.toUpperCase(), sealed: sessionSealed }).success).toBe(false);
  });

  it("accept webhook and Web Push targets only over http(s)", () => {
    expect(PushTarget.safeParse({ type: "webhook", url: "https://wallet.example/hook" }).success).toBe(true);
    expect(PushTarget.safeParse({ type: "webhook", url: "file:///etc/passwd" }).success).toBe(false);
    expect(
      PushTarget.safeParse({
        type: "webpush",
        subscription: { endpoint: "https://push.example/x", keys: { p256dh: "a", auth: "b" } },
      }).success,
    ).toBe(true);
  });

  it("accept only serialised origins", () => {
    expect(Origin.safeParse("https://app.uniswap.org").success).toBe(true);
    expect(Origin.safeParse("http://localhost:5173").success).toBe(true);
    expect(Origin.safeParse("https://app.uniswap.org/").success).toBe(false);
    expect(Origin.safeParse("uniswap.org").success).toBe(false);
  });

  it("validate plaintexts", () => {
    expect(ResponsePayload.safeParse({ result: "0x1" }).success).toBe(true);
    expect(ResponsePayload.safeParse({ error: { code: 4001, message: "no" } }).success).toBe(true);
    expect(ResponsePayload.safeParse({ result: 1, error: { code: 1, message: "" } }).success).toBe(false);
    expect(EventPayload.safeParse({ type: "chainChanged", data: "0x1", n: 1 }).success).toBe(true);
    expect(EventPayload.safeParse({ type: "chainChanged", data: "0x1", n: 0 }).success).toBe(false);
    expect(EventPayload.safeParse({ type: "somethingElse", data: 1, n: 1 }).success).toBe(false);
  });
});

describe("JSON messages", () => {
  const key = toBase64Url(new Uint8Array(32).fill(3));
  const address = { key, sessionId: generateToken(), kind: "request" as const, id: crypto.randomUUID() };

  it("round-trip a valid payload", () => {
    const value = { method: "eth_chainId", origin: "https://a.example", chainId: "0x1", expiresAt: 1 };
    const sealed = sealMessage({ ...address, value });
    expect(openMessage({ ...address, sealed, schema: RequestPayload })).toEqual(value);
  });

  it("refuse an authentic message that does not match its schema", () => {
    const sealed = sealMessage({ ...address, value: { method: "eth_chainId", origin: "not an origin" } });
    expect(() => openMessage({ ...address, sealed, schema: RequestPayload })).toThrow(EnvelopeError);
    expect(() => openMessage({ ...address, sealed, schema: RequestPayload })).toThrow(/origin/);
  });
});
