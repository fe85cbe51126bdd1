/**
 * How the relay tells a wallet that a request is waiting (docs/PROTOCOL.md §3.3). The message carries
 * no payload, only where to fetch it; a push that fails never loses the request, because the wallet's
 * pull path (`GET …/requests?wait=`) still returns it. Webhooks (`webhook.ts`) and Web Push
 * (RFC 8030/8291/8292, `webpush.ts`) sit behind this interface; `relayPush.ts` picks one per target.
 */
import type { PushTarget } from "../../protocol/schemas.ts";

export type PushMessage = {
  sessionId: string;
  requestId: string;
  /** Unix seconds the request expires: a push service need not keep the message longer (RFC 8030 §5.2 TTL). */
  expiresAt?: number;
};

export type PushValidation = { ok: true } | { ok: false; reason: string };

export type PushResult =
  | { ok: true; attempts: number }
  | {
      ok: false;
      attempts: number;
      reason: string;
      /** The push service says the subscription no longer exists (404/410): drop it from the session. */
      gone?: boolean;
      /** Refused before sending (the SSRF check at send time). */
      refused?: boolean;
    };

export interface Push {
  /** At pairing time: may the relay ever send to this target? (400 push_target_refused if not.) */
  validate(target: PushTarget): Promise<PushValidation>;
  /** Delivers with retries; resolves (never rejects) with the outcome. `signal` aborts (shutdown). */
  notify(target: PushTarget, message: PushMessage, signal?: AbortSignal): Promise<PushResult>;
}
