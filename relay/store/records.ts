/**
 * The relay's storage rules, written once over a `Backend` (memory or LMDB): expiry and tombstones,
 * idempotency, first-response-wins, cancel/acknowledge, event sequence numbers, sliding session idle
 * time. Every Store method is one backend transaction, so it is atomic on either backend.
 *
 * Layout (keys are strings; tokens and session ids are base64url, ids UUIDs, so `:` never collides):
 *   p:<token>            pairing          purge at expiresAt + grace
 *   s:<sid>              session          purge at lastSeen + idle ttl (no tombstone: gone is 404)
 *   r:<sid>:<id>         request          purge at expiresAt + grace
 *   e:<sid>:<seq>        event            purge at its time + retention
 *   i:<sid>:<id>         event id → seq   (idempotent POST), same purge as the event
 *   o:lockdown           operator lockdown state        never purged
 *   m:<YYYY-MM-DD>       a day's statistics counters    purge STATS_RETENTION_DAYS after the day
 */
import type { PushTarget } from "../../protocol/schemas.ts";
import type { Backend, KvSnapshot, Op } from "./backend.ts";
import { canonical, hash } from "./digest.ts";
import {
  type AckPairingOutcome,
  type AnswerPairingOutcome,
  type CreatePairingOutcome,
  type DayStats,
  type DeleteRequestOutcome,
  type DeleteSessionOutcome,
  type DeliveryStatus,
  type Fate,
  type FetchPendingOutcome,
  type FetchRequestOutcome,
  type Lockdown,
  type PairingAnswer,
  type PostEventOutcome,
  type PostRequestOutcome,
  type PutResponseOutcome,
  STATS_RETENTION_DAYS,
  STORE_DEFAULTS,
  type Store,
  type StoredEvent,
  type StoredRequest,
  type StoreOptions,
  StoreUnavailableError,
  type WakeState,
  watchKeys,
} from "./types.ts";
import { createWatchHub } from "./watchHub.ts";

type PairingRec = {
  expiresAt: number;
  /** Unix seconds (fractional) of creation; absent on records written before it existed. */
  createdAt?: number;
  answer?: PairingAnswer;
  answerHash?: string;
  acked?: true;
};
type SessionRec = {
  deviceId: string;
  push?: PushTarget;
  /** Unix seconds (fractional) of the last activity; the session lives until lastSeen + idle ttl. */
  lastSeen: number;
  /** Last request sequence number (orders the pull path oldest first). */
  reqSeq: number;
  /** Last event seq handed out, and the oldest one possibly still retained. */
  evSeq: number;
  evFirst: number;
  /** Ids of requests that may still be pending, oldest first; pruned lazily. Bounded by maxPending. */
  pending: string[];
};
type RequestRec = {
  seq: number;
  /** Unix seconds (fractional) of the post; absent on records written before it existed. */
  postedAt?: number;
  sealed?: string;
  sealedHash: string;
  expiresAt: number;
  status: DeliveryStatus;
  response?: string;
  responseHash?: string;
  cancelled?: true;
  acked?: true;
};
type EventRec = { id: string; sealed: string; at: number };
type EventIdRec = { seq: number };

const key = {
  pairing: (token: string) => `p:${token}`,
  session: (sid: string) => `s:${sid}`,
  request: (sid: string, id: string) => `r:${sid}:${id}`,
  event: (sid: string, seq: number) => `e:${sid}:${seq}`,
  eventId: (sid: string, id: string) => `i:${sid}:${id}`,
  lockdown: "o:lockdown",
  stats: (day: string) => `m:${day}`,
};
/** purgeAt of records that must never be swept. */
const FOREVER = Number.MAX_SAFE_INTEGER;
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

const DELETED = Symbol("deleted");

const samePush = (a: PushTarget, b: PushTarget) => canonical(a) === canonical(b);

/** A transaction's view: reads see its own earlier writes; writes are collected and applied at the end. */
function createTx(kv: KvSnapshot) {
  const overlay = new Map<string, unknown>();
  const ops: Op[] = [];
  return {
    ops,
    get<T>(k: string): T | undefined {
      if (overlay.has(k)) {
        const v = overlay.get(k);
        return v === DELETED ? undefined : (v as T);
      }
      return kv.get(k) as T | undefined;
    },
    put(k: string, value: unknown, purgeAt: number) {
      overlay.set(k, value);
      ops.push({ kind: "put", key: k, value, purgeAt });
    },
    del(k: string) {
      overlay.set(k, DELETED);
      ops.push({ kind: "del", key: k });
    },
    keys(prefix: string): string[] {
      const out = new Set(kv.keys(prefix));
      for (const [k, v] of overlay) {
        if (!k.startsWith(prefix)) continue;
        if (v === DELETED) out.delete(k);
        else out.add(k);
      }
      return [...out];
    },
  };
}
type Tx = ReturnType<typeof createTx>;

export function createRecordStore(backend: Backend, options: StoreOptions = {}): Store {
  const now = options.now ?? Date.now;
  const idleTtl = options.sessionIdleTtl ?? STORE_DEFAULTS.sessionIdleTtl;
  const grace = options.tombstoneGrace ?? STORE_DEFAULTS.tombstoneGrace;
  const retention = options.eventRetention ?? STORE_DEFAULTS.eventRetention;
  const eventMax = options.eventMax ?? STORE_DEFAULTS.eventMax;
  const maxPending = options.maxPendingPerSession ?? STORE_DEFAULTS.maxPendingPerSession;
  // Sliding idle time without a write on every call: refresh lastSeen at most this often.
  const touchEvery = Math.min(60, idleTtl / 10);
  const hub = createWatchHub();
  let closed = false;

  const nowSec = () => now() / 1000;
  /** An expiry time reached? `expiresAt` is whole seconds, compared at ms precision. */
  const isPast = (expiresAt: number) => now() >= expiresAt * 1000;
  /**
   * Past its tombstone grace, an entry counts as forgotten even before the sweeper reclaims it, so
   * 410-vs-404 depends only on the clock (a store with native TTLs can purge lazily).
   */
  const forgotten = (expiresAt: number) => now() >= (expiresAt + grace) * 1000;
  /** expiresAt rounds up, so an entry never lives shorter than the ttl asked for. */
  const expiryFor = (ttl: number) => Math.ceil(now() / 1000) + ttl;

  function guard(): void {
    if (closed) throw new StoreUnavailableError("store is closed");
  }
  function unavailable(error: unknown): never {
    if (error instanceof StoreUnavailableError) throw error;
    throw new StoreUnavailableError(
      `store failed: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
  function read<T>(fn: (tx: Tx) => T): T {
    guard();
    try {
      return backend.read((kv) => fn(createTx(kv)));
    } catch (error) {
      unavailable(error);
    }
  }
  /** `notify`: keys whose watchers read again; `wake`: one key whose watchers get the new state. */
  type Written<T> = { result: T; notify?: string[]; wake?: { key: string; state: WakeState } };
  async function write<T>(fn: (tx: Tx) => Written<T>): Promise<T> {
    guard();
    let notify: string[] = [];
    let wake: Written<T>["wake"];
    let result: T;
    try {
      result = await backend.write((kv) => {
        const tx = createTx(kv);
        const out = fn(tx);
        notify = out.notify ?? [];
        wake = out.wake;
        return { result: out.result, ops: tx.ops };
      });
    } catch (error) {
      unavailable(error);
    }
    if (wake) hub.notify([wake.key], wake.state);
    hub.notify(notify);
    return result;
  }

  function getPairing(tx: Tx, token: string): PairingRec | undefined {
    const p = tx.get<PairingRec>(key.pairing(token));
    return p && !forgotten(p.expiresAt) ? p : undefined;
  }
  function getRequest(tx: Tx, sid: string, id: string): RequestRec | undefined {
    const r = tx.get<RequestRec>(key.request(sid, id));
    return r && !forgotten(r.expiresAt) ? r : undefined;
  }

  function liveSession(tx: Tx, sid: string): SessionRec | undefined {
    const s = tx.get<SessionRec>(key.session(sid));
    if (!s || now() >= (s.lastSeen + idleTtl) * 1000) return undefined;
    return s;
  }
  function putSession(tx: Tx, sid: string, s: SessionRec) {
    tx.put(key.session(sid), s, s.lastSeen + idleTtl);
  }
  /** Activity on the session: slide its idle window (when due, or when `force`d by another write). */
  function touch(tx: Tx, sid: string, s: SessionRec, force = false): SessionRec {
    const t = nowSec();
    if (!force && t - s.lastSeen < touchEvery) return s;
    const next = { ...s, lastSeen: t };
    putSession(tx, sid, next);
    return next;
  }
  const touchDue = (s: SessionRec) => nowSec() - s.lastSeen >= touchEvery;
  async function touchLater(sid: string): Promise<void> {
    await write((tx) => {
      const s = liveSession(tx, sid);
      if (s) touch(tx, sid, s);
      return { result: undefined };
    });
  }

  const isPending = (r: RequestRec | undefined): r is RequestRec =>
    r !== undefined && !r.response && !r.cancelled && !r.acked && !isPast(r.expiresAt);
  const view = (id: string, r: RequestRec): StoredRequest => ({
    id,
    sealed: r.sealed ?? "",
    expiresAt: r.expiresAt,
  });
  const putRequest = (tx: Tx, sid: string, id: string, r: RequestRec) =>
    tx.put(key.request(sid, id), r, r.expiresAt + grace);

  function pendingOf(tx: Tx, sid: string, s: SessionRec): Array<[string, RequestRec]> {
    const out: Array<[string, RequestRec]> = [];
    for (const id of s.pending) {
      const r = getRequest(tx, sid, id);
      if (isPending(r)) out.push([id, r]);
    }
    return out.sort((a, b) => a[1].seq - b[1].seq);
  }

  function dropEvent(tx: Tx, sid: string, seq: number) {
    const ev = tx.get<EventRec>(key.event(sid, seq));
    if (!ev) return;
    tx.del(key.event(sid, seq));
    tx.del(key.eventId(sid, ev.id));
  }

  function lockdownOf(tx: Tx): Lockdown {
    const l = tx.get<Lockdown>(key.lockdown);
    return { pairingsLocked: l?.pairingsLocked ?? false, blockedDevices: [...(l?.blockedDevices ?? [])] };
  }

  function dropSession(tx: Tx, sid: string) {
    tx.del(key.session(sid));
    for (const prefix of [`r:${sid}:`, `e:${sid}:`, `i:${sid}:`]) {
      for (const k of tx.keys(prefix)) tx.del(k);
    }
  }

  const store: Store = {
    kind: backend.kind,

    createPairing(token, ttl) {
      return write<CreatePairingOutcome>((tx) => {
        if (getPairing(tx, token)) return { result: { ok: false, error: "pairing_exists" } };
        const expiresAt = expiryFor(ttl);
        tx.put(
          key.pairing(token),
          { expiresAt, createdAt: nowSec() } satisfies PairingRec,
          expiresAt + grace,
        );
        return { result: { ok: true, expiresAt } };
      });
    },

    answerPairing(token, answer, push) {
      return write<AnswerPairingOutcome>((tx) => {
        const p = getPairing(tx, token);
        if (!p) return { result: { ok: false, error: "pairing_not_found" } };
        if (isPast(p.expiresAt)) return { result: { ok: false, error: "pairing_expired" } };
        const answerHash = hash(answer.deviceId, answer.sessionId, answer.sealed);
        if (p.answerHash !== undefined) {
          return p.answerHash === answerHash
            ? { result: { ok: true, repeated: true } }
            : { result: { ok: false, error: "pairing_answered" } };
        }
        // Acknowledged (cancelled by the extension) before any answer: the relay has forgotten it.
        if (p.acked) return { result: { ok: false, error: "pairing_not_found" } };
        if (liveSession(tx, answer.sessionId)) return { result: { ok: false, error: "session_exists" } };
        // An idle-expired session the sweeper has not reached yet: clear its leftovers first.
        if (tx.get<SessionRec>(key.session(answer.sessionId))) dropSession(tx, answer.sessionId);
        const session: SessionRec = {
          deviceId: answer.deviceId,
          ...(push ? { push } : {}),
          lastSeen: nowSec(),
          reqSeq: 0,
          evSeq: 0,
          evFirst: 1,
          pending: [],
        };
        putSession(tx, answer.sessionId, session);
        const kept = { deviceId: answer.deviceId, sessionId: answer.sessionId, sealed: answer.sealed };
        const next: PairingRec = {
          expiresAt: p.expiresAt,
          ...(p.createdAt !== undefined ? { createdAt: p.createdAt } : {}),
          answer: kept,
          answerHash,
        };
        tx.put(key.pairing(token), next, p.expiresAt + grace);
        return {
          result: {
            ok: true,
            repeated: false,
            ...(p.createdAt !== undefined ? { createdAt: p.createdAt } : {}),
          },
          wake: {
            key: watchKeys.pairing(token),
            state: { kind: "pairing", outcome: { ok: true, expiresAt: p.expiresAt, answer: kept } },
          },
        };
      });
    },

    async readPairing(token) {
      return read((tx) => {
        const p = getPairing(tx, token);
        if (!p || p.acked) return { ok: false, error: "pairing_not_found" } as const;
        if (isPast(p.expiresAt)) return { ok: false, error: "pairing_expired" } as const;
        return p.answer
          ? { ok: true, expiresAt: p.expiresAt, answer: p.answer }
          : { ok: true, expiresAt: p.expiresAt };
      });
    },

    ackPairing(token) {
      return write<AckPairingOutcome>((tx) => {
        const p = getPairing(tx, token);
        if (!p || p.acked) return { result: { ok: false, error: "pairing_not_found" } };
        if (isPast(p.expiresAt)) return { result: { ok: false, error: "pairing_expired" } };
        // Forget the answer but keep the token reserved until purge, so it can never be registered again.
        const next: PairingRec = {
          expiresAt: p.expiresAt,
          ...(p.createdAt !== undefined ? { createdAt: p.createdAt } : {}),
          ...(p.answerHash !== undefined ? { answerHash: p.answerHash } : {}),
          acked: true,
        };
        tx.put(key.pairing(token), next, p.expiresAt + grace);
        const answered = p.answerHash !== undefined;
        return { result: { ok: true, answered }, notify: [watchKeys.pairing(token)] };
      });
    },

    deleteSession(sid) {
      return write<DeleteSessionOutcome>((tx) => {
        if (!liveSession(tx, sid)) return { result: { ok: false, error: "session_not_found" } };
        dropSession(tx, sid);
        return { result: { ok: true }, notify: [watchKeys.session(sid)] };
      });
    },

    postRequest(sid, { id, sealed, ttl }) {
      return write<PostRequestOutcome>((tx) => {
        let s = liveSession(tx, sid);
        if (!s) return { result: { ok: false, error: "session_not_found" } };
        const sealedHash = hash(sealed);
        const existing = getRequest(tx, sid, id);
        if (existing) {
          if (existing.sealedHash !== sealedHash) return { result: { ok: false, error: "request_conflict" } };
          if (isPast(existing.expiresAt)) return { result: { ok: false, error: "request_expired" } };
          touch(tx, sid, s);
          return { result: { ok: true, created: false, expiresAt: existing.expiresAt } };
        }
        const pending = pendingOf(tx, sid, s).map(([pid]) => pid);
        if (pending.length >= maxPending) {
          if (pending.length !== s.pending.length) putSession(tx, sid, { ...s, pending });
          return { result: { ok: false, error: "too_many_pending" } };
        }
        const seq = s.reqSeq + 1;
        const expiresAt = expiryFor(ttl);
        putRequest(tx, sid, id, { seq, postedAt: nowSec(), sealed, sealedHash, expiresAt, status: "queued" });
        s = { ...s, reqSeq: seq, pending: [...pending, id] };
        touch(tx, sid, s, true);
        return {
          result: { ok: true, created: true, expiresAt, ...(s.push ? { push: s.push } : {}) },
          notify: [watchKeys.requests(sid)],
        };
      });
    },

    fetchRequest(sid, id) {
      return write<FetchRequestOutcome>((tx) => {
        const s = liveSession(tx, sid);
        if (!s) return { result: { ok: false, error: "session_not_found" } };
        touch(tx, sid, s);
        const r = getRequest(tx, sid, id);
        if (!r || r.acked) return { result: { ok: false, error: "request_not_found" } };
        if (isPast(r.expiresAt)) return { result: { ok: false, error: "request_expired" } };
        if (r.cancelled) return { result: { ok: false, error: "request_cancelled" } };
        if (!r.response && r.status !== "fetched") putRequest(tx, sid, id, { ...r, status: "fetched" });
        return { result: { ok: true, request: view(id, r) } };
      });
    },

    async fetchPending(sid) {
      // Read first: an idle pull loop must not cost a write per poll.
      const quick = read((tx) => {
        const s = liveSession(tx, sid);
        if (!s) return { ok: false, error: "session_not_found" } as const;
        const pending = pendingOf(tx, sid, s);
        const clean =
          pending.length === s.pending.length &&
          pending.every(([, r]) => r.status === "fetched") &&
          !touchDue(s);
        return { ok: true, clean, requests: pending.map(([id, r]) => view(id, r)) } as const;
      });
      if (!quick.ok) return quick;
      if (quick.clean) return { ok: true, requests: quick.requests, fresh: 0 };
      return write<FetchPendingOutcome>((tx) => {
        const s = liveSession(tx, sid);
        if (!s) return { result: { ok: false, error: "session_not_found" } };
        const pending = pendingOf(tx, sid, s);
        let fresh = 0;
        for (const [id, r] of pending) {
          if (r.status !== "fetched") {
            fresh++;
            putRequest(tx, sid, id, { ...r, status: "fetched" });
          }
        }
        const ids = pending.map(([id]) => id);
        const pruned = ids.length !== s.pending.length;
        touch(tx, sid, pruned ? { ...s, pending: ids } : s, pruned);
        return { result: { ok: true, requests: pending.map(([id, r]) => view(id, r)), fresh } };
      });
    },

    markNotified(sid, id) {
      return write<boolean>((tx) => {
        if (!liveSession(tx, sid)) return { result: false };
        const r = getRequest(tx, sid, id);
        if (!isPending(r) || r.status !== "queued") return { result: false };
        putRequest(tx, sid, id, { ...r, status: "notified" });
        return { result: true };
      });
    },

    putResponse(sid, id, sealed) {
      return write<PutResponseOutcome>((tx) => {
        const s = liveSession(tx, sid);
        if (!s) return { result: { ok: false, error: "session_not_found" } };
        touch(tx, sid, s);
        const r = getRequest(tx, sid, id);
        if (!r) return { result: { ok: false, error: "request_not_found" } };
        const responseHash = hash(sealed);
        if (r.responseHash !== undefined) {
          return r.responseHash === responseHash
            ? { result: { ok: true, repeated: true } }
            : { result: { ok: false, error: "request_answered" } };
        }
        if (r.acked) return { result: { ok: false, error: "request_not_found" } };
        if (isPast(r.expiresAt)) return { result: { ok: false, error: "request_expired" } };
        if (r.cancelled) return { result: { ok: false, error: "request_cancelled" } };
        putRequest(tx, sid, id, { ...r, response: sealed, responseHash });
        return {
          result: {
            ok: true,
            repeated: false,
            ...(r.postedAt !== undefined ? { postedAt: r.postedAt } : {}),
          },
          wake: {
            key: watchKeys.request(sid, id),
            state: { kind: "response", outcome: { ok: true, sealed } },
          },
        };
      });
    },

    async readResponse(sid, id) {
      const out = read((tx) => {
        const s = liveSession(tx, sid);
        if (!s) return { ok: false, error: "session_not_found", due: false } as const;
        const due = touchDue(s);
        const r = getRequest(tx, sid, id);
        if (!r || r.acked) return { ok: false, error: "request_not_found", due } as const;
        // A response that landed in time is delivered even after expiry (until purged): the wallet
        // may already have executed the transaction, so its answer must not be lost.
        if (r.response) return { ok: true, sealed: r.response, due } as const;
        if (isPast(r.expiresAt)) return { ok: false, error: "request_expired", due } as const;
        if (r.cancelled) return { ok: false, error: "request_cancelled", due } as const;
        return { ok: true, status: r.status, due } as const;
      });
      if (out.due) await touchLater(sid);
      if (!out.ok) return { ok: false, error: out.error };
      return out.sealed !== undefined ? { ok: true, sealed: out.sealed } : { ok: true, status: out.status };
    },

    deleteRequest(sid, id) {
      return write<DeleteRequestOutcome>((tx) => {
        const s = liveSession(tx, sid);
        if (!s) return { result: { ok: false, error: "session_not_found" } };
        touch(tx, sid, s);
        const r = getRequest(tx, sid, id);
        if (!r || r.acked) return { result: { ok: false, error: "request_not_found" } };
        const notify = [watchKeys.request(sid, id)];
        if (r.response) {
          // Acknowledge: forget both payloads; keep the hashes so late retries stay idempotent.
          const { sealed: _s, response: _r, ...rest } = r;
          putRequest(tx, sid, id, { ...rest, acked: true });
          return { result: { ok: true, action: "acknowledged" }, notify };
        }
        if (isPast(r.expiresAt)) return { result: { ok: false, error: "request_expired" } };
        if (r.cancelled) return { result: { ok: true, action: "cancelled" } };
        const { sealed: _s, ...rest } = r;
        putRequest(tx, sid, id, { ...rest, cancelled: true });
        return { result: { ok: true, action: "cancelled" }, notify };
      });
    },

    postEvent(sid, { id, sealed }) {
      return write<PostEventOutcome>((tx) => {
        let s = liveSession(tx, sid);
        if (!s) return { result: { ok: false, error: "session_not_found" } };
        const known = tx.get<EventIdRec>(key.eventId(sid, id));
        const knownEvent = known ? tx.get<EventRec>(key.event(sid, known.seq)) : undefined;
        if (known && knownEvent && knownEvent.id === id && knownEvent.at + retention > nowSec()) {
          if (knownEvent.sealed !== sealed) return { result: { ok: false, error: "event_conflict" } };
          touch(tx, sid, s);
          return { result: { ok: true, created: false, seq: known.seq } };
        }
        const t = nowSec();
        const seq = s.evSeq + 1;
        tx.put(key.event(sid, seq), { id, sealed, at: t } satisfies EventRec, t + retention);
        tx.put(key.eventId(sid, id), { seq } satisfies EventIdRec, t + retention);
        // Retention: keep the newest `eventMax`, and none older than `retention` seconds.
        let first = s.evFirst;
        for (; first <= seq - eventMax; first++) dropEvent(tx, sid, first);
        for (; first < seq; first++) {
          const ev = tx.get<EventRec>(key.event(sid, first));
          if (ev && ev.at + retention > t) break;
          dropEvent(tx, sid, first);
        }
        s = { ...s, evSeq: seq, evFirst: first };
        touch(tx, sid, s, true);
        return { result: { ok: true, created: true, seq }, notify: [watchKeys.events(sid)] };
      });
    },

    async readEvents(sid, after, limit) {
      const out = read((tx) => {
        const s = liveSession(tx, sid);
        if (!s) return { ok: false, error: "session_not_found", due: false } as const;
        const events: StoredEvent[] = [];
        const t = nowSec();
        for (let seq = Math.max(after + 1, s.evFirst); seq <= s.evSeq && events.length < limit; seq++) {
          const ev = tx.get<EventRec>(key.event(sid, seq));
          if (ev && ev.at + retention > t) events.push({ seq, id: ev.id, sealed: ev.sealed });
        }
        return { ok: true, events, due: touchDue(s) } as const;
      });
      if (out.due) await touchLater(sid);
      return out.ok ? { ok: true, events: out.events } : { ok: false, error: out.error };
    },

    dropPush(sid, target) {
      return write<boolean>((tx) => {
        const s = liveSession(tx, sid);
        if (!s?.push || !samePush(s.push, target)) return { result: false };
        const { push: _dropped, ...rest } = s;
        putSession(tx, sid, rest);
        return { result: true };
      });
    },

    async sessionDevice(sid) {
      return read((tx) => liveSession(tx, sid)?.deviceId);
    },

    async readLockdown() {
      return read((tx) => lockdownOf(tx));
    },

    async lockPairings(locked) {
      await write((tx) => {
        const l = lockdownOf(tx);
        if (l.pairingsLocked !== locked) tx.put(key.lockdown, { ...l, pairingsLocked: locked }, FOREVER);
        return { result: undefined };
      });
    },

    blockDevice(deviceId, blocked) {
      return write<boolean>((tx) => {
        const l = lockdownOf(tx);
        const has = l.blockedDevices.includes(deviceId);
        if (has === blocked) return { result: false };
        const blockedDevices = blocked
          ? [...l.blockedDevices, deviceId].sort()
          : l.blockedDevices.filter((d) => d !== deviceId);
        tx.put(key.lockdown, { ...l, blockedDevices } satisfies Lockdown, FOREVER);
        return { result: true };
      });
    },

    async recordStats(day, counters) {
      if (!DAY_RE.test(day)) throw new TypeError(`recordStats: day must be YYYY-MM-DD, got "${day}"`);
      const entries = Object.entries(counters).filter(([, n]) => Number.isFinite(n) && n !== 0);
      if (entries.length === 0) return;
      await write((tx) => {
        const next: DayStats = { ...tx.get<DayStats>(key.stats(day)) };
        for (const [name, n] of entries) next[name] = (next[name] ?? 0) + n;
        const dayEnd = Date.parse(`${day}T00:00:00Z`) / 1000 + 86_400;
        tx.put(key.stats(day), next, dayEnd + STATS_RETENTION_DAYS * 86_400);
        return { result: undefined };
      });
    },

    async readStats(day) {
      return read((tx) => ({ ...tx.get<DayStats>(key.stats(day)) }));
    },

    async pairingFate(token) {
      return read((tx): Fate => {
        const p = getPairing(tx, token);
        if (!p) return "unknown";
        if (p.answerHash !== undefined) return "answered";
        if (p.acked) return "cancelled";
        return isPast(p.expiresAt) ? "expired" : "pending";
      });
    },

    async requestFate(sid, id) {
      return read((tx): Fate => {
        if (!liveSession(tx, sid)) return "unknown";
        const r = getRequest(tx, sid, id);
        if (!r) return "unknown";
        if (r.responseHash !== undefined) return "answered";
        if (r.cancelled) return "cancelled";
        return isPast(r.expiresAt) ? "expired" : "pending";
      });
    },

    watch: (k, listener) => hub.watch(k, listener),

    async sweep() {
      guard();
      try {
        return await backend.sweep(nowSec());
      } catch (error) {
        unavailable(error);
      }
    },

    async ping() {
      guard();
      try {
        backend.ping();
      } catch (error) {
        unavailable(error);
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      await backend.close();
    },
  };
  return store;
}
