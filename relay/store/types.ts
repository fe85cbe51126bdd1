/**
 * The relay's storage contract. Every route talks to storage only through this interface, so a store
 * for several relay instances (Redis: Lua scripts for the atomic methods, pub/sub for `watch`) can
 * replace the embedded ones without touching the HTTP layer. `relay/store/contract.ts` is the test
 * suite every implementation must pass unchanged.
 *
 * Rules for implementations:
 * - Async everywhere; each method is ONE atomic step (no read-modify-write across calls in routes) and
 *   answers with an outcome union: `{ok: true, …}` or `{ok: false, error: <relay error code>}`.
 * - A write resolves only once it is durably committed (the route then acknowledges it with a 2xx).
 * - Any failure of the backend itself rejects with `StoreUnavailableError` (→ 503), never with a
 *   partial write.
 * - Expired entries stay as tombstones for `tombstoneGrace` seconds after expiry (so callers get 410,
 *   not 404), then `sweep()` forgets them.
 * - Times on the interface are unix seconds (like the wire); the clock is injectable for tests.
 */
import type { RelayErrorCode } from "../../protocol/errors.ts";
import type { PushTarget } from "../../protocol/schemas.ts";

/** Milliseconds since the epoch, like `Date.now`. */
export type Clock = () => number;

export type Fail<C extends RelayErrorCode> = { ok: false; error: C };

export type PairingAnswer = { deviceId: string; sessionId: string; sealed: string };
export type StoredRequest = { id: string; sealed: string; expiresAt: number };
export type StoredEvent = { seq: number; id: string; sealed: string };
/** Delivery receipt of a request that has no response yet (docs/PROTOCOL.md §3.6). */
export type DeliveryStatus = "queued" | "notified" | "fetched";

export type CreatePairingOutcome = { ok: true; expiresAt: number } | Fail<"pairing_exists">;
export type AnswerPairingOutcome =
  /** `createdAt`: unix seconds (fractional) the pairing was created; on a first answer only (statistics). */
  | { ok: true; repeated: boolean; createdAt?: number }
  | Fail<"pairing_not_found" | "pairing_expired" | "pairing_answered" | "session_exists">;
export type ReadPairingOutcome =
  | { ok: true; expiresAt: number; answer?: PairingAnswer }
  | Fail<"pairing_not_found" | "pairing_expired">;
/** `answered`: an answer was acknowledged (true) or an unanswered pairing cancelled (false; statistics). */
export type AckPairingOutcome =
  | { ok: true; answered: boolean }
  | Fail<"pairing_not_found" | "pairing_expired">;

export type DeleteSessionOutcome = { ok: true } | Fail<"session_not_found">;

export type PostRequestOutcome =
  | { ok: true; created: boolean; expiresAt: number; push?: PushTarget }
  | Fail<"session_not_found" | "request_conflict" | "request_expired" | "too_many_pending">;
export type FetchRequestOutcome =
  | { ok: true; request: StoredRequest }
  | Fail<"session_not_found" | "request_not_found" | "request_expired" | "request_cancelled">;
export type FetchPendingOutcome =
  /** `fresh`: how many of `requests` had not been fetched before this call (the pull long-poll waits for one). */
  { ok: true; requests: StoredRequest[]; fresh: number } | Fail<"session_not_found">;
export type PutResponseOutcome =
  /** `postedAt`: unix seconds (fractional) the request was posted; on a first response only (statistics). */
  | { ok: true; repeated: boolean; postedAt?: number }
  | Fail<
      "session_not_found" | "request_not_found" | "request_expired" | "request_cancelled" | "request_answered"
    >;
export type ReadResponseOutcome =
  | { ok: true; sealed: string }
  | { ok: true; sealed?: undefined; status: DeliveryStatus }
  | Fail<"session_not_found" | "request_not_found" | "request_expired" | "request_cancelled">;
export type DeleteRequestOutcome =
  | { ok: true; action: "acknowledged" | "cancelled" }
  | Fail<"session_not_found" | "request_not_found" | "request_expired">;

export type PostEventOutcome =
  | { ok: true; created: boolean; seq: number }
  | Fail<"session_not_found" | "event_conflict">;
export type ReadEventsOutcome = { ok: true; events: StoredEvent[] } | Fail<"session_not_found">;

export type Unwatch = () => void;

/**
 * What a committed write tells the watchers of one key it touched, when it knows what their read
 * would now return: a long-poll woken with it answers without reading again (on Redis, a round trip
 * less). Wake-ups without it (other writes, other instances' through pub/sub) mean "read again".
 */
export type WakeState =
  /** On `watchKeys.pairing(token)` after the wallet's answer: what `readPairing(token)` returns. */
  | { kind: "pairing"; outcome: ReadPairingOutcome }
  /** On `watchKeys.request(sid, id)` after the response: what `readResponse(sid, id)` returns. */
  | { kind: "response"; outcome: ReadResponseOutcome };
export type WatchListener = (state?: WakeState) => void;

/**
 * Operator lockdown (docs/OPERATING.md "Lockdown"), shared by every instance: no new pairings at all,
 * and/or device ids whose pairings and sessions are refused (403).
 */
export type Lockdown = { pairingsLocked: boolean; blockedDevices: string[] };

/**
 * How a pairing or a request ended, for the expiry statistics: `answered` (a wallet answer / a response
 * landed), `cancelled` (DELETE before any answer), `expired` (its ttl passed with neither), `pending`
 * (none of these yet), `unknown` (never known, forgotten after the grace, or its session is gone).
 */
export type Fate = "pending" | "answered" | "cancelled" | "expired" | "unknown";

/**
 * A day's statistics: named counters, added to by every instance (`recordStats`). Counter names are
 * chosen by the relay (`relay/telemetry.ts`); a store only adds and reads numbers.
 */
export type DayStats = Record<string, number>;

export interface Store {
  /** "memory", "lmdb", …: reported by /healthz. */
  readonly kind: string;

  // ── Pairings (docs/PROTOCOL.md §2) ──────────────────────────────────────────────────────────
  /** Registers an empty pairing for `ttl` seconds. A token still remembered (even expired) → pairing_exists. */
  createPairing(token: string, ttl: number): Promise<CreatePairingOutcome>;
  /**
   * Stores the wallet's answer AND creates the session `{sessionId, deviceId, push}` in one step.
   * The identical answer again is `{ok: true, repeated: true}` (a retried PUT), a different one
   * pairing_answered. Notifies `watchKeys.pairing(token)`.
   */
  answerPairing(token: string, answer: PairingAnswer, push?: PushTarget): Promise<AnswerPairingOutcome>;
  /** The pairing's state; `answer` is present once the wallet answered. Acknowledged → pairing_not_found. */
  readPairing(token: string): Promise<ReadPairingOutcome>;
  /**
   * The extension's acknowledgement: forgets the answer (the token stays reserved until purged). On an
   * unanswered pairing it cancels it; `answered` says which it was.
   */
  ackPairing(token: string): Promise<AckPairingOutcome>;

  // ── Sessions (§4) ───────────────────────────────────────────────────────────────────────────
  /** Drops the session, its push target, requests, responses and events. Notifies `watchKeys.session`. */
  deleteSession(sessionId: string): Promise<DeleteSessionOutcome>;

  // ── Requests (§3) ───────────────────────────────────────────────────────────────────────────
  /**
   * Stores a request for `ttl` seconds (status `queued`). The same `{id, sealed}` again →
   * `created: false` (idempotent); another `sealed` under that id → request_conflict. More than
   * `maxPendingPerSession` unanswered, uncancelled, unexpired requests → too_many_pending.
   * Returns the session's push target so the caller can notify the wallet. Notifies `watchKeys.requests`.
   */
  postRequest(
    sessionId: string,
    request: { id: string; sealed: string; ttl: number },
  ): Promise<PostRequestOutcome>;
  /** The wallet reads one request; a queued/notified one becomes `fetched`. */
  fetchRequest(sessionId: string, id: string): Promise<FetchRequestOutcome>;
  /**
   * Every pending request (unanswered, not cancelled, unexpired), oldest first, each marked `fetched`;
   * `fresh` counts those that were not fetched before.
   */
  fetchPending(sessionId: string): Promise<FetchPendingOutcome>;
  /** Push delivered: `queued` → `notified` (never downgrades `fetched`). False when nothing changed. */
  markNotified(sessionId: string, id: string): Promise<boolean>;
  /** First response wins; the identical response again is `repeated`. Notifies `watchKeys.request`. */
  putResponse(sessionId: string, id: string, sealed: string): Promise<PutResponseOutcome>;
  /** The response if one landed (even if the request has since expired), else the delivery status. */
  readResponse(sessionId: string, id: string): Promise<ReadResponseOutcome>;
  /**
   * After a response: acknowledge (forget request and response). Before: cancel (the wallet then gets
   * request_cancelled until the original expiry). Cancelling twice is fine. Notifies `watchKeys.request`.
   */
  deleteRequest(sessionId: string, id: string): Promise<DeleteRequestOutcome>;

  // ── Events (§4) ─────────────────────────────────────────────────────────────────────────────
  /** Appends an event with the next `seq` (from 1). Same id + sealed → `created: false`. Notifies `watchKeys.events`. */
  postEvent(sessionId: string, event: { id: string; sealed: string }): Promise<PostEventOutcome>;
  /** Retained events with `seq > after`, ascending, at most `limit`. */
  readEvents(sessionId: string, after: number, limit: number): Promise<ReadEventsOutcome>;

  // ── Operator tools (shared by every instance) ────────────────────────────────────────────────
  /**
   * Removes the session's push target if it is still `target` (compared by value): the push service
   * said the subscription is gone (404, RFC 8030 §7.3; or 410, which push services use too). Later
   * requests are not pushed (the wallet pulls). False when there was no live session or its target
   * differs (e.g. none any more).
   */
  dropPush(sessionId: string, target: PushTarget): Promise<boolean>;
  /** The device id of a live session, or undefined (lockdown: a blocked device's sessions are refused). */
  sessionDevice(sessionId: string): Promise<string | undefined>;
  /** The lockdown state (default: nothing locked, nothing blocked). Never expires. */
  readLockdown(): Promise<Lockdown>;
  /** Locks or unlocks new pairings relay-wide. */
  lockPairings(locked: boolean): Promise<void>;
  /** Blocks (or unblocks) a device id; true when this changed the state. */
  blockDevice(deviceId: string, blocked: boolean): Promise<boolean>;
  /**
   * Adds each counter to the day's statistics (`day`: YYYY-MM-DD, UTC) in one atomic step; counters not
   * named are left alone, unknown ones start at 0. Kept at least `STATS_RETENTION_DAYS` days.
   */
  recordStats(day: string, counters: Readonly<DayStats>): Promise<void>;
  /** The day's counters (an empty object for a day without any). */
  readStats(day: string): Promise<DayStats>;
  /** How the pairing ended (or `pending`); see `Fate`. A read: changes nothing. */
  pairingFate(token: string): Promise<Fate>;
  /** How the request ended (or `pending`); see `Fate`. A read: changes nothing. */
  requestFate(sessionId: string, id: string): Promise<Fate>;

  // ── Plumbing ────────────────────────────────────────────────────────────────────────────────
  /**
   * Calls `listener` after every committed write that touches `key` (see `watchKeys`). Long-polls
   * register BEFORE reading state, so a write between the read and the wait is never missed.
   * Across instances this is pub/sub; a spurious call is harmless (callers re-read). The writes named
   * in `WakeState` hand their new state to this instance's listeners, and it must equal what the
   * matching read returns right after the write (the contract suite checks it).
   */
  watch(key: string, listener: WatchListener): Unwatch;
  /** Forgets entries whose tombstone grace (or idle time) has run out; returns how many. */
  sweep(): Promise<number>;
  /** Resolves when the backend answers; rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type StoreOptions = {
  /** Clock in ms (default `Date.now`). */
  now?: Clock;
  /** Seconds a session lives without activity; every call on it slides the window. Default 30 days. */
  sessionIdleTtl?: number;
  /** Seconds expired pairings and requests are remembered (410 instead of 404). Default 3600. */
  tombstoneGrace?: number;
  /** Seconds an event is retained. Default 86400. */
  eventRetention?: number;
  /** Events retained per session (the newest). Default 100. */
  eventMax?: number;
  /** Pending requests allowed per session. Default 100. */
  maxPendingPerSession?: number;
};

export const STORE_DEFAULTS = {
  sessionIdleTtl: 30 * 24 * 3600,
  tombstoneGrace: 3600,
  eventRetention: 24 * 3600,
  eventMax: 100,
  maxPendingPerSession: 100,
} as const;

/** Days a day's statistics are kept at least (they are small: a few dozen counters per day). */
export const STATS_RETENTION_DAYS = 400;

/** Keys for `Store.watch`: one per thing a long-poll can wait for. */
export const watchKeys = {
  pairing: (token: string) => `p:${token}`,
  /** Session deleted (or gone): every long-poll on the session watches this too. */
  session: (sessionId: string) => `s:${sessionId}`,
  /** A new request in the session (the wallet's pull long-poll). */
  requests: (sessionId: string) => `q:${sessionId}`,
  /** A response, cancel or acknowledgement of one request (the extension's response long-poll). */
  request: (sessionId: string, id: string) => `r:${sessionId}:${id}`,
  /** A new event in the session. */
  events: (sessionId: string) => `e:${sessionId}`,
} as const;

/** The backend failed (closed, disk full, unreachable): the HTTP layer answers 503 store_unavailable. */
export class StoreUnavailableError extends Error {
  override name = "StoreUnavailableError";
  constructor(message = "store unavailable", options?: { cause?: unknown }) {
    super(message, options);
  }
}
