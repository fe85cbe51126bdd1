/**
 * Counting expiries. Nothing happens at the relay when a pairing or request simply runs out (no call
 * marks it), so the instance that created one looks again shortly after its `expiresAt` and asks the
 * store how it ended (`pairingFate` / `requestFate`): only `expired` is counted, because answers and
 * cancels were counted when they happened, on whichever instance took them. Entries live in memory
 * (a few dozen bytes each, and only while unsettled: an answer or cancel through this instance
 * frees its entry at once); a restart forgets the checks it had scheduled,
 * so expiry counts can fall short across restarts, never double.
 */
import type { Logger } from "./log.ts";
import type { Fate, Store } from "./store/types.ts";

type Entry =
  | { kind: "pairing"; token: string; tries: number }
  | { kind: "request"; sessionId: string; id: string; tries: number };

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

export function createExpiryWatch(deps: {
  store: Pick<Store, "pairingFate" | "requestFate">;
  logger: Logger;
  onExpired(kind: "pairing" | "request"): void;
  now?: () => number;
}): ExpiryWatch {
  const now = deps.now ?? Date.now;
  /** Due second → keys: one timer for everything, no per-entry timers. */
  const due = new Map<number, Set<string>>();
  /** Key → entry and its due second, while a check is wanted (settled entries are removed at once). */
  const entries = new Map<string, { entry: Entry; second: number }>();
  let running = false;
  let closed = false;

  const keyOf = (e: Entry) => (e.kind === "pairing" ? `p ${e.token}` : `r ${e.sessionId} ${e.id}`);
  const schedule = (entry: Entry, at: number) => {
    if (closed) return;
    const key = keyOf(entry);
    const second = Math.ceil(at);
    forget(key);
    const keys = due.get(second);
    if (keys) keys.add(key);
    else due.set(second, new Set([key]));
    entries.set(key, { entry, second });
  };
  function forget(key: string): void {
    const known = entries.get(key);
    if (!known) return;
    entries.delete(key);
    const keys = due.get(known.second);
    keys?.delete(key);
    if (keys?.size === 0) due.delete(known.second);
  }

  async function check(entry: Entry): Promise<void> {
    let fate: Fate;
    try {
      fate =
        entry.kind === "pairing"
          ? await deps.store.pairingFate(entry.token)
          : await deps.store.requestFate(entry.sessionId, entry.id);
    } catch (error) {
      if (entry.tries < 3) schedule({ ...entry, tries: entry.tries + 1 }, now() / 1000 + RETRY);
      else deps.logger.debug({ err: error }, "expiry check failed");
      return;
    }
    if (fate === "expired") deps.onExpired(entry.kind);
    else if (fate === "pending" && entry.tries < 3) {
      schedule({ ...entry, tries: entry.tries + 1 }, now() / 1000 + RETRY);
    }
  }

  async function tick(): Promise<void> {
    if (running || closed) return;
    running = true;
    try {
      const nowSec = now() / 1000;
      for (const second of [...due.keys()].sort((a, b) => a - b)) {
        if (second > nowSec || closed) break;
        const keys = [...(due.get(second) ?? [])];
        due.delete(second);
        for (const key of keys) {
          if (closed) return;
          const known = entries.get(key);
          if (!known || known.second !== second) continue; // settled (or rescheduled) meanwhile
          entries.delete(key);
          await check(known.entry);
        }
      }
    } finally {
      running = false;
    }
  }
  const timer = setInterval(() => void tick(), 1000);
  timer.unref();

  return {
    pairing(token, expiresAt) {
      schedule({ kind: "pairing", token, tries: 0 }, expiresAt + SLACK);
    },
    request(sessionId, id, expiresAt) {
      schedule({ kind: "request", sessionId, id, tries: 0 }, expiresAt + SLACK);
    },
    settlePairing(token) {
      forget(`p ${token}`);
    },
    settleRequest(sessionId, id) {
      forget(`r ${sessionId} ${id}`);
    },
    size: () => entries.size,
    close() {
      closed = true;
      clearInterval(timer);
      due.clear();
      entries.clear();
    },
  };
}
