/**
 * Webhook push: `POST <url>` with `{"sessionId": …, "requestId": …}` (docs/PROTOCOL.md §3.3). Any 2xx
 * is delivery. Network errors, timeouts, 408, 429 and 5xx are retried with exponential backoff and
 * jitter ("Exponential Backoff And Jitter", AWS Architecture Blog), and a Retry-After (RFC 9110
 * §10.2.3) is honoured; other 4xx and redirects are final (redirects are not followed: SSRF). Each
 * attempt re-checks the target (ssrf.ts) and connects to exactly the address it checked.
 */
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import type { PushTarget } from "../../protocol/schemas.ts";
import { type DeliverySettings, deliverWithRetries, type Reply, resolveDelivery } from "./deliver.ts";
import { checkTarget, type ResolvedAddress } from "./ssrf.ts";
import type { Push, PushResult } from "./types.ts";

export type WebhookPushOptions = DeliverySettings & {
  /** Replaces the built-in HTTP client (tests); the DNS check still runs, but the connection is not pinned. */
  fetch?: typeof globalThis.fetch;
};

/**
 * One POST over node:http(s), connecting to `address` whatever DNS says now (no rebinding). `headers`
 * replace the JSON defaults (Web Push sends an encrypted octet stream).
 */
export function postPinned(
  url: URL,
  body: string | Uint8Array,
  address: ResolvedAddress,
  signal: AbortSignal,
  headers: Record<string, string | number> = { "content-type": "application/json" },
): Promise<Reply> {
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if (options.all) callback(null, [{ address: address.address, family: address.family }]);
    else callback(null, address.address, address.family);
  };
  const client = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: "POST",
        agent: false,
        lookup: pinned,
        signal,
        headers: {
          ...headers,
          "content-length": typeof body === "string" ? Buffer.byteLength(body) : body.byteLength,
          "user-agent": "balance-bridge-relay",
        },
      },
      (res) => {
        res.resume(); // the body is not needed; drain it so the socket closes cleanly
        const retryAfter = res.headers["retry-after"];
        resolve({ status: res.statusCode ?? 0, retryAfter });
      },
    );
    req.once("error", reject);
    req.end(body);
  });
}

export function createWebhookPush(options: WebhookPushOptions = {}): Push {
  const { policy, retries, timeoutMs, baseDelayMs, maxDelayMs } = resolveDelivery(options);

  async function send(url: URL, body: string, address: ResolvedAddress, outer?: AbortSignal): Promise<Reply> {
    const signal = outer
      ? AbortSignal.any([outer, AbortSignal.timeout(timeoutMs)])
      : AbortSignal.timeout(timeoutMs);
    if (!options.fetch) return postPinned(url, body, address, signal);
    const res = await options.fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      redirect: "manual",
      signal,
    });
    await res.body?.cancel();
    return { status: res.status, retryAfter: res.headers.get("retry-after") ?? undefined };
  }

  return {
    async validate(target: PushTarget) {
      if (target.type !== "webhook") return { ok: false, reason: "web push is not enabled on this relay" };
      let url: URL;
      try {
        url = new URL(target.url);
      } catch {
        return { ok: false, reason: "webhook URL is not a URL" };
      }
      const check = await checkTarget(url, policy);
      return check.ok ? { ok: true } : { ok: false, reason: check.reason };
    },

    async notify(target, message, signal): Promise<PushResult> {
      if (target.type !== "webhook") return { ok: false, attempts: 0, reason: "web push is not enabled" };
      const url = new URL(target.url);
      const body = JSON.stringify({ sessionId: message.sessionId, requestId: message.requestId });
      return deliverWithRetries({
        url,
        policy,
        retries,
        baseDelayMs,
        maxDelayMs,
        peer: "receiver",
        signal,
        send: (address) => send(url, body, address, signal),
      });
    },
  };
}
