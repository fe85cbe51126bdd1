/**
 * Long-polls that answer the moment the answer lands, without a polling loop inside the relay:
 *
 * 1. register watchers on the store keys FIRST, then read state: a write landing between the read and
 *    the wait has already flagged the watcher, so no wake-up is lost;
 * 2. sleep until a watcher fires, the wait runs out, the relay shuts down or the client goes away;
 * 3. re-read; on timeout or shutdown one final read decides (so an expiry shows as 410, not 204).
 *
 * Everything is unregistered on every exit path. An idle poll is one small object (`Waiter`), one
 * listener function shared by every wake-up source, one timer and one watch registration per key: no
 * suspended async function, whose frame, promise and await closures would cost ≈ 0.5 KB more per poll
 * (the benchmark holds 10,000 of them; docs/BENCHMARKS.md).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Store, Unwatch } from "./store/types.ts";

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

/**
 * One open poll. `signal` serves every wake-up source (watchers, the response's close, the timer,
 * shutdown); called with `true` it also ends the wait. It is the only function made per poll (an
 * arrow, so that it can be handed out as a listener); the rest are prototype methods.
 */
class Waiter<R> {
  readonly signal: (final?: unknown) => void;
  private readonly o: LongPollOptions<R>;
  private readonly socket: Socket;
  private readonly open: Set<Waiter<unknown>>;
  private readonly resolve: (r: R | undefined) => void;
  private readonly reject: (error: unknown) => void;
  private changed = false;
  private finished: boolean;
  private reading = false;
  private done = false;
  private timer: NodeJS.Timeout | undefined;
  private unwatch: Unwatch | Unwatch[] | undefined;

  constructor(
    o: LongPollOptions<R>,
    open: Set<Waiter<unknown>>,
    stopping: boolean,
    resolve: (r: R | undefined) => void,
    reject: (error: unknown) => void,
  ) {
    this.o = o;
    this.socket = o.res.req.socket;
    this.open = open;
    this.resolve = resolve;
    this.reject = reject;
    this.finished = o.waitSeconds <= 0 || stopping;
    this.signal = (final?: unknown) => this.wake(final === true);
  }

  start(store: Pick<Store, "watch">): void {
    const { keys, res } = this.o;
    // Watch first, then read (see the top of this file).
    this.unwatch =
      keys.length === 1
        ? store.watch(keys[0] as string, this.signal)
        : keys.map((k) => store.watch(k, this.signal));
    res.on("close", this.signal);
    this.open.add(this as Waiter<unknown>);
    if (!this.finished) this.timer = setTimeout(this.signal, this.o.waitSeconds * 1000, true);
    this.read();
  }

  private wake(final: boolean): void {
    if (final) this.finished = true;
    this.changed = true;
    if (this.done || this.reading) return; // a read in flight sees `changed` when it returns
    if (this.socket.destroyed) this.end(undefined);
    else this.read();
  }

  private read(): void {
    this.changed = false;
    this.reading = true;
    let pending: Promise<R>;
    try {
      pending = this.o.read();
    } catch (error) {
      this.fail(error);
      return;
    }
    pending.then(
      (result) => this.settle(result),
      (error: unknown) => this.fail(error),
    );
  }

  private settle(result: R): void {
    this.reading = false;
    if (this.done) return;
    if (this.socket.destroyed) this.end(undefined);
    else if (this.finished || this.o.ready(result)) this.end(result);
    // A wake-up during the read: read again; otherwise sleep until the next one.
    else if (this.changed) this.read();
  }

  private fail(error: unknown): void {
    this.reading = false;
    if (this.done) return;
    this.cleanup();
    this.reject(error);
  }

  private end(result: R | undefined): void {
    this.cleanup();
    this.resolve(result);
  }

  private cleanup(): void {
    this.done = true;
    if (this.timer) clearTimeout(this.timer);
    const unwatch = this.unwatch;
    if (typeof unwatch === "function") unwatch();
    else if (unwatch) for (const u of unwatch) u();
    this.o.res.off("close", this.signal);
    this.open.delete(this as Waiter<unknown>);
  }

  /** Shutdown: answer now. */
  stop(): void {
    this.signal(true);
  }
}

export function createLongPoll(store: Pick<Store, "watch">): LongPoll {
  const open = new Set<Waiter<unknown>>();
  let stopping = false;

  return {
    run<R>(options: LongPollOptions<R>): Promise<R | undefined> {
      // The client left before we got here.
      if (options.res.req.socket.destroyed) return Promise.resolve(undefined);
      return new Promise<R | undefined>((resolve, reject) => {
        new Waiter(options, open, stopping, resolve, reject).start(store);
      });
    },
    shutdown() {
      stopping = true;
      for (const waiter of [...open]) waiter.stop();
    },
    size: () => open.size,
  };
}
