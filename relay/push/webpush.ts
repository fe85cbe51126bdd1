/**
 * Web Push: the wallet registers a W3C Push API subscription at pairing, and the relay delivers the same
 * JSON as a webhook (`{"sessionId": …, "requestId": …}`) through the browser's push service:
 *
 * - RFC 8030 (Generic Event Delivery Using HTTP Push): `POST <endpoint>` with `TTL` (§5.2) and
 *   `Urgency` (§5.3); `201 Created` is acceptance. A subscription the push service no longer knows is
 *   `404` (§7.3; many services answer `410 Gone`): the relay drops it from the session and the wallet
 *   pulls. `429` and `5xx` are retried with backoff, honouring `Retry-After` (RFC 9110 §10.2.3).
 * - RFC 8291 (Message Encryption for Web Push): the payload is encrypted to the subscription's `p256dh`
 *   key and `auth` secret, content coding `aes128gcm` (RFC 8188), so the push service cannot read it.
 * - RFC 8292 (VAPID): every request carries `Authorization: vapid t=<ES256 JWT>, k=<public key>`, the
 *   JWT's `aud` being the endpoint's origin, so a push service can tie the sender to the operator.
 *
 * The `web-push` library does the encryption and the JWT; the request itself goes through the same SSRF
 * guard as webhooks (`ssrf.ts`: checked at pairing and before every attempt, connection pinned to the
 * checked address), because the wallet chooses the endpoint URL just as it chooses a webhook URL.
 */
import { createECDH } from "node:crypto";
import webpush from "web-push";
import type { PushTarget } from "../../protocol/schemas.ts";
import { type DeliverySettings, deliverWithRetries, resolveDelivery } from "./deliver.ts";
import { checkTarget } from "./ssrf.ts";
import type { Push, PushResult, PushValidation } from "./types.ts";
import { postPinned } from "./webhook.ts";

export type VapidKeys = {
  /** P-256 public key, uncompressed point (65 bytes), base64url: what browsers take as applicationServerKey. */
  publicKey: string;
  /** P-256 private scalar (32 bytes), base64url. */
  privateKey: string;
  /** `sub` claim (RFC 8292 §2.1): a mailto: or https: contact for the push service. */
  subject: string;
};

export type WebPushOptions = DeliverySettings & {
  vapid: VapidKeys;
  /** TTL (seconds) when the message does not say when the request expires. Default 300. */
  defaultTtl?: number;
  /** Clock in ms (tests). */
  now?: () => number;
};

/** A fresh VAPID key pair (what `balance-bridge-relay keys` prints). */
export function generateVapidKeys(): { publicKey: string; privateKey: string } {
  const keys = webpush.generateVAPIDKeys();
  return { publicKey: keys.publicKey, privateKey: keys.privateKey };
}

type Subscription = Extract<PushTarget, { type: "webpush" }>["subscription"];

const decode = (text: string): Buffer | undefined =>
  /^[A-Za-z0-9_-]+={0,2}$/.test(text) ? Buffer.from(text, "base64url") : undefined;

/** RFC 8291 §3.2: `p256dh` is an uncompressed P-256 point (65 bytes) on the curve; `auth` is 16 bytes. */
function checkKeys(subscription: Subscription): string | undefined {
  const p256dh = decode(subscription.keys.p256dh);
  const auth = decode(subscription.keys.auth);
  if (p256dh?.length !== 65 || p256dh[0] !== 0x04) {
    return "web push subscription keys.p256dh must be an uncompressed P-256 public key (65 bytes, base64url)";
  }
  try {
    // Throws for a point that is not on the curve: nothing could ever be encrypted to it.
    const probe = createECDH("prime256v1");
    probe.generateKeys();
    probe.computeSecret(p256dh);
  } catch {
    return "web push subscription keys.p256dh is not a point on P-256";
  }
  if (auth?.length !== 16) return "web push subscription keys.auth must be 16 bytes (base64url)";
  return undefined;
}

export function createWebPushPush(options: WebPushOptions): Push {
  const { policy, retries, timeoutMs, baseDelayMs, maxDelayMs } = resolveDelivery(options);
  const defaultTtl = options.defaultTtl ?? 300;
  const now = options.now ?? Date.now;
  const vapidDetails = { ...options.vapid };
  const allowListed = (url: URL) =>
    policy.allowPrivate ||
    policy.allowHosts.some(
      (h) =>
        h.toLowerCase().replace(/^\[(.*)\]$/, "$1") ===
        url.hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1"),
    );

  function endpointOf(subscription: Subscription): URL | string {
    let url: URL;
    try {
      url = new URL(subscription.endpoint);
    } catch {
      return "web push endpoint is not a URL";
    }
    // Push services speak HTTPS (RFC 8030 §8); plain http only to a host the operator allow-listed.
    if (url.protocol !== "https:" && !(url.protocol === "http:" && allowListed(url))) {
      return "web push endpoint must be https";
    }
    return url;
  }
  const expired = (s: Subscription) => typeof s.expirationTime === "number" && s.expirationTime <= now();

  return {
    async validate(target: PushTarget): Promise<PushValidation> {
      if (target.type !== "webpush") return { ok: false, reason: "not a web push target" };
      const { subscription } = target;
      const url = endpointOf(subscription);
      if (typeof url === "string") return { ok: false, reason: url };
      const bad = checkKeys(subscription);
      if (bad) return { ok: false, reason: bad };
      if (expired(subscription)) return { ok: false, reason: "web push subscription has expired" };
      const check = await checkTarget(url, policy);
      return check.ok ? { ok: true } : { ok: false, reason: check.reason.replace(/^webhook/, "web push") };
    },

    async notify(target, message, signal): Promise<PushResult> {
      if (target.type !== "webpush") return { ok: false, attempts: 0, reason: "not a web push target" };
      const { subscription } = target;
      if (expired(subscription)) {
        return { ok: false, attempts: 0, reason: "subscription expired", gone: true };
      }
      const url = endpointOf(subscription);
      if (typeof url === "string") return { ok: false, attempts: 0, reason: url, refused: true };
      const payload = JSON.stringify({ sessionId: message.sessionId, requestId: message.requestId });
      const ttl =
        message.expiresAt === undefined
          ? defaultTtl
          : Math.max(0, Math.floor(message.expiresAt - now() / 1000));
      let details: ReturnType<typeof webpush.generateRequestDetails>;
      try {
        // Encrypted once (fresh salt and sender key, RFC 8291 §3.4); every retry sends the same bytes.
        const { endpoint, keys } = subscription;
        details = webpush.generateRequestDetails({ endpoint, keys }, payload, {
          vapidDetails,
          contentEncoding: "aes128gcm",
          TTL: ttl,
          // A person is waiting for this prompt (RFC 8030 §5.3).
          urgency: "high",
        });
      } catch (error) {
        return {
          ok: false,
          attempts: 0,
          reason: `cannot encrypt for this subscription: ${error instanceof Error ? error.message : error}`,
        };
      }
      const headers: Record<string, string | number> = {};
      for (const [name, value] of Object.entries(details.headers)) {
        if (name.toLowerCase() !== "content-length" && value !== undefined) headers[name] = value as string;
      }
      const body = details.body ?? Buffer.alloc(0);

      return deliverWithRetries({
        url,
        policy,
        retries,
        baseDelayMs,
        maxDelayMs,
        peer: "push service",
        goneStatuses: [404, 410],
        refusal: (reason) => reason.replace(/^webhook/, "web push"),
        signal,
        send(address) {
          const timeout = AbortSignal.timeout(timeoutMs);
          return postPinned(
            url,
            body,
            address,
            signal ? AbortSignal.any([signal, timeout]) : timeout,
            headers,
          );
        },
      });
    },
  };
}
