/**
 * In-process wake-ups for `Store.watch`: a map from key to listeners. Long-polls register here and are
 * called after a committed write, so they answer the moment the answer lands (no polling loop). A
 * multi-instance store replaces this with pub/sub.
 */
import type { Unwatch, WakeState, WatchListener } from "./types.ts";

export type WatchHub = {
  watch(key: string, listener: WatchListener): Unwatch;
  /** Calls the listeners of each key, handing them `state` (see `WakeState`: only for one key). */
  notify(keys: Iterable<string>, state?: WakeState): void;
  /** Listeners currently registered (for tests and health). */
  size(): number;
};

export function createWatchHub(onListenerError?: (error: unknown) => void): WatchHub {
  // Most keys have exactly one watcher (one poll per token or request), so a key maps to its listener
  // directly and only grows an array when a second one arrives: idle polls stay small. An array, not a
  // Set: the same function registered twice is two registrations, each removed by its own unwatch.
  const listeners = new Map<string, WatchListener | WatchListener[]>();
  let count = 0;
  function call(listener: WatchListener, state: WakeState | undefined) {
    try {
      listener(state);
    } catch (error) {
      onListenerError?.(error);
    }
  }
  function remove(key: string, listener: WatchListener) {
    const current = listeners.get(key);
    if (current === listener) {
      listeners.delete(key);
    } else if (Array.isArray(current)) {
      const i = current.indexOf(listener);
      if (i !== -1) current.splice(i, 1);
      if (current.length === 1) listeners.set(key, current[0] as WatchListener);
      else if (current.length === 0) listeners.delete(key);
    }
  }
  return {
    watch(key, listener) {
      const current = listeners.get(key);
      if (current === undefined) listeners.set(key, listener);
      else if (Array.isArray(current)) current.push(listener);
      else listeners.set(key, [current, listener]);
      count++;
      let active = true;
      return () => {
        if (!active) return;
        active = false;
        count--;
        remove(key, listener);
      };
    },
    notify(keys, state) {
      for (const key of keys) {
        const current = listeners.get(key);
        if (current === undefined) continue;
        if (Array.isArray(current)) for (const listener of [...current]) call(listener, state);
        else call(current, state);
      }
    },
    size: () => count,
  };
}
