/**
 * The relay's push, one sender per target type: webhooks always; Web Push only when the operator
 * configured VAPID keys (without them a `webpush` target is refused at pairing: 400 push_target_refused,
 * and the `web-push` package is never loaded).
 */
import type { RelayConfig } from "../config.ts";
import type { Push } from "./types.ts";
import { createWebhookPush } from "./webhook.ts";

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

/** The configured senders. Async: `web-push` (≈ 3 MB of RSS) is imported only when VAPID keys are set. */
export async function createRelayPush(config: RelayConfig): Promise<Push> {
  const common = {
    allowHosts: config.pushAllowHosts,
    allowPrivate: config.pushAllowPrivate,
    retries: config.pushRetries,
    timeoutMs: config.pushTimeoutMs,
  };
  let webpush: Push | undefined;
  if (config.vapidPublicKey && config.vapidPrivateKey) {
    const { createWebPushPush } = await import("./webpush.ts");
    webpush = createWebPushPush({
      ...common,
      vapid: {
        publicKey: config.vapidPublicKey,
        privateKey: config.vapidPrivateKey,
        subject: config.vapidSubject,
      },
    });
  }
  return combinePush({ webhook: createWebhookPush(common), webpush });
}
