/**
 * Long-polls that answer the moment the answer lands, without a polling loop inside the relay:
 *
 * 1. register watchers on the store keys FIRST, then read state: a write landing between the read and
 *    the wait has already flagged the watcher, so no wake-up is lost;
 * 2. sleep until a watcher fires, the wait runs out, the relay shuts down or the client goes away;
 * 3. re-read; on timeout or shutdown one final read decides (so an expiry shows as 410, not 204).
 *
 * Everything is unregistered on every exit path. An idle poll costs one timer, a few closures and one
 * listener per key (the benchmark holds 10,000 of them).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Store } from "./store/types.ts";

export type LongPollOptions<R> = {
  res: ServerResponse<IncomingMessage>;
  keys: readonly string[];
  waitSeconds: number;
  read: () => Promise<R>;
  /** True when `r` answers the poll (a result, or an error that will not change). */
  ready: (r: R) => boolean;
};

export type LongPoll = {
  /** The last read's result, or undefined when the client went away (then send nothing). */
  run<R>(options: LongPollOptions<R>): Promise<R | undefined>;
  /** Wakes every open poll to answer now (with whatever state it finds): graceful shutdown. */
  shutdown(): void;
  /** Open polls. */
  size(): number;
};

export function createLongPoll(store: Pick<Store, "watch">): LongPoll {
  const open = new Set<(final?: unknown) => void>();
  let stopping = false;

  return {
    async run({ res, keys, waitSeconds, read, ready }) {
      const socket = res.req.socket;
      if (socket.destroyed) return undefined; // the client left before we got here
      // One function serves every wake-up source (watchers, client close, timer, shutdown) to keep an
      // idle poll small; called with `true` it also ends the wait. (A method, not a named arrow: tsx's
      // keepNames would give a named arrow a property table per poll.)
      const state = {
        changed: false,
        finished: waitSeconds <= 0 || stopping,
        wake: undefined as ((value?: undefined) => void) | undefined,
        signal(final?: unknown) {
          if (final === true) state.finished = true;
          state.changed = true;
          const w = state.wake;
          state.wake = undefined;
          w?.();
        },
      };
      const { signal } = state;
      const unwatch = keys.map((key) => store.watch(key, signal));
      res.on("close", signal);
      open.add(signal);
      const timer = state.finished ? undefined : setTimeout(signal, waitSeconds * 1000, true);
      try {
        for (;;) {
          state.changed = false;
          const result = await read();
          if (socket.destroyed) return undefined;
          if (state.finished || ready(result)) return result;
          if (!state.changed) {
            await new Promise<undefined>((resolve) => {
              state.wake = resolve;
            });
          }
          if (socket.destroyed) return undefined;
        }
      } finally {
        if (timer) clearTimeout(timer);
        for (const u of unwatch) u();
        res.off("close", signal);
        open.delete(signal);
      }
    },
    shutdown() {
      stopping = true;
      for (const signal of [...open]) signal(true);
    },
    size: () => open.size,
  };
}
