import { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { createLongPoll, type PollDone, type PollKind } from "./longPoll.ts";
import type { ReadPairingOutcome } from "./store/types.ts";
import { createWatchHub } from "./store/watchHub.ts";

/** A response as a long-poll sees it: `close` events and `req.socket.destroyed`. */
function fakeRes() {
  const res = new EventEmitter() as EventEmitter & { req: { socket: { destroyed: boolean } } };
  res.req = { socket: { destroyed: false } };
  return res;
}

function setup() {
  const hub = createWatchHub();
  const longPoll = createLongPoll({ watch: (key, listener) => hub.watch(key, listener) });
  const state = new Map<string, string | undefined>();
  const kind: PollKind<string, string | undefined> = {
    read: async (key) => state.get(key),
    ready: (value) => value !== undefined,
    answer: (res, value, key) => (res as unknown as EventEmitter).emit("answer", key, value),
  };
  const answers: { key: string; value: string | undefined; at: number }[] = [];
  let ended = 0;
  const done: PollDone = {
    end: () => {
      ended++;
    },
    fail: (error) => {
      throw error;
    },
  };
  const started = performance.now();
  const hold = (key: string, waitSeconds: number) => {
    const res = fakeRes();
    res.on("answer", (k: string, value: string | undefined) =>
      answers.push({ key: k, value, at: performance.now() - started }),
    );
    longPoll.hold(kind, { res: res as unknown as ServerResponse, keys: [key], waitSeconds, arg: key }, done);
    return res;
  };
  const write = (key: string, value: string) => {
    state.set(key, value);
    hub.notify([key]);
  };
  return { hub, longPoll, hold, write, answers, ended: () => ended };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("long-poll", () => {
  it("a wake-up that hands over the new state answers at once without a read; one without reads", async () => {
    const hub = createWatchHub();
    const longPoll = createLongPoll({ watch: (key, listener) => hub.watch(key, listener) });
    let reads = 0;
    let stored: ReadPairingOutcome = { ok: true, expiresAt: 1 };
    const kind: PollKind<string, ReadPairingOutcome> = {
      read: async () => {
        reads++;
        return stored;
      },
      woken: (state) => (state.kind === "pairing" ? state.outcome : undefined),
      ready: (r) => !r.ok || r.answer !== undefined,
      answer: (res, r) => (res as unknown as EventEmitter).emit("answer", r),
    };
    const answered: ReadPairingOutcome[] = [];
    const done: PollDone = { end: () => {}, fail: (error) => Promise.reject(error) };
    const hold = () => {
      const res = fakeRes();
      res.on("answer", (r: ReadPairingOutcome) => answered.push(r));
      longPoll.hold(
        kind,
        { res: res as unknown as ServerResponse, keys: ["p:x"], waitSeconds: 5, arg: "x" },
        done,
      );
    };
    hold();
    await sleep(5); // its first read found no answer: it waits
    expect(reads).toBe(1);
    const answer = { deviceId: "d", sessionId: "s", sealed: "x" };
    hub.notify(["p:x"], { kind: "pairing", outcome: { ok: true, expiresAt: 1, answer } });
    expect(answered).toEqual([{ ok: true, expiresAt: 1, answer }]); // in the same turn
    expect(reads).toBe(1);

    // A wake-up without state (another instance's write, through pub/sub): the poll reads.
    hold();
    await sleep(5);
    stored = { ok: true, expiresAt: 1, answer };
    hub.notify(["p:x"]);
    await sleep(5);
    expect(reads).toBe(3);
    expect(answered).toHaveLength(2);
    expect(longPoll.size()).toBe(0);
  });

  it("answers each poll at its own deadline, whatever the durations and departures around it", async () => {
    const t = setup();
    t.hold("a", 0.3);
    const gone = t.hold("b", 0.2);
    t.hold("c", 0.1);
    await sleep(30);
    t.hold("d", 0.2);
    expect(t.longPoll.size()).toBe(4);
    // The first of the 0.2 s polls leaves: the one behind it still waits its whole wait.
    gone.req.socket.destroyed = true;
    gone.emit("close");
    expect(t.longPoll.size()).toBe(3);
    await sleep(400);
    expect(t.answers.map((a) => a.key).sort()).toEqual(["a", "c", "d"]);
    const at = Object.fromEntries(t.answers.map((a) => [a.key, a.at]));
    expect(at.c).toBeGreaterThanOrEqual(95);
    expect(at.d).toBeGreaterThanOrEqual(225);
    expect(at.a).toBeGreaterThanOrEqual(295);
    expect(t.ended()).toBe(4);
    expect(t.longPoll.size()).toBe(0);
    expect(t.hub.size()).toBe(0);
  });

  it("wakes on a write, and at once on shutdown", async () => {
    const t = setup();
    t.hold("a", 30);
    t.hold("b", 30);
    await sleep(10);
    t.write("a", "answer");
    await sleep(10);
    expect(t.answers).toMatchObject([{ key: "a", value: "answer" }]);
    t.longPoll.shutdown();
    await sleep(10);
    expect(t.answers).toMatchObject([{ key: "a" }, { key: "b", value: undefined }]);
    expect(t.longPoll.size()).toBe(0);
    // After shutdown a new poll answers at once.
    t.hold("c", 30);
    await sleep(10);
    expect(t.answers.at(-1)).toMatchObject({ key: "c", value: undefined });
  });

  it("run(): the promise form resolves with the last read, or undefined when the client left", async () => {
    const t = setup();
    const res = fakeRes();
    const poll = () =>
      t.longPoll.run({
        res: res as unknown as ServerResponse,
        keys: ["k"],
        waitSeconds: 1,
        read: async () => "x",
        ready: () => true,
      });
    expect(await poll()).toBe("x");
    res.req.socket.destroyed = true;
    expect(await poll()).toBeUndefined();
  });
});
