/** Wire constants of protocol version 1 (docs/PROTOCOL.md). */

export const PROTOCOL_VERSION = 1;
export const URI_SCHEME = "balancebridge";

/** Bounds in seconds. A value outside its bounds is a 400 naming the field, never clamped. */
export const PAIRING_TTL = { default: 300, min: 1, max: 600 } as const;
export const REQUEST_TTL = { default: 300, min: 1, max: 3600 } as const;
/** Long-poll `wait`: MV3 stops a service worker idle for 30 s, so no poll may outlast that. */
export const WAIT = { default: 25, min: 0, max: 30 } as const;

/** Envelope type bytes (first byte of every `sealed` value). */
export const ENVELOPE_SESSION = 0x00;
export const ENVELOPE_PAIR = 0x01;

export const TOKEN_BYTES = 32;
export const KEY_BYTES = 32;
export const NONCE_BYTES = 24;
export const TAG_BYTES = 16;
/** Smallest valid envelopes: type ‖ nonce ‖ tag, and type ‖ E ‖ nonce ‖ tag. */
export const MIN_SESSION_ENVELOPE = 1 + NONCE_BYTES + TAG_BYTES;
export const MIN_PAIR_ENVELOPE = 1 + KEY_BYTES + NONCE_BYTES + TAG_BYTES;

/** Header carrying a request's delivery status on a 204 from the response long-poll. */
export const REQUEST_STATUS_HEADER = "Request-Status";
export const REQUEST_STATUSES = ["queued", "notified", "fetched"] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];
