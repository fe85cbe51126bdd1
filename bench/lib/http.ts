/**
 * A lean keep-alive HTTP client for the latency benchmarks: node:http with an `Agent({keepAlive})`, so
 * connections are reused and every figure measures the relay, not TCP handshakes. Each call resolves
 * once the whole body has arrived; `performance.now()` brackets it on the caller's side.
 */

import { randomBytes, randomUUID } from "node:crypto";
import { Agent, request as httpRequest } from "node:http";

export type Reply = { status: number; body: string; headers: Record<string, string | string[] | undefined> };

export type Client = {
  request(method: string, path: string, body?: unknown, o?: { signal?: AbortSignal }): Promise<Reply>;
  /** Sends the request and resolves once it has been written to the socket, with the reply to come. */
  start(
    method: string,
    path: string,
    body?: unknown,
    o?: { signal?: AbortSignal },
  ): Promise<{ reply: Promise<Reply> }>;
  close(): void;
};

export function createClient(baseUrl: string, o: { maxSockets?: number } = {}): Client {
  const base = new URL(baseUrl);
  const agent = new Agent({
    keepAlive: true,
    maxSockets: o.maxSockets ?? Number.POSITIVE_INFINITY,
    scheduling: "lifo",
  });
  const port = Number(base.port);
  const hostname = base.hostname;

  function start(method: string, path: string, body?: unknown, opts: { signal?: AbortSignal } = {}) {
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    return new Promise<{ reply: Promise<Reply> }>((written, failed) => {
      let settle: { resolve(r: Reply): void; reject(e: unknown): void } | undefined;
      const reply = new Promise<Reply>((resolve, reject) => {
        settle = { resolve, reject };
      });
      // Unhandled until the caller awaits it; never let a late failure crash the process.
      reply.catch(() => undefined);
      const req = httpRequest(
        {
          agent,
          hostname,
          port,
          method,
          path,
          headers:
            payload === undefined
              ? {}
              : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
          ...(opts.signal ? { signal: opts.signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            settle?.resolve({
              status: res.statusCode ?? 0,
              body: chunks.length ? Buffer.concat(chunks).toString("utf8") : "",
              headers: res.headers,
            }),
          );
          res.on("error", (e) => settle?.reject(e));
        },
      );
      req.on("error", (e) => {
        settle?.reject(e);
        failed(e);
      });
      req.on("finish", () => written({ reply }));
      req.end(payload);
    });
  }

  return {
    start,
    async request(method, path, body, opts = {}) {
      const { reply } = await start(method, path, body, opts);
      return reply;
    },
    close: () => agent.destroy(),
  };
}

/** Throws unless the reply has one of the expected statuses (a benchmark of errors measures nothing). */
export function expectStatus(reply: Reply, ...statuses: number[]): Reply {
  if (!statuses.includes(reply.status)) {
    throw new Error(
      `unexpected HTTP ${reply.status} (expected ${statuses.join("/")}): ${reply.body.slice(0, 300)}`,
    );
  }
  return reply;
}

// Well-formed opaque values: the relay is blind, so random bytes with the right type byte and length
// pass its structure checks exactly like real envelopes (as tests/relay/helpers.ts does).
export const token = (): string => randomBytes(32).toString("base64url");
export const sessionId = token;
export const uuid = (): string => randomUUID();
function envelope(type: number, length: number): string {
  const bytes = randomBytes(length);
  bytes[0] = type;
  return bytes.toString("base64url");
}
/** A session envelope (0x00 ‖ nonce ‖ ciphertext ‖ tag), about the size of a sealed eth_sendTransaction. */
export const sealedSession = (length = 400): string => envelope(0x00, length);
/** A pairing envelope (0x01 ‖ E ‖ nonce ‖ ciphertext ‖ tag), about the size of a real pairing answer. */
export const sealedPair = (length = 360): string => envelope(0x01, length);
