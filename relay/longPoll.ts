/**
 * Long-polls that answer the moment the answer lands, without a polling loop inside the relay:
 *
 * 1. register watchers on the store keys FIRST, then read state: a write landing between the read and
 *    the wait has already flagged the watcher, so no wake-up is lost;
 * 2. sleep until a watcher fires, the wait runs out, the relay shuts down or the client goes away;
 * 3. re-read, unless the wake-up handed over the state a read would return (`WakeState`, from a write
 *    on this instance: the answer is sent in the write's own turn); on timeout or shutdown one final
 *    read decides (so an expiry shows as 410, not 204).
 *
 * Everything is unregistered on every exit path. An idle poll is what the relay holds most of (the
 * benchmark holds 10,000; docs/BENCHMARKS.md), so it is kept small: one object (`Waiter`), one bound
 * listener (for the watchers and the response's close), one watch registration per key. No promise,
 * no closure and no timer per poll: what to read and how to answer is one `PollKind` per route, the caller's
 * completion one `PollDone` per route, and the polls of one wait duration share one timer (their
 * deadlines come in arrival order, so a linked list is their queue).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Store, Unwatch, WakeState } from "./store/types.ts";

/** What a kind of long-poll reads and how it answers: one per route, shared by all its polls. */
export type PollKind<A, R> = {
  read(arg: A): Promise<R>;
  /**
   * The result a wake-up's state stands for (`WakeState`: what `read` would now return), or
   * undefined to read instead. Without it every wake-up reads.
   */
  woken?(state: WakeState, arg: A): R | undefined;
  /** True when `result` answers the poll (a result, or an error that will not change). */
  ready(result: R): boolean;
  /** Writes the answer from the last read (it may throw: then `PollDone.fail`). Not called when the client went away. */
  answer(res: ServerResponse, result: R, arg: A): void;
};

/** The caller's bookkeeping when a poll is over: one per route, shared by all its polls. */
export type PollDone = {
  /** Answered, or the client went away. */
  end(): void;
  /** A read or the answer threw: answer with the error. */
  fail(error: unknown, res: ServerResponse): void;
};

export type HoldOptions<A> = {
  res: ServerResponse<IncomingMessage>;
  keys: readonly string[];
  waitSeconds: number;
  /** Handed to the kind's `read` and `answer` (the poll's parameters). */
  arg: A;
};

export type LongPollOptions<R> = {
  res: ServerResponse<IncomingMessage>;
  keys: readonly string[];
  waitSeconds: number;
  read: () => Promise<R>;
  /** True when `r` answers the poll (a result, or an error that will not change). */
  ready: (r: R) => boolean;
};

export type LongPoll = {
  /** Holds a poll; `done` hears when it is over (it may hear it before `hold` returns). */
  hold<A, R>(kind: PollKind<A, R>, options: HoldOptions<A>, done: PollDone): void;
  /** The same with a promise: the last read's result, or undefined when the client went away (then send nothing). */
  run<R>(options: LongPollOptions<R>): Promise<R | undefined>;
  /** Wakes every open poll to answer now (with whatever state it finds): graceful shutdown. */
  shutdown(): void;
  /** Open polls. */
  size(): number;
};

const CHANGED = 1; // a wake-up came (during a read: read again)
const FINISHED = 2; // the wait is over (timeout, shutdown, no wait): the next read decides
const READING = 4;
const DONE = 8;

/** Monotonic milliseconds, whole (a small integer is stored inline; a fraction would be a boxed number). */
const now = () => Math.ceil(performance.now());

/** The polls waiting with one duration, oldest (soonest due) first, under one timer. */
class Timeline {
  head: Waiter | undefined = undefined;
  tail: Waiter | undefined = undefined;
  private timer: NodeJS.Timeout | undefined = undefined;
  /** The deadline the timer was set for. */
  private due = 0;
  private readonly fire: () => void;

  constructor(readonly ms: number) {
    this.fire = () => this.expire();
  }

  add(w: Waiter): void {
    w.deadline = now() + this.ms;
    w.timeline = this;
    w.prev = this.tail;
    if (this.tail) this.tail.next = w;
    else this.head = w;
    this.tail = w;
    if (!this.timer) this.arm();
  }

  remove(w: Waiter): void {
    if (w.prev) w.prev.next = w.next;
    else this.head = w.next;
    if (w.next) w.next.prev = w.prev;
    else this.tail = w.prev;
    w.prev = w.next = w.timeline = undefined;
    // A removed head leaves the timer as it is: it fires early for the new head and is set again.
    if (!this.head && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** Every poll due by the time the timer was set for (or by now): its wait is over. */
  private expire(): void {
    this.timer = undefined;
    const by = Math.max(this.due, now());
    const due: Waiter[] = [];
    for (let w = this.head; w && w.deadline <= by; w = w.next) due.push(w);
    for (const w of due) {
      if (w.timeline !== this) continue; // over meanwhile (an earlier one's answer closed it)
      this.remove(w);
      w.wake(true);
    }
    if (this.head && !this.timer) this.arm();
  }

  private arm(): void {
    const head = this.head as Waiter;
    this.due = head.deadline;
    this.timer = setTimeout(this.fire, Math.max(1, head.deadline - now()));
  }
}

type Polls = { timelines: Map<number, Timeline>; open: number };

/**
 * One open poll. `signal` (a bound method, the only function made per poll) serves the watchers and
 * the response's close; the timeline and shutdown call `wake(true)` directly.
 */
class Waiter<A = unknown, R = unknown> {
  readonly signal: (state?: WakeState) => void;
  prev: Waiter | undefined = undefined;
  next: Waiter | undefined = undefined;
  timeline: Timeline | undefined = undefined;
  deadline = 0;
  private state: number;
  private unwatch: Unwatch | Unwatch[] | undefined = undefined;

  constructor(
    private readonly polls: Polls,
    private readonly kind: PollKind<A, R>,
    private readonly arg: A,
    private readonly res: ServerResponse<IncomingMessage>,
    private readonly done: PollDone,
    finished: boolean,
  ) {
    this.state = finished ? FINISHED : 0;
    this.signal = this.changed.bind(this);
  }

  start(store: Pick<Store, "watch">, keys: readonly string[], waitSeconds: number): void {
    // Watch first, then read (see the top of this file).
    this.unwatch =
      keys.length === 1
        ? store.watch(keys[0] as string, this.signal)
        : keys.map((k) => store.watch(k, this.signal));
    this.res.on("close", this.signal);
    this.polls.open++;
    if (!(this.state & FINISHED)) {
      const ms = waitSeconds * 1000;
      let timeline = this.polls.timelines.get(ms);
      if (!timeline) {
        timeline = new Timeline(ms);
        this.polls.timelines.set(ms, timeline);
      }
      timeline.add(this as Waiter);
    }
    this.read();
  }

  /** A watcher fired (or the response closed: no argument). A state that answers spares the read. */
  private changed(state?: WakeState): void {
    if (state !== undefined && this.kind.woken && !(this.state & (DONE | READING))) {
      const result = this.kind.woken(state, this.arg);
      if (result !== undefined) {
        this.state |= READING;
        this.settle(result);
        return;
      }
    }
    this.wake(false);
  }

  wake(final: boolean): void {
    this.state |= final ? FINISHED | CHANGED : CHANGED;
    if (this.state & (DONE | READING)) return; // a read in flight sees CHANGED when it returns
    if (this.res.req.socket.destroyed) this.end(false);
    else this.read();
  }

  private read(): void {
    this.state = (this.state & ~CHANGED) | READING;
    let pending: Promise<R>;
    try {
      pending = this.kind.read(this.arg);
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
    this.state &= ~READING;
    if (this.state & DONE) return;
    if (this.res.req.socket.destroyed) this.end(false);
    else if (this.state & FINISHED || this.kind.ready(result)) this.end(true, result);
    // A wake-up during the read: read again; otherwise sleep until the next one.
    else if (this.state & CHANGED) this.read();
  }

  private fail(error: unknown): void {
    this.state &= ~READING;
    if (this.state & DONE) return;
    this.cleanup();
    this.done.fail(error, this.res);
  }

  /** Over: answer with `result`, or (`answer` false: the client went away) send nothing. */
  private end(answer: boolean, result?: R): void {
    this.cleanup();
    if (answer) {
      try {
        this.kind.answer(this.res, result as R, this.arg);
      } catch (error) {
        this.done.fail(error, this.res);
        return;
      }
    }
    this.done.end();
  }

  private cleanup(): void {
    this.state |= DONE;
    this.timeline?.remove(this as Waiter);
    const unwatch = this.unwatch;
    if (typeof unwatch === "function") unwatch();
    else if (unwatch) for (const u of unwatch) u();
    this.res.off("close", this.signal);
    this.polls.open--;
  }
}

export function createLongPoll(store: Pick<Store, "watch">): LongPoll {
  const polls: Polls = { timelines: new Map(), open: 0 };
  let stopping = false;

  function hold<A, R>(kind: PollKind<A, R>, o: HoldOptions<A>, done: PollDone): void {
    // The client left before we got here.
    if (o.res.req.socket.destroyed) {
      done.end();
      return;
    }
    const finished = o.waitSeconds <= 0 || stopping;
    new Waiter(polls, kind, o.arg, o.res, done, finished).start(store, o.keys, o.waitSeconds);
  }

  return {
    hold,
    run<R>(options: LongPollOptions<R>): Promise<R | undefined> {
      return new Promise<R | undefined>((resolve, reject) => {
        let last: R | undefined;
        const kind: PollKind<undefined, R> = {
          read: options.read,
          ready: options.ready,
          answer: (_res, result) => {
            last = result;
          },
        };
        hold(kind, { ...options, arg: undefined }, { end: () => resolve(last), fail: reject });
      });
    },
    shutdown() {
      stopping = true;
      const open: Waiter[] = [];
      for (const timeline of polls.timelines.values()) {
        for (let w = timeline.head; w; w = w.next) open.push(w);
      }
      for (const w of open) w.wake(true);
    },
    size: () => polls.open,
  };
}
