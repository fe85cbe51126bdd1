/**
 * Shared helpers for the relay's HTTP tests: a real relay on an ephemeral port (memory store by
 * default, rate limit off, silent logs), plain-fetch calls, and valid-looking opaque values (the relay
 * never opens `sealed`, so random bytes with the right type byte and length will do).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { toBase64Url } from "../../protocol/base64url.ts";
import { defaultConfig, type RelayConfig } from "../../relay/config.ts";
import { type RelayHandle, type StartRelayDeps, startRelay } from "../../relay/server.ts";

export const token = () => toBase64Url(randomBytes(32));
export const sessionId = token;
export const uuid = () => randomUUID();

function envelope(type: number, length: number): string {
  const bytes = randomBytes(length);
  bytes[0] = type;
  return toBase64Url(bytes);
}
/** A session envelope: 0x00 ‖ nonce ‖ ciphertext ‖ tag (≥ 41 bytes). */
export const sealedSession = (length = 64) => envelope(0x00, length);
/** A pairing envelope: 0x01 ‖ E ‖ nonce ‖ ciphertext ‖ tag (≥ 73 bytes). */
export const sealedPair = (length = 120) => envelope(0x01, length);

export type TestRelay = RelayHandle & { config: RelayConfig; api: Api };

export async function startTestRelay(
  overrides: Partial<RelayConfig> = {},
  deps: StartRelayDeps = {},
): Promise<TestRelay> {
  const config = defaultConfig({
    host: "127.0.0.1",
    port: 0,
    store: "memory",
    rateLimit: 0,
    logLevel: "silent",
    ...overrides,
  });
  const relay = await startRelay(config, deps);
  return { ...relay, config, api: createApi(relay.url) };
}

export type Reply = {
  status: number;
  headers: Headers;
  /** Parsed JSON body, or undefined when there is none. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read replies ad hoc and assert their shape with expect
  body: any;
  text: string;
  ms: number;
};

export type Api = ReturnType<typeof createApi>;

export function createApi(base: string) {
  async function call(
    method: string,
    path: string,
    body?: unknown,
    init: { headers?: Record<string, string>; raw?: string | Uint8Array } = {},
  ): Promise<Reply> {
    const started = performance.now();
    const hasBody = body !== undefined || init.raw !== undefined;
    const res = await fetch(new URL(path.replace(/^\//, ""), base.endsWith("/") ? base : `${base}/`), {
      method,
      headers: { ...(hasBody ? { "content-type": "application/json" } : {}), ...init.headers },
      ...(hasBody ? { body: (init.raw ?? JSON.stringify(body)) as BodyInit } : {}),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, text, ms: performance.now() - started };
  }
  return {
    base,
    call,
    get: (path: string, headers?: Record<string, string>) =>
      call("GET", path, undefined, headers ? { headers } : {}),
    post: (path: string, body: unknown) => call("POST", path, body),
    put: (path: string, body: unknown) => call("PUT", path, body),
    del: (path: string) => call("DELETE", path),

    /** Registers and answers a pairing: the session exists afterwards. */
    async pair(options: { push?: unknown } = {}) {
      const t = token();
      const sid = sessionId();
      const deviceId = uuid();
      const sealed = sealedPair();
      const created = await call("POST", "/v1/pairings", { token: t, ttl: 60 });
      if (created.status !== 201) throw new Error(`pairing: ${created.status} ${created.text}`);
      const answered = await call("PUT", `/v1/pairings/${t}`, {
        deviceId,
        sessionId: sid,
        sealed,
        ...(options.push ? { push: options.push } : {}),
      });
      if (answered.status !== 201) throw new Error(`answer: ${answered.status} ${answered.text}`);
      return { token: t, sessionId: sid, deviceId, sealed };
    },
  };
}

/** Expects the relay's error shape with `code` and `status`. */
export function errorOf(reply: Reply): { status: number; code: string; message: string } {
  return { status: reply.status, code: reply.body?.error?.code, message: reply.body?.error?.message };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A settable clock for the relay's store. */
export function fakeClock(start = Date.now()) {
  let t = start;
  return {
    now: () => t,
    advance(seconds: number) {
      t += seconds * 1000;
    },
  };
}
