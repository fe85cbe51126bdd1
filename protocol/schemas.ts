/**
 * Runtime validation (zod) of every message that crosses a trust boundary: HTTP bodies between the
 * parties and the relay, and the plaintexts inside envelopes. Types are inferred from the schemas so
 * the wire and the code cannot drift apart.
 */
import { z } from "zod";
import { tryFromBase64Url } from "./base64url.ts";
import {
  ENVELOPE_PAIR,
  ENVELOPE_SESSION,
  MIN_PAIR_ENVELOPE,
  MIN_SESSION_ENVELOPE,
  PAIRING_TTL,
  REQUEST_TTL,
  TOKEN_BYTES,
} from "./constants.ts";

const b64 = (bytes: number, what: string) =>
  z.string().refine((s) => s.length === Math.ceil((bytes * 4) / 3) && tryFromBase64Url(s)?.length === bytes, {
    message: `must be ${what}: ${bytes} bytes as unpadded base64url`,
  });

export const Token = b64(TOKEN_BYTES, "a pairing token");
export const SessionId = b64(32, "a session id");
export const PublicKey = b64(32, "an X25519 public key");

/** UUID v4 in canonical lower-case form (RFC 9562 §5.4). */
export const UuidV4 = z
  .string()
  .regex(
    /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    "must be a lower-case UUID v4",
  );

const sealed = (type: number, min: number, what: string) =>
  z.string().refine(
    (s) => {
      const bytes = tryFromBase64Url(s);
      return bytes !== undefined && bytes.length >= min && bytes[0] === type;
    },
    { message: `must be a ${what} envelope (base64url, type byte 0x0${type}, at least ${min} bytes)` },
  );
export const SealedPair = sealed(ENVELOPE_PAIR, MIN_PAIR_ENVELOPE, "pairing");
export const SealedSession = sealed(ENVELOPE_SESSION, MIN_SESSION_ENVELOPE, "session");

export const UnixSeconds = z.number().int().nonnegative();
export const HexQuantity = z
  .string()
  .regex(/^0x(0|[1-9a-f][0-9a-f]*)$/i, "must be a 0x-prefixed hex quantity");
export const ChainId = HexQuantity;
export const Address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "must be a 20-byte 0x address");

// ── Push targets: the only plaintext the relay needs ────────────────────────────────────────────
export const WebhookPush = z
  .object({ type: z.literal("webhook"), url: z.url({ protocol: /^https?$/ }) })
  .strict();
export const WebPushSubscription = z
  .object({
    endpoint: z.url({ protocol: /^https?$/ }),
    expirationTime: z.number().nullable().optional(),
    keys: z.object({ p256dh: z.string().min(1), auth: z.string().min(1) }),
  })
  .strict();
export const WebPushPush = z
  .object({ type: z.literal("webpush"), subscription: WebPushSubscription })
  .strict();
export const PushTarget = z.discriminatedUnion("type", [WebhookPush, WebPushPush]);
export type PushTarget = z.infer<typeof PushTarget>;

// ── HTTP bodies (requests to the relay) ─────────────────────────────────────────────────────────
export const CreatePairingBody = z
  .object({ token: Token, ttl: z.number().int().min(PAIRING_TTL.min).max(PAIRING_TTL.max).optional() })
  .strict();
export const AnswerPairingBody = z
  .object({ deviceId: UuidV4, sessionId: SessionId, sealed: SealedPair, push: PushTarget.optional() })
  .strict();
export const PostRequestBody = z
  .object({
    id: UuidV4,
    sealed: SealedSession,
    ttl: z.number().int().min(REQUEST_TTL.min).max(REQUEST_TTL.max).optional(),
  })
  .strict();
/**
 * `outcome` is optional plaintext metadata for the operator's statistics (approved, rejected, failed):
 * the relay counts it and nothing else; a wallet that prefers not to tell leaves it out.
 */
export const ResponseOutcome = z.enum(["approved", "rejected", "failed"]);
export type ResponseOutcome = z.infer<typeof ResponseOutcome>;
export const PutResponseBody = z
  .object({ sealed: SealedSession, outcome: ResponseOutcome.optional() })
  .strict();
export const PostEventBody = z.object({ id: UuidV4, sealed: SealedSession }).strict();

// ── HTTP bodies (answers from the relay) ────────────────────────────────────────────────────────
export const CreatePairingResult = z.object({ expiresAt: UnixSeconds });
export const PairingAnswer = z.object({ deviceId: UuidV4, sessionId: SessionId, sealed: SealedPair });
export const PostRequestResult = z.object({ expiresAt: UnixSeconds });
export const StoredRequest = z.object({ id: UuidV4, sealed: SealedSession, expiresAt: UnixSeconds });
export const PendingRequests = z.object({ requests: z.array(StoredRequest) });
export const ResponseAnswer = z.object({ sealed: SealedSession });
export const PostEventResult = z.object({ seq: z.number().int().positive() });
export const EventsPage = z.object({
  events: z.array(z.object({ seq: z.number().int().positive(), id: UuidV4, sealed: SealedSession })),
  next: z.number().int().nonnegative(),
});
export const RelayErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

// ── Plaintexts inside envelopes ─────────────────────────────────────────────────────────────────
export const ChainInfo = z.object({ chainId: ChainId, rpcUrl: z.url({ protocol: /^https?$/ }).optional() });
export const WalletInfo = z.object({
  name: z.string().min(1).max(100),
  icon: z.string().max(100_000).optional(),
});
/** What the wallet seals to the dapp's pairing key (docs/PROTOCOL.md §2.4). */
export const PairingPayload = z.object({
  walletKey: PublicKey,
  accounts: z.array(Address).min(1),
  chainId: ChainId,
  chains: z.array(ChainInfo).optional(),
  wallet: WalletInfo,
});
export type PairingPayload = z.infer<typeof PairingPayload>;

/** Origin as the browser reports it (scheme://host[:port]); never taken from the page. */
export const Origin = z
  .string()
  .max(2048)
  .refine((s) => {
    try {
      return new URL(s).origin === s;
    } catch {
      return false;
    }
  }, "must be a serialised origin");

export const RequestPayload = z.object({
  method: z.string().min(1).max(200),
  params: z.unknown().optional(),
  origin: Origin,
  chainId: ChainId,
  expiresAt: UnixSeconds,
});
export type RequestPayload = z.infer<typeof RequestPayload>;

export const ErrorPayload = z.object({
  code: z.number().int(),
  message: z.string(),
  data: z.unknown().optional(),
});
export const ResponsePayload = z.union([
  z.object({ result: z.unknown() }).strict(),
  z.object({ error: ErrorPayload }).strict(),
]);
export type ResponsePayload =
  | { result: unknown }
  | { error: { code: number; message: string; data?: unknown } };

export const EVENT_TYPES = ["accountsChanged", "chainChanged", "disconnect"] as const;
export const EventPayload = z.discriminatedUnion("type", [
  z.object({ type: z.literal("accountsChanged"), data: z.array(Address), n: z.number().int().positive() }),
  z.object({ type: z.literal("chainChanged"), data: ChainId, n: z.number().int().positive() }),
  z.object({
    type: z.literal("disconnect"),
    data: z.object({ reason: z.string().max(500).optional() }).optional(),
    n: z.number().int().positive(),
  }),
]);
export type EventPayload = z.infer<typeof EventPayload>;

/** Turns a zod failure into one sentence naming the field, for 400s and thrown errors. */
export function describeIssues(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  if (!issue) return { field: "body", message: "invalid" };
  const field = issue.path.length ? issue.path.join(".") : "body";
  return { field, message: `${field}: ${issue.message}` };
}
