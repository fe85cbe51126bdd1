/**
 * The behaviour every Store must have: one Vitest suite, run by each implementation's test file
 * (`memory.test.ts`, `journal.test.ts`, `lmdb.test.ts`, `redis.test.ts`) unchanged. It tests outcomes
 * only, never internals. Time is driven through `options.now`: an implementation must judge expiry by
 * that clock (native TTLs may only be used to reclaim space after the tombstone grace). Below it, the
 * durability suite for the stores on disk and the batching backends' suite.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { toBase64Url } from "../../protocol/base64url.ts";
import type { PushTarget } from "../../protocol/schemas.ts";
import type { Backend, Op } from "./backend.ts";
import { type Store, type StoreOptions, StoreUnavailableError, type WakeState, watchKeys } from "./types.ts";

export type MakeStore = (options: StoreOptions) => Store | Promise<Store>;

const id32 = () => toBase64Url(randomBytes(32));
/** Opaque payloads: the store never looks inside `sealed`. */
const sealed = (tag = "") => `AA${toBase64Url(randomBytes(40))}${tag}`;
const pairAnswer = (sessionId = id32()) => ({ deviceId: randomUUID(), sessionId, sealed: sealed() });

const T0 = 1_750_000_000_000; // ms, a whole second
const OPTIONS = {
  sessionIdleTtl: 1000,
  tombstoneGrace: 60,
  eventRetention: 500,
  eventMax: 5,
  maxPendingPerSession: 3,
} as const;

/** Resolves on the next call of a watch listener (or fails after `ms`); keeps the states handed over. */
function nextWake(store: Store, key: string, ms = 1000) {
  const states: Array<WakeState | undefined> = [];
  let resolve: () => void = () => {};
  const woke = new Promise<void>((r) => {
    resolve = r;
  });
  const unwatch = store.watch(key, (state) => {
    states.push(state);
    resolve();
  });
  return {
    calls: () => states.length,
    states: () => states,
    unwatch,
    woke: () =>
      Promise.race([
        woke,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no wake-up on ${key}`)), ms)),
      ]),
  };
}

export function storeContract(name: string, makeStore: MakeStore): void {
  describe(`Store contract: ${name}`, () => {
    let t = T0;
    let store: Store;
    const advance = (seconds: number) => {
      t += seconds * 1000;
    };

    beforeEach(async () => {
      t = T0;
      store = await makeStore({ ...OPTIONS, now: () => t });
    });
    afterEach(async () => {
      await store.close();
    });

    /** A session created the only way there is: answering a pairing. */
    async function session(push?: PushTarget): Promise<string> {
      const token = id32();
      expect(await store.createPairing(token, 60)).toMatchObject({ ok: true });
      const answer = pairAnswer();
      expect(await store.answerPairing(token, answer, push)).toMatchObject({ ok: true, repeated: false });
      return answer.sessionId;
    }

    describe("pairings", () => {
      it("creates a pairing with expiresAt = now + ttl (rounded up) and refuses the same token twice", async () => {
        const token = id32();
        t = T0 + 400;
        expect(await store.createPairing(token, 30)).toEqual({ ok: true, expiresAt: T0 / 1000 + 1 + 30 });
        expect(await store.createPairing(token, 30)).toEqual({ ok: false, error: "pairing_exists" });
        expect(await store.readPairing(token)).toEqual({ ok: true, expiresAt: T0 / 1000 + 31 });
        expect(await store.readPairing(id32())).toEqual({ ok: false, error: "pairing_not_found" });
      });

      it("stores the answer once: repeat is idempotent, a different answer is refused", async () => {
        const token = id32();
        await store.createPairing(token, 30);
        const answer = pairAnswer();
        expect(await store.answerPairing(id32(), answer)).toEqual({ ok: false, error: "pairing_not_found" });
        expect(await store.answerPairing(token, answer)).toEqual({
          ok: true,
          repeated: false,
          createdAt: T0 / 1000,
        });
        expect(await store.answerPairing(token, { ...answer })).toEqual({ ok: true, repeated: true });
        expect(await store.answerPairing(token, pairAnswer())).toEqual({
          ok: false,
          error: "pairing_answered",
        });
        expect(await store.readPairing(token)).toEqual({ ok: true, expiresAt: T0 / 1000 + 30, answer });
      });

      it("creates the session with the answer, and refuses a second pairing for the same session id", async () => {
        const push: PushTarget = { type: "webhook", url: "https://wallet.example/hook" };
        const sid = await session(push);
        const posted = await store.postRequest(sid, { id: randomUUID(), sealed: sealed(), ttl: 30 });
        expect(posted).toMatchObject({ ok: true, created: true, push });

        const token = id32();
        await store.createPairing(token, 30);
        expect(await store.answerPairing(token, pairAnswer(sid))).toEqual({
          ok: false,
          error: "session_exists",
        });
        // The refused answer left the pairing unanswered.
        expect(await store.readPairing(token)).toEqual({ ok: true, expiresAt: T0 / 1000 + 30 });
      });

      it("expires: 410 while remembered, forgotten after the grace", async () => {
        const token = id32();
        await store.createPairing(token, 10);
        advance(9.9);
        expect(await store.readPairing(token)).toMatchObject({ ok: true });
        advance(0.1);
        expect(await store.readPairing(token)).toEqual({ ok: false, error: "pairing_expired" });
        expect(await store.answerPairing(token, pairAnswer())).toEqual({
          ok: false,
          error: "pairing_expired",
        });
        expect(await store.ackPairing(token)).toEqual({ ok: false, error: "pairing_expired" });
        expect(await store.createPairing(token, 10)).toEqual({ ok: false, error: "pairing_exists" });
        advance(OPTIONS.tombstoneGrace);
        expect(await store.sweep()).toBeGreaterThanOrEqual(1);
        expect(await store.readPairing(token)).toEqual({ ok: false, error: "pairing_not_found" });
        expect(await store.createPairing(token, 10)).toMatchObject({ ok: true });
      });

      it("an answered pairing still expires at its ttl", async () => {
        const token = id32();
        await store.createPairing(token, 10);
        await store.answerPairing(token, pairAnswer());
        advance(10);
        expect(await store.readPairing(token)).toEqual({ ok: false, error: "pairing_expired" });
      });

      it("acknowledge forgets the answer but keeps the token reserved", async () => {
        const token = id32();
        await store.createPairing(token, 30);
        const answer = pairAnswer();
        await store.answerPairing(token, answer);
        expect(await store.ackPairing(token)).toEqual({ ok: true, answered: true });
        expect(await store.readPairing(token)).toEqual({ ok: false, error: "pairing_not_found" });
        expect(await store.ackPairing(token)).toEqual({ ok: false, error: "pairing_not_found" });
        expect(await store.createPairing(token, 30)).toEqual({ ok: false, error: "pairing_exists" });
        // A late retry of the same answer is still recognised; another answer is not accepted.
        expect(await store.answerPairing(token, answer)).toEqual({ ok: true, repeated: true });
        expect(await store.answerPairing(token, pairAnswer())).toEqual({
          ok: false,
          error: "pairing_answered",
        });
      });

      it("acknowledging an unanswered pairing cancels it", async () => {
        const token = id32();
        await store.createPairing(token, 30);
        expect(await store.ackPairing(token)).toEqual({ ok: true, answered: false });
        expect(await store.answerPairing(token, pairAnswer())).toEqual({
          ok: false,
          error: "pairing_not_found",
        });
      });

      it("wakes pairing watchers on answer and acknowledge, not after unwatch", async () => {
        const token = id32();
        await store.createPairing(token, 30);
        const w = nextWake(store, watchKeys.pairing(token));
        await store.answerPairing(token, pairAnswer());
        await w.woke();
        expect(w.calls()).toBe(1);
        // The answer hands its watchers what a read now returns (a long-poll answers without one).
        expect(w.states()[0]).toEqual({ kind: "pairing", outcome: await store.readPairing(token) });
        await store.ackPairing(token);
        expect(w.calls()).toBe(2);
        expect(w.states()[1]).toBeUndefined();
        w.unwatch();
        w.unwatch();
        const token2 = id32();
        await store.createPairing(token2, 30);
        await store.answerPairing(token2, pairAnswer());
        expect(w.calls()).toBe(2);
      });
    });

    describe("requests", () => {
      it("refuses every request operation on an unknown session", async () => {
        const sid = id32();
        const id = randomUUID();
        const nf = { ok: false, error: "session_not_found" };
        expect(await store.postRequest(sid, { id, sealed: sealed(), ttl: 30 })).toEqual(nf);
        expect(await store.fetchRequest(sid, id)).toEqual(nf);
        expect(await store.fetchPending(sid)).toEqual(nf);
        expect(await store.putResponse(sid, id, sealed())).toEqual(nf);
        expect(await store.readResponse(sid, id)).toEqual(nf);
        expect(await store.deleteRequest(sid, id)).toEqual(nf);
        expect(await store.markNotified(sid, id)).toBe(false);
        expect(await store.postEvent(sid, { id, sealed: sealed() })).toEqual(nf);
        expect(await store.readEvents(sid, 0, 10)).toEqual(nf);
        expect(await store.deleteSession(sid)).toEqual(nf);
      });

      it("is idempotent on {id, sealed} and refuses a different body under the same id", async () => {
        const sid = await session();
        const id = randomUUID();
        const body = sealed();
        const first = await store.postRequest(sid, { id, sealed: body, ttl: 30 });
        expect(first).toEqual({ ok: true, created: true, expiresAt: T0 / 1000 + 30 });
        advance(2);
        expect(await store.postRequest(sid, { id, sealed: body, ttl: 99 })).toEqual({
          ok: true,
          created: false,
          expiresAt: T0 / 1000 + 30,
        });
        expect(await store.postRequest(sid, { id, sealed: sealed(), ttl: 30 })).toEqual({
          ok: false,
          error: "request_conflict",
        });
        expect(await store.fetchRequest(sid, randomUUID())).toEqual({
          ok: false,
          error: "request_not_found",
        });
      });

      it("tracks delivery: queued → notified → fetched → answered", async () => {
        const sid = await session();
        const id = randomUUID();
        const body = sealed();
        await store.postRequest(sid, { id, sealed: body, ttl: 30 });
        expect(await store.readResponse(sid, id)).toEqual({ ok: true, status: "queued" });
        expect(await store.markNotified(sid, id)).toBe(true);
        expect(await store.markNotified(sid, id)).toBe(false);
        expect(await store.readResponse(sid, id)).toEqual({ ok: true, status: "notified" });
        expect(await store.fetchRequest(sid, id)).toEqual({
          ok: true,
          request: { id, sealed: body, expiresAt: T0 / 1000 + 30 },
        });
        expect(await store.readResponse(sid, id)).toEqual({ ok: true, status: "fetched" });
        // A late push success never downgrades `fetched`.
        expect(await store.markNotified(sid, id)).toBe(false);
        expect(await store.readResponse(sid, id)).toEqual({ ok: true, status: "fetched" });
        const response = sealed();
        expect(await store.putResponse(sid, id, response)).toMatchObject({ ok: true, repeated: false });
        expect(await store.readResponse(sid, id)).toEqual({ ok: true, sealed: response });
        // The wallet may read its request again after answering.
        expect(await store.fetchRequest(sid, id)).toMatchObject({ ok: true, request: { id, sealed: body } });
      });

      it("first response wins; the identical response again is a harmless repeat", async () => {
        const sid = await session();
        const id = randomUUID();
        await store.postRequest(sid, { id, sealed: sealed(), ttl: 30 });
        const response = sealed();
        const w = nextWake(store, watchKeys.request(sid, id));
        expect(await store.putResponse(sid, id, response)).toMatchObject({ ok: true, repeated: false });
        await w.woke();
        expect(await store.putResponse(sid, id, sealed())).toEqual({ ok: false, error: "request_answered" });
        expect(await store.putResponse(sid, id, response)).toEqual({ ok: true, repeated: true });
        expect(await store.readResponse(sid, id)).toEqual({ ok: true, sealed: response });
        // The response reached the request's watchers with what a read returns; repeats woke no one.
        expect(w.states()).toEqual([{ kind: "response", outcome: await store.readResponse(sid, id) }]);
        w.unwatch();
        expect(await store.putResponse(sid, randomUUID(), response)).toEqual({
          ok: false,
          error: "request_not_found",
        });
      });

      it("lists pending requests oldest first, marks them fetched, skips answered/cancelled/expired", async () => {
        const sid = await session();
        const ids = [randomUUID(), randomUUID(), randomUUID()];
        const bodies = ids.map(() => sealed());
        await store.postRequest(sid, { id: ids[0] as string, sealed: bodies[0] as string, ttl: 5 });
        await store.postRequest(sid, { id: ids[1] as string, sealed: bodies[1] as string, ttl: 30 });
        await store.postRequest(sid, { id: ids[2] as string, sealed: bodies[2] as string, ttl: 30 });
        const all = await store.fetchPending(sid);
        expect(all).toEqual({
          ok: true,
          requests: ids.map((id, i) => ({
            id,
            sealed: bodies[i],
            expiresAt: T0 / 1000 + (i === 0 ? 5 : 30),
          })),
          fresh: 3,
        });
        for (const id of ids)
          expect(await store.readResponse(sid, id)).toEqual({ ok: true, status: "fetched" });
        // Fetched but unanswered requests are still pending: the pull path returns them again.
        expect(await store.fetchPending(sid)).toMatchObject({
          ok: true,
          requests: [{ id: ids[0] }, { id: ids[1] }, { id: ids[2] }],
          fresh: 0,
        });
        await store.putResponse(sid, ids[1] as string, sealed());
        // A new request is the only fresh one; the list still holds every pending request.
        const late = randomUUID();
        expect(await store.postRequest(sid, { id: late, sealed: sealed(), ttl: 30 })).toMatchObject({
          ok: true,
        });
        expect(await store.fetchPending(sid)).toMatchObject({
          ok: true,
          requests: [{ id: ids[0] }, { id: ids[2] }, { id: late }],
          fresh: 1,
        });
        await store.deleteRequest(sid, late);
        await store.deleteRequest(sid, ids[2] as string);
        advance(5);
        expect(await store.fetchPending(sid)).toEqual({ ok: true, requests: [], fresh: 0 });
      });

      it("bounds pending requests per session; answered, cancelled and expired ones free their slot", async () => {
        const sid = await session();
        const ids: string[] = [];
        for (let i = 0; i < OPTIONS.maxPendingPerSession; i++) {
          const id = randomUUID();
          ids.push(id);
          expect(await store.postRequest(sid, { id, sealed: sealed(), ttl: 10 + i })).toMatchObject({
            ok: true,
          });
        }
        const extra = { id: randomUUID(), sealed: sealed(), ttl: 30 };
        expect(await store.postRequest(sid, extra)).toEqual({ ok: false, error: "too_many_pending" });
        // A retry of an existing request is not a new pending one.
        await store.putResponse(sid, ids[0] as string, sealed());
        expect(await store.postRequest(sid, extra)).toMatchObject({ ok: true, created: true });
        expect(await store.postRequest(sid, { ...extra, id: randomUUID() })).toEqual({
          ok: false,
          error: "too_many_pending",
        });
        await store.deleteRequest(sid, ids[1] as string);
        expect(await store.postRequest(sid, { ...extra, id: randomUUID() })).toMatchObject({ ok: true });
        expect(await store.postRequest(sid, { ...extra, id: randomUUID() })).toEqual({
          ok: false,
          error: "too_many_pending",
        });
        advance(13); // ids[2] (ttl 12) has expired
        expect(await store.postRequest(sid, { ...extra, id: randomUUID() })).toMatchObject({ ok: true });
      });

      it("expires: 410 everywhere until the grace ends, then forgotten", async () => {
        const sid = await session();
        const id = randomUUID();
        const body = sealed();
        await store.postRequest(sid, { id, sealed: body, ttl: 10 });
        advance(10);
        const expired = { ok: false, error: "request_expired" };
        expect(await store.fetchRequest(sid, id)).toEqual(expired);
        expect(await store.putResponse(sid, id, sealed())).toEqual(expired);
        expect(await store.readResponse(sid, id)).toEqual(expired);
        expect(await store.deleteRequest(sid, id)).toEqual(expired);
        expect(await store.postRequest(sid, { id, sealed: body, ttl: 10 })).toEqual(expired);
        expect(await store.postRequest(sid, { id, sealed: sealed(), ttl: 10 })).toEqual({
          ok: false,
          error: "request_conflict",
        });
        advance(OPTIONS.tombstoneGrace);
        await store.sweep();
        expect(await store.fetchRequest(sid, id)).toEqual({ ok: false, error: "request_not_found" });
        expect(await store.readResponse(sid, id)).toEqual({ ok: false, error: "request_not_found" });
      });

      it("keeps a response that landed before expiry readable after it", async () => {
        const sid = await session();
        const id = randomUUID();
        await store.postRequest(sid, { id, sealed: sealed(), ttl: 10 });
        const response = sealed();
        await store.putResponse(sid, id, response);
        advance(20);
        expect(await store.readResponse(sid, id)).toEqual({ ok: true, sealed: response });
        expect(await store.deleteRequest(sid, id)).toEqual({ ok: true, action: "acknowledged" });
      });

      it("cancel before a response: the wallet sees request_cancelled until expiry, then request_expired", async () => {
        const sid = await session();
        const id = randomUUID();
        await store.postRequest(sid, { id, sealed: sealed(), ttl: 10 });
        const w = nextWake(store, watchKeys.request(sid, id));
        expect(await store.deleteRequest(sid, id)).toEqual({ ok: true, action: "cancelled" });
        await w.woke();
        w.unwatch();
        const cancelled = { ok: false, error: "request_cancelled" };
        expect(await store.fetchRequest(sid, id)).toEqual(cancelled);
        expect(await store.putResponse(sid, id, sealed())).toEqual(cancelled);
        expect(await store.readResponse(sid, id)).toEqual(cancelled);
        expect(await store.deleteRequest(sid, id)).toEqual({ ok: true, action: "cancelled" });
        advance(10);
        expect(await store.fetchRequest(sid, id)).toEqual({ ok: false, error: "request_expired" });
      });

      it("acknowledge after a response forgets request and response", async () => {
        const sid = await session();
        const id = randomUUID();
        const body = sealed();
        await store.postRequest(sid, { id, sealed: body, ttl: 30 });
        const response = sealed();
        await store.putResponse(sid, id, response);
        expect(await store.deleteRequest(sid, id)).toEqual({ ok: true, action: "acknowledged" });
        const nf = { ok: false, error: "request_not_found" };
        expect(await store.readResponse(sid, id)).toEqual(nf);
        expect(await store.fetchRequest(sid, id)).toEqual(nf);
        expect(await store.deleteRequest(sid, id)).toEqual(nf);
        // Late retries stay idempotent and never resurrect the request.
        expect(await store.putResponse(sid, id, response)).toEqual({ ok: true, repeated: true });
        expect(await store.postRequest(sid, { id, sealed: body, ttl: 30 })).toMatchObject({
          ok: true,
          created: false,
        });
        expect(await store.fetchPending(sid)).toEqual({ ok: true, requests: [], fresh: 0 });
      });

      it("wakes watchers: new request on the session's requests key, response on the request key", async () => {
        const sid = await session();
        const id = randomUUID();
        const list = nextWake(store, watchKeys.requests(sid));
        await store.postRequest(sid, { id, sealed: sealed(), ttl: 30 });
        await list.woke();
        const one = nextWake(store, watchKeys.request(sid, id));
        await store.putResponse(sid, id, sealed());
        await one.woke();
        expect(one.calls()).toBe(1);
        list.unwatch();
        one.unwatch();
      });
    });

    describe("events", () => {
      it("numbers events from 1, is idempotent on {id, sealed}, refuses a different body", async () => {
        const sid = await session();
        const a = { id: randomUUID(), sealed: sealed() };
        const b = { id: randomUUID(), sealed: sealed() };
        expect(await store.postEvent(sid, a)).toEqual({ ok: true, created: true, seq: 1 });
        expect(await store.postEvent(sid, b)).toEqual({ ok: true, created: true, seq: 2 });
        expect(await store.postEvent(sid, a)).toEqual({ ok: true, created: false, seq: 1 });
        expect(await store.postEvent(sid, { id: a.id, sealed: sealed() })).toEqual({
          ok: false,
          error: "event_conflict",
        });
        expect(await store.readEvents(sid, 0, 10)).toEqual({
          ok: true,
          events: [
            { seq: 1, ...a },
            { seq: 2, ...b },
          ],
        });
        expect(await store.readEvents(sid, 1, 10)).toEqual({ ok: true, events: [{ seq: 2, ...b }] });
        expect(await store.readEvents(sid, 2, 10)).toEqual({ ok: true, events: [] });
        expect(await store.readEvents(sid, 0, 1)).toEqual({ ok: true, events: [{ seq: 1, ...a }] });
        // Sequence numbers are per session.
        const other = await session();
        expect(await store.postEvent(other, { id: randomUUID(), sealed: sealed() })).toMatchObject({
          seq: 1,
        });
      });

      it("retains the newest eventMax events and none older than the retention time", async () => {
        const sid = await session();
        for (let i = 1; i <= OPTIONS.eventMax + 2; i++) {
          expect(await store.postEvent(sid, { id: randomUUID(), sealed: sealed() })).toMatchObject({
            seq: i,
          });
          advance(1);
        }
        const kept = await store.readEvents(sid, 0, 100);
        expect(kept.ok && kept.events.map((e) => e.seq)).toEqual([3, 4, 5, 6, 7]);
        advance(OPTIONS.eventRetention - 4); // events 3 and 4 are now older than the retention
        const fresh = await store.readEvents(sid, 0, 100);
        expect(fresh.ok && fresh.events.map((e) => e.seq)).toEqual([5, 6, 7]);
        expect(await store.postEvent(sid, { id: randomUUID(), sealed: sealed() })).toMatchObject({ seq: 8 });
      });

      it("wakes event watchers", async () => {
        const sid = await session();
        const w = nextWake(store, watchKeys.events(sid));
        await store.postEvent(sid, { id: randomUUID(), sealed: sealed() });
        await w.woke();
        w.unwatch();
      });
    });

    describe("sessions", () => {
      it("delete drops everything, wakes session watchers, and later calls get session_not_found", async () => {
        const push: PushTarget = { type: "webhook", url: "https://wallet.example/hook" };
        const sid = await session(push);
        const id = randomUUID();
        await store.postRequest(sid, { id, sealed: sealed(), ttl: 30 });
        await store.postEvent(sid, { id: randomUUID(), sealed: sealed() });
        const w = nextWake(store, watchKeys.session(sid));
        expect(await store.deleteSession(sid)).toEqual({ ok: true });
        await w.woke();
        w.unwatch();
        const nf = { ok: false, error: "session_not_found" };
        expect(await store.deleteSession(sid)).toEqual(nf);
        expect(await store.fetchRequest(sid, id)).toEqual(nf);
        expect(await store.readResponse(sid, id)).toEqual(nf);
        expect(await store.fetchPending(sid)).toEqual(nf);
        expect(await store.readEvents(sid, 0, 10)).toEqual(nf);
        expect(await store.postRequest(sid, { id, sealed: sealed(), ttl: 30 })).toEqual(nf);
      });

      it("expires after the idle time, sliding on activity", async () => {
        const sid = await session();
        advance(OPTIONS.sessionIdleTtl - 1);
        expect(await store.fetchPending(sid)).toEqual({ ok: true, requests: [], fresh: 0 });
        advance(OPTIONS.sessionIdleTtl - 1);
        expect(await store.readEvents(sid, 0, 10)).toEqual({ ok: true, events: [] });
        advance(OPTIONS.sessionIdleTtl - 1);
        expect(await store.postEvent(sid, { id: randomUUID(), sealed: sealed() })).toMatchObject({
          ok: true,
        });
        advance(OPTIONS.sessionIdleTtl);
        expect(await store.fetchPending(sid)).toEqual({ ok: false, error: "session_not_found" });
        await store.sweep();
        expect(await store.deleteSession(sid)).toEqual({ ok: false, error: "session_not_found" });
      });

      it("a session id can be paired again once the old session is gone", async () => {
        const sid = await session();
        await store.deleteSession(sid);
        const token = id32();
        await store.createPairing(token, 30);
        expect(await store.answerPairing(token, pairAnswer(sid))).toMatchObject({
          ok: true,
          repeated: false,
        });
        expect(await store.readEvents(sid, 0, 10)).toEqual({ ok: true, events: [] });
      });
    });

    describe("operator tools", () => {
      it("answers report when the pairing was created and the request posted (first answer only)", async () => {
        const token = id32();
        t = T0 + 500;
        await store.createPairing(token, 60);
        advance(3);
        const answer = pairAnswer();
        expect(await store.answerPairing(token, answer)).toEqual({
          ok: true,
          repeated: false,
          createdAt: T0 / 1000 + 0.5,
        });
        expect(await store.answerPairing(token, answer)).toEqual({ ok: true, repeated: true });
        const sid = answer.sessionId;
        const id = randomUUID();
        await store.postRequest(sid, { id, sealed: sealed(), ttl: 30 });
        advance(2);
        const response = sealed();
        expect(await store.putResponse(sid, id, response)).toEqual({
          ok: true,
          repeated: false,
          postedAt: T0 / 1000 + 3.5,
        });
        expect(await store.putResponse(sid, id, response)).toEqual({ ok: true, repeated: true });
      });

      it("dropPush removes the session's push target only while it is the same target", async () => {
        const push: PushTarget = {
          type: "webpush",
          subscription: { endpoint: "https://push.example/sub/1", keys: { p256dh: "BPk", auth: "a1" } },
        };
        const sid = await session(push);
        const other: PushTarget = { type: "webhook", url: "https://wallet.example/hook" };
        expect(await store.dropPush(sid, other)).toBe(false);
        expect(await store.dropPush(id32(), push)).toBe(false);
        // Compared by value, whatever the key order.
        const reordered = JSON.parse(
          '{"subscription":{"keys":{"auth":"a1","p256dh":"BPk"},"endpoint":"https://push.example/sub/1"},"type":"webpush"}',
        ) as PushTarget;
        expect(await store.dropPush(sid, reordered)).toBe(true);
        expect(await store.dropPush(sid, push)).toBe(false);
        const posted = await store.postRequest(sid, { id: randomUUID(), sealed: sealed(), ttl: 30 });
        expect(posted).toMatchObject({ ok: true, created: true });
        expect(posted.ok && posted.push).toBeUndefined();
        // The session itself is untouched: still pullable.
        expect(await store.fetchPending(sid)).toMatchObject({ ok: true, fresh: 1 });
      });

      it("sessionDevice names a live session's device, and nothing once it is gone", async () => {
        const token = id32();
        await store.createPairing(token, 60);
        const answer = pairAnswer();
        await store.answerPairing(token, answer);
        expect(await store.sessionDevice(answer.sessionId)).toBe(answer.deviceId);
        expect(await store.sessionDevice(id32())).toBeUndefined();
        await store.deleteSession(answer.sessionId);
        expect(await store.sessionDevice(answer.sessionId)).toBeUndefined();
      });

      it("keeps the lockdown state: pairing lock and blocked devices, never expiring", async () => {
        expect(await store.readLockdown()).toEqual({ pairingsLocked: false, blockedDevices: [] });
        await store.lockPairings(true);
        await store.lockPairings(true);
        const a = randomUUID();
        const b = randomUUID();
        expect(await store.blockDevice(a, true)).toBe(true);
        expect(await store.blockDevice(a, true)).toBe(false);
        expect(await store.blockDevice(b, true)).toBe(true);
        const state = await store.readLockdown();
        expect(state.pairingsLocked).toBe(true);
        expect([...state.blockedDevices].sort()).toEqual([a, b].sort());
        advance(OPTIONS.sessionIdleTtl * 10 + OPTIONS.tombstoneGrace * 10);
        await store.sweep();
        expect((await store.readLockdown()).pairingsLocked).toBe(true);
        expect(await store.blockDevice(a, false)).toBe(true);
        expect(await store.blockDevice(a, false)).toBe(false);
        await store.lockPairings(false);
        expect(await store.readLockdown()).toEqual({ pairingsLocked: false, blockedDevices: [b] });
      });

      it("adds statistics counters per day, atomically under concurrency", async () => {
        expect(await store.readStats("2025-06-15")).toEqual({});
        await store.recordStats("2025-06-15", { pairings_created: 2, requests_posted: 1 });
        await Promise.all(
          Array.from({ length: 20 }, () => store.recordStats("2025-06-15", { pairings_created: 1, x: 0.5 })),
        );
        await store.recordStats("2025-06-16", { pairings_created: 7 });
        await store.recordStats("2025-06-15", {});
        expect(await store.readStats("2025-06-15")).toEqual({
          pairings_created: 22,
          requests_posted: 1,
          x: 10,
        });
        expect(await store.readStats("2025-06-16")).toEqual({ pairings_created: 7 });
        // Kept well beyond every other record's lifetime.
        advance(30 * 86_400);
        await store.sweep();
        expect(await store.readStats("2025-06-16")).toEqual({ pairings_created: 7 });
      });

      it("tells how a pairing ended: pending, answered, cancelled, expired, unknown", async () => {
        const [answered, cancelled, expired, pending] = [id32(), id32(), id32(), id32()];
        for (const token of [answered, cancelled, expired]) await store.createPairing(token, 10);
        await store.createPairing(pending, 60);
        await store.answerPairing(answered, pairAnswer());
        await store.ackPairing(cancelled);
        expect(await store.pairingFate(expired)).toBe("pending");
        advance(10);
        expect(await store.pairingFate(answered)).toBe("answered");
        expect(await store.pairingFate(cancelled)).toBe("cancelled");
        expect(await store.pairingFate(expired)).toBe("expired");
        expect(await store.pairingFate(pending)).toBe("pending");
        expect(await store.pairingFate(id32())).toBe("unknown");
        advance(OPTIONS.tombstoneGrace);
        expect(await store.pairingFate(expired)).toBe("unknown");
      });

      it("tells how a request ended: pending, answered, cancelled, expired, unknown", async () => {
        const sid = await session();
        const [answered, acked, cancelled, expired] = [
          randomUUID(),
          randomUUID(),
          randomUUID(),
          randomUUID(),
        ];
        // At most maxPendingPerSession (3) pending at once.
        for (const id of [answered, acked, cancelled]) {
          expect(await store.postRequest(sid, { id, sealed: sealed(), ttl: 10 })).toMatchObject({ ok: true });
        }
        expect(await store.requestFate(sid, cancelled)).toBe("pending");
        await store.putResponse(sid, answered, sealed());
        await store.putResponse(sid, acked, sealed());
        await store.deleteRequest(sid, acked);
        await store.deleteRequest(sid, cancelled);
        expect(await store.postRequest(sid, { id: expired, sealed: sealed(), ttl: 10 })).toMatchObject({
          ok: true,
        });
        expect(await store.requestFate(sid, expired)).toBe("pending");
        advance(10);
        expect(await store.requestFate(sid, answered)).toBe("answered");
        expect(await store.requestFate(sid, acked)).toBe("answered");
        expect(await store.requestFate(sid, cancelled)).toBe("cancelled");
        expect(await store.requestFate(sid, expired)).toBe("expired");
        expect(await store.requestFate(sid, randomUUID())).toBe("unknown");
        expect(await store.requestFate(id32(), expired)).toBe("unknown");
        await store.deleteSession(sid);
        expect(await store.requestFate(sid, answered)).toBe("unknown");
      });
    });

    describe("plumbing", () => {
      it("sweep keeps live entries", async () => {
        const sid = await session();
        const id = randomUUID();
        await store.postRequest(sid, { id, sealed: sealed(), ttl: 30 });
        await store.sweep();
        expect(await store.fetchRequest(sid, id)).toMatchObject({ ok: true });
      });

      it("answers ping, and rejects with StoreUnavailableError once closed", async () => {
        await expect(store.ping()).resolves.toBeUndefined();
        await store.close();
        await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
        await expect(store.createPairing(id32(), 30)).rejects.toBeInstanceOf(StoreUnavailableError);
        await expect(store.readPairing(id32())).rejects.toBeInstanceOf(StoreUnavailableError);
      });
    });
  });
}

/**
 * For stores on disk (journal, LMDB): what was acknowledged is there after a close and a reopen of
 * the same directory, expiry included (absolute times, judged by the clock after the reopen).
 */
export function durabilityContract(
  name: string,
  open: (o: { dataDir: string; now: () => number }) => Store,
  dataDir: () => string,
): void {
  describe(`Store durability: ${name}`, () => {
    it("keeps acknowledged writes and their expiry across a reopen", async () => {
      const dir = dataDir();
      let t = T0;
      const now = () => t;
      const token = id32();
      const sessionId = id32();
      const id = randomUUID();
      const body = sealed();

      const first = open({ dataDir: dir, now });
      await first.createPairing(token, 10);
      const pairingToken = id32();
      await first.createPairing(pairingToken, 10);
      await first.answerPairing(pairingToken, { deviceId: randomUUID(), sessionId, sealed: sealed() });
      await first.postRequest(sessionId, { id, sealed: body, ttl: 10 });
      await first.close();

      const second = open({ dataDir: dir, now });
      expect(await second.readPairing(token)).toEqual({ ok: true, expiresAt: t / 1000 + 10 });
      expect(await second.fetchRequest(sessionId, id)).toEqual({
        ok: true,
        request: { id, sealed: body, expiresAt: t / 1000 + 10 },
      });
      t += 10_000;
      expect(await second.readPairing(token)).toEqual({ ok: false, error: "pairing_expired" });
      expect(await second.fetchRequest(sessionId, id)).toEqual({ ok: false, error: "request_expired" });
      await second.close();
    });
  });
}

/** A put op for backend tests (purge time far ahead unless given). */
export const putOp = (key: string, value: unknown, purgeAt = 2_000_000_000): Op => ({
  kind: "put",
  key,
  value,
  purgeAt,
});

/**
 * For the durable backends, which batch the writes made together (journal, LMDB): a write whose
 * function throws is rejected alone and writes nothing; the writes beside it commit, each seeing
 * the ones before it.
 */
export function backendContract(name: string, makeBackend: () => Backend): void {
  describe(`Backend contract: ${name}`, () => {
    it("rejects a write whose fn throws alone; the others of its batch commit", async () => {
      const b = makeBackend();
      const results = await Promise.allSettled([
        b.write(() => ({ result: 1, ops: [putOp("k:a", "a")] })),
        b.write(() => {
          throw new Error("boom");
        }),
        b.write((kv) => ({
          result: kv.get("k:a"),
          ops: [putOp("k:b", "b"), { kind: "del", key: "k:a" }],
        })),
        b.write((kv) => ({ result: [kv.keys("k:"), kv.get("k:a")], ops: [] })),
      ]);
      expect(results).toEqual([
        { status: "fulfilled", value: 1 },
        { status: "rejected", reason: new Error("boom") },
        { status: "fulfilled", value: "a" },
        { status: "fulfilled", value: [["k:b"], undefined] },
      ]);
      expect(b.read((kv) => [kv.get("k:a"), kv.get("k:b")])).toEqual([undefined, "b"]);
      await b.close();
    });
  });
}
