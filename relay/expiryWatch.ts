/**
 * Counting expiries. Nothing happens at the relay when a pairing or request simply runs out (no call
 * marks it), so the instance that created one looks again shortly after its `expiresAt` and asks the
 * store how it ended (`pairingFate` / `requestFate`): only `expired` is counted, because answers and
 * cancels were counted when they happened, on whichever instance took them. Entries live in memory
 * and only while unsettled (an answer or cancel through this instance frees its entry at once); a
 * restart forgets the checks it had scheduled, so expiry counts can fall short across restarts, never
 * double.
 *
 * Each pending pairing or request costs one Map entry (key → due second and tries, a small integer)
 * and one Set entry (its due second's keys): no object per entry, and the key of a pairing is its token
 * itself (≈ 70 B per pending pairing beside the token, where an entry object, a holder object and a
 * prefixed key string made it ≈ 190 B).
 */
import type { Logger } from "./log.ts";
import type { Fate, Store } from "./store/types.ts";

type Kind = "pairing" | "request";

export type ExpiryWatch = {
  pairing(token: string, expiresAt: number): void;
  request(sessionId: string, id: string, expiresAt: number): void;
  /** Answered or cancelled through this instance: no check needed (frees the entry early). */
  settlePairing(token: string): void;
  settleRequest(sessionId: string, id: string): void;
  /** Checks scheduled. */
  size(): number;
  close(): void;
};

/** Seconds after `expiresAt` before looking (clock steps between instances). */
const SLACK = 1;
/** A check that still finds the entry pending (another instance's clock) looks again this much later. */
const RETRY = 5;
/** Checks per entry at most (the first and up to three retries); `tries` is packed below the second. */
const MAX_TRIES = 3;
const TRIES = 4;
/** Checks sent together (a store round trip each; they share the connection's writes). */
const IN_FLIGHT = 64;

/** One kind's checks: what is pending, and what is due when. */
type Queue = {
  kind: Kind;
  /**
   * Key → (due second − epoch) × TRIES + tries, while a check is wanted (settled keys are deleted at
   * once). Relative to the watch's start so that the value stays a small integer (no heap number).
   */
  pending: Map<string, number>;
  /** Due second (relative) → the keys due then: one timer for everything, no per-entry timers. */
  due: Map<number, Set<string>>;
};

/** A request's key: its session and id (neither has a space: base64url and a UUID). */
const requestKey = (sessionId: string, id: string) => `${sessionId} ${id}`;

export function createExpiryWatch(deps: {
  store: Pick<Store, "pairingFate" | "requestFate">;
  logger: Logger;
  onExpired(kind: Kind): void;
  now?: () => number;
}): ExpiryWatch {
  const now = deps.now ?? Date.now;
  const epoch = Math.floor(now() / 1000);
  const pairings: Queue = { kind: "pairing", pending: new Map(), due: new Map() };
  const requests: Queue = { kind: "request", pending: new Map(), due: new Map() };
  let running = false;
  let closed = false;

  /** Schedules `key` at `at` (Unix seconds, rounded up), replacing a check it already had. */
  function schedule(q: Queue, key: string, at: number, tries: number): void {
    if (closed) return;
    forget(q, key);
    const second = Math.ceil(at) - epoch;
    const keys = q.due.get(second);
    if (keys) keys.add(key);
    else q.due.set(second, new Set([key]));
    q.pending.set(key, second * TRIES + tries);
  }
  function forget(q: Queue, key: string): void {
    const slot = q.pending.get(key);
    if (slot === undefined) return;
    q.pending.delete(key);
    const second = Math.floor(slot / TRIES);
    const keys = q.due.get(second);
    keys?.delete(key);
    if (keys?.size === 0) q.due.delete(second);
  }

  async function check(q: Queue, key: string, tries: number): Promise<void> {
    let fate: Fate;
    try {
      if (q.kind === "pairing") fate = await deps.store.pairingFate(key);
      else {
        const at = key.lastIndexOf(" ");
        fate = await deps.store.requestFate(key.slice(0, at), key.slice(at + 1));
      }
    } catch (error) {
      if (tries < MAX_TRIES) schedule(q, key, now() / 1000 + RETRY, tries + 1);
      else deps.logger.debug({ err: error }, "expiry check failed");
      return;
    }
    if (fate === "expired") deps.onExpired(q.kind);
    else if (fate === "pending" && tries < MAX_TRIES) schedule(q, key, now() / 1000 + RETRY, tries + 1);
  }

  /**
   * Checks `q`'s keys due by now, in due order, `IN_FLIGHT` at a time; false once the watch is closed.
   * Checks are independent reads, so a group goes out together: on Redis the store writes one turn's
   * commands in one socket write and the server answers them in one, where one awaited check after
   * another cost ≈ 80 µs of CPU each between the relay and redis-server (a minute after a burst of
   * unanswered pairings the relay was as busy checking them as it had been creating them).
   */
  async function run(q: Queue): Promise<boolean> {
    const nowSec = now() / 1000 - epoch;
    const group: Promise<void>[] = [];
    for (const second of [...q.due.keys()].sort((a, b) => a - b)) {
      if (second > nowSec) break;
      const keys = [...(q.due.get(second) ?? [])];
      q.due.delete(second);
      for (const key of keys) {
        if (closed) return false;
        const slot = q.pending.get(key);
        if (slot === undefined || Math.floor(slot / TRIES) !== second) continue; // settled (or rescheduled)
        q.pending.delete(key);
        group.push(check(q, key, slot - second * TRIES));
        if (group.length === IN_FLIGHT) await Promise.all(group.splice(0));
      }
    }
    await Promise.all(group);
    return !closed;
  }

  async function tick(): Promise<void> {
    if (running || closed) return;
    running = true;
    try {
      if (await run(pairings)) await run(requests);
    } finally {
      running = false;
    }
  }
  const timer = setInterval(() => void tick(), 1000);
  timer.unref();

  return {
    pairing(token, expiresAt) {
      schedule(pairings, token, expiresAt + SLACK, 0);
    },
    request(sessionId, id, expiresAt) {
      schedule(requests, requestKey(sessionId, id), expiresAt + SLACK, 0);
    },
    settlePairing(token) {
      forget(pairings, token);
    },
    settleRequest(sessionId, id) {
      forget(requests, requestKey(sessionId, id));
    },
    size: () => pairings.pending.size + requests.pending.size,
    close() {
      closed = true;
      clearInterval(timer);
      for (const q of [pairings, requests]) {
        q.due.clear();
        q.pending.clear();
      }
    },
  };
}
