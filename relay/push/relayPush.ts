/**
 * The relay's push, one sender per target type: webhooks always; Web Push only when the operator
 * configured VAPID keys (without them a `webpush` target is refused at pairing: 400 push_target_refused).
 */
import type { RelayConfig } from "../config.ts";
import type { Push } from "./types.ts";
import { createWebhookPush } from "./webhook.ts";
import { createWebPushPush } from "./webpush.ts";

/** Routes each target to the sender for its type. */
export function combinePush(senders: { webhook: Push; webpush?: Push | undefined }): Push {
  const pick = (type: string) => (type === "webpush" ? senders.webpush : senders.webhook);
  return {
    async validate(target) {
      const sender = pick(target.type);
      return sender
        ? sender.validate(target)
        : { ok: false, reason: "web push is not enabled on this relay" };
    },
    async notify(target, message, signal) {
      const sender = pick(target.type);
      if (!sender) return { ok: false, attempts: 0, reason: "web push is not enabled", refused: true };
      return sender.notify(target, message, signal);
    },
  };
}

export function createRelayPush(config: RelayConfig): Push {
  const common = {
    allowHosts: config.pushAllowHosts,
    allowPrivate: config.pushAllowPrivate,
    retries: config.pushRetries,
    timeoutMs: config.pushTimeoutMs,
  };
  return combinePush({
    webhook: createWebhookPush(common),
    webpush:
      config.vapidPublicKey && config.vapidPrivateKey
        ? createWebPushPush({
            ...common,
            vapid: {
              publicKey: config.vapidPublicKey,
              privateKey: config.vapidPrivateKey,
              subject: config.vapidSubject,
            },
          })
        : undefined,
  });
}
