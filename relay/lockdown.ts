/**
 * Operator lockdown, enforced at the HTTP edge: new pairings refused relay-wide (403 pairings_locked),
 * or one device id blocked (403 device_blocked for its pairing answers and for calls on its sessions).
 * The state lives in the store, so every instance and the CLI (`balance-bridge-relay lockdown …`)
 * share it; each instance re-reads it at most every `ttlMs` (a change made elsewhere takes effect
 * within that time; a change made through this instance's /admin endpoint at once).
 *
 * Sessions are refused by device: a session's device id never changes, so it is looked up once per
 * session (only while some device is blocked) and remembered in a bounded map.
 */
import { httpError } from "./http/errors.ts";
import type { Lockdown, Store } from "./store/types.ts";

export type LockdownGuard = ReturnType<typeof createLockdownGuard>;

const DEVICE_CACHE_MAX = 10_000;
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export function createLockdownGuard(deps: {
  store: Pick<Store, "readLockdown" | "sessionDevice">;
  onRefused(code: "pairings_locked" | "device_blocked"): void;
  ttlMs?: number;
  now?: () => number;
}) {
  const ttlMs = deps.ttlMs ?? 1000;
  const now = deps.now ?? (() => performance.now());
  let cached: { state: Lockdown; blocked: Set<string>; at: number } | undefined;
  let loading: Promise<{ state: Lockdown; blocked: Set<string> }> | undefined;
  const devices = new Map<string, string>();

  function current():
    | Promise<{ state: Lockdown; blocked: Set<string> }>
    | { state: Lockdown; blocked: Set<string> } {
    if (cached && now() - cached.at < ttlMs) return cached;
    loading ??= deps.store
      .readLockdown()
      .then((state) => {
        cached = { state, blocked: new Set(state.blockedDevices), at: now() };
        return cached;
      })
      .finally(() => {
        loading = undefined;
      });
    return loading;
  }

  function refuse(code: "pairings_locked" | "device_blocked"): never {
    deps.onRefused(code);
    throw httpError(
      code,
      code === "pairings_locked"
        ? "the relay's operator has paused new pairings; try again later"
        : "this device is blocked on this relay",
    );
  }

  async function deviceOf(sessionId: string): Promise<string | undefined> {
    const known = devices.get(sessionId);
    if (known) return known;
    const device = await deps.store.sessionDevice(sessionId);
    if (device) {
      if (devices.size >= DEVICE_CACHE_MAX) {
        const oldest = devices.keys().next().value;
        if (oldest !== undefined) devices.delete(oldest);
      }
      devices.set(sessionId, device);
    }
    return device;
  }

  return {
    /** The state as this instance sees it (re-read when older than `ttlMs`). */
    async state(): Promise<Lockdown> {
      return (await current()).state;
    },
    /** Forget the cached state: the next check reads the store (after a change through /admin). */
    invalidate() {
      cached = undefined;
    },
    /** POST /v1/pairings. */
    async checkCreate(): Promise<void> {
      if ((await current()).state.pairingsLocked) refuse("pairings_locked");
    },
    /** PUT /v1/pairings/:token: a locked relay takes no new sessions; a blocked device pairs nowhere. */
    async checkAnswer(deviceId: string): Promise<void> {
      const { state, blocked } = await current();
      if (state.pairingsLocked) refuse("pairings_locked");
      if (blocked.has(deviceId)) refuse("device_blocked");
    },
    /** Any call on a session: refused when the session's device is blocked. */
    async checkSession(sessionId: string | undefined): Promise<void> {
      if (!sessionId || !SESSION_ID.test(sessionId)) return; // malformed: the route answers 400
      const { blocked } = await current();
      if (blocked.size === 0) return;
      const device = await deviceOf(sessionId);
      if (device && blocked.has(device)) refuse("device_blocked");
    },
  };
}
