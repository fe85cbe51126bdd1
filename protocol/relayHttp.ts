/**
 * The HTTP layer both clients share: JSON in and out, every relay error turned into a RelayError with
 * its stable code, and long-polls bounded on the client side too (a relay that went away mid-poll
 * must not hang the caller). Only `fetch`, `AbortSignal` and `URL`: it runs unchanged in an MV3
 * service worker, a page, Node and the wallet.
 */
import type { z } from "zod";
import { RelayError } from "./errors.ts";
import { RelayErrorBody } from "./schemas.ts";

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export type RelayCall = {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  signal?: AbortSignal | undefined;
  /** Seconds the relay may hold the call (long-poll); the client waits that plus a margin. */
  wait?: number | undefined;
};

export type RelayReply = { status: number; headers: Headers; body: unknown };

/** Client-side margin over `wait` before a long-poll is given up as lost. */
const LONG_POLL_MARGIN_MS = 10_000;
const PLAIN_TIMEOUT_MS = 15_000;

export function createRelayHttp(options: { relayUrl: string; fetch?: FetchLike | undefined }) {
  const base = options.relayUrl.replace(/\/+$/, "");
  const doFetch: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  async function call(c: RelayCall): Promise<RelayReply> {
    const url = new URL(base + c.path);
    for (const [k, v] of Object.entries(c.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const timeout = AbortSignal.timeout(
      (c.wait ?? 0) * 1000 + (c.wait ? LONG_POLL_MARGIN_MS : PLAIN_TIMEOUT_MS),
    );
    const signal = c.signal ? AbortSignal.any([c.signal, timeout]) : timeout;
    const init: RequestInit = { method: c.method, signal };
    if (c.body !== undefined) {
      init.headers = { "content-type": "application/json" };
      init.body = JSON.stringify(c.body);
    }
    let res: Response;
    try {
      res = await doFetch(url.href, init);
    } catch (error) {
      if (c.signal?.aborted) throw c.signal.reason ?? error;
      const why = timeout.aborted ? "timed out" : error instanceof Error ? error.message : String(error);
      throw new RelayError("network_error", `relay ${base} unreachable: ${why}`, { status: 0 });
    }
    const text = res.status === 204 ? "" : await res.text().catch(() => "");
    let body: unknown;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    if (res.status >= 400) {
      const parsed = RelayErrorBody.safeParse(body);
      const retryAfter = Number(res.headers.get("retry-after"));
      throw new RelayError(
        parsed.success ? parsed.data.error.code : `http_${res.status}`,
        parsed.success ? parsed.data.error.message : `relay answered ${res.status}`,
        { status: res.status, ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfter } : {}) },
      );
    }
    return { status: res.status, headers: res.headers, body };
  }

  /** Validates a 2xx body against its schema; a relay that answers nonsense is an error, not data. */
  function expectBody<S extends z.ZodType>(reply: RelayReply, schema: S): z.infer<S> {
    const parsed = schema.safeParse(reply.body);
    if (!parsed.success) {
      throw new RelayError("bad_reply", `relay answered ${reply.status} with an unexpected body`, {
        status: reply.status,
      });
    }
    return parsed.data;
  }

  return { relayUrl: base, call, expectBody };
}

export type RelayHttp = ReturnType<typeof createRelayHttp>;

export const enc = encodeURIComponent;

/** Waits `ms`, or rejects at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** True for failures worth retrying (network, 429, 503); false for answers that will not change. */
export function isTransient(error: unknown): error is RelayError {
  return error instanceof RelayError && (error.status === 0 || error.status === 429 || error.status >= 500);
}

/** Backoff before retry `attempt` (0-based): Retry-After when given, else 0.5 s doubling to 8 s, with jitter. */
export function retryDelay(error: RelayError, attempt: number): number {
  if (error.retryAfter) return error.retryAfter * 1000;
  return Math.min(8000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
}

/** Runs `fn`, retrying transient relay failures (network, 429, 503) with backoff until `signal` aborts. */
export async function retrying<T>(
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
  maxAttempts = 20,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isTransient(error) || signal?.aborted || attempt + 1 >= maxAttempts) throw error;
      await sleep(retryDelay(error, attempt), signal);
    }
  }
}
