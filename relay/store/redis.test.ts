/**
 * The Redis store against a real redis-server: the shared contract unchanged (a fresh key prefix per
 * test instead of a flush, so nothing leaks between tests), then what only Redis has: native TTLs on
 * every key, one hash tag per session, wake-ups across store instances through pub/sub, and
 * StoreUnavailableError (fast, not a hang) while Redis is down, recovering by itself.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toBase64Url } from "../../protocol/base64url.ts";
import { type RedisServer, startRedis } from "../../tests/support/redisServer.ts";
import { ConfigError, parseConfig } from "../config.ts";
import { storeContract } from "./contract.ts";
import { redactRedisUrl } from "./reach.ts";
import { openRedisStore } from "./redis.ts";
import { type Store, StoreUnavailableError, watchKeys } from "./types.ts";

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

let n = 0;
const prefix = () => `bbt${process.pid}-${n++}:`;

storeContract("redis", (options) => openRedisStore({ ...options, url: redis.url, keyPrefix: prefix() }));

const id32 = () => toBase64Url(randomBytes(32));
const sealed = () => `AA${toBase64Url(randomBytes(40))}`;

async function paired(store: Store): Promise<string> {
  const token = id32();
  const sessionId = id32();
  await store.createPairing(token, 60);
  expect(
    await store.answerPairing(token, { deviceId: randomUUID(), sessionId, sealed: sealed() }),
  ).toMatchObject({
    ok: true,
    repeated: false,
  });
  return sessionId;
}

describe("redis store specifics", () => {
  it("gives every key a TTL and keeps one session's keys under one hash tag", async () => {
    const keyPrefix = prefix();
    const store = await openRedisStore({ url: redis.url, keyPrefix });
    const admin = new Redis(redis.url);
    try {
      const sid = await paired(store);
      const id = randomUUID();
      await store.postRequest(sid, { id, sealed: sealed(), ttl: 30 });
      await store.fetchPending(sid);
      await store.putResponse(sid, id, sealed());
      const eventId = randomUUID();
      await store.postEvent(sid, { id: eventId, sealed: sealed() });
      const keys = await admin.keys(`${keyPrefix}*`);
      const sessionKeys = keys.filter((k) => k.includes(`{${sid}}`)).map((k) => k.slice(keyPrefix.length));
      // The pending index went away with the answer (an empty zset is no key).
      expect(sessionKeys.sort()).toEqual(
        [
          `{${sid}}:s`,
          `{${sid}}:reqs`,
          `{${sid}}:req:${id}`,
          `{${sid}}:ev:1`,
          `{${sid}}:evid:${eventId}`,
        ].sort(),
      );
      for (const key of keys) {
        if (key === `${keyPrefix}purge`) continue; // the sweep index: the one long-lived key
        expect(await admin.pttl(key), key).toBeGreaterThan(0);
      }
      expect(await admin.pttl(`${keyPrefix}purge`)).toBe(-1);
    } finally {
      await store.close();
      admin.disconnect();
    }
  });

  it("wakes a watcher on another store instance (another relay) through pub/sub", async () => {
    const keyPrefix = prefix();
    const a = await openRedisStore({ url: redis.url, keyPrefix });
    const b = await openRedisStore({ url: redis.url, keyPrefix });
    try {
      const token = id32();
      await a.createPairing(token, 60);
      let woke = 0;
      const started = performance.now();
      const wake = new Promise<number>((resolve) => {
        a.watch(watchKeys.pairing(token), () => {
          woke++;
          resolve(performance.now() - started);
        });
      });
      await b.answerPairing(token, { deviceId: randomUUID(), sessionId: id32(), sealed: sealed() });
      expect(await wake).toBeLessThan(500);
      expect(await a.readPairing(token)).toMatchObject({ ok: true, answer: expect.any(Object) });
      expect(woke).toBe(1);

      // And the other way round, on a session's request key.
      const sid = await paired(a);
      const id = randomUUID();
      await a.postRequest(sid, { id, sealed: sealed(), ttl: 30 });
      const response = new Promise<unknown>((resolve) => b.watch(watchKeys.request(sid, id), resolve));
      await a.putResponse(sid, id, sealed());
      // Another instance's watchers hear of the write through pub/sub, without its state: they read.
      expect(await response).toBeUndefined();
      expect(await b.readResponse(sid, id)).toMatchObject({ ok: true, sealed: expect.any(String) });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("is chosen with --store <redis URL> (or BB_RELAY_STORE); a bare word is refused", () => {
    expect(parseConfig({ argv: ["--store", "redis://:pw@db.internal:6379/2"] }).store).toBe(
      "redis://:pw@db.internal:6379/2",
    );
    expect(parseConfig({ env: { BB_RELAY_STORE: "rediss://db:6380" } }).store).toBe("rediss://db:6380");
    expect(parseConfig({ argv: ["--store=redis-cluster://a:7000,b:7001"] }).store).toBe(
      "redis-cluster://a:7000,b:7001",
    );
    for (const bad of ["redis", "redis://", "http://db:6379", "postgres://db"]) {
      expect(() => parseConfig({ argv: ["--store", bad] })).toThrow(ConfigError);
    }
  });

  it("redacts the password of a store URL for logs", () => {
    expect(redactRedisUrl("redis://:s3cret@db:6379/2")).toBe("redis://:***@db:6379/2");
    expect(redactRedisUrl("rediss://user:s3cret@db:6380")).toBe("rediss://user:***@db:6380");
    expect(redactRedisUrl("redis-cluster://:pw@a:1,b:2")).toBe("redis-cluster://:***@a:1,b:2");
    expect(redactRedisUrl("redis://db:6379")).toBe("redis://db:6379");
  });

  it("refuses to open when Redis is unreachable, quickly", async () => {
    const started = performance.now();
    await expect(
      openRedisStore({ url: "redis://127.0.0.1:1", connectTimeoutMs: 500 }, 1000),
    ).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it("fails fast with StoreUnavailableError while Redis is down, and recovers by itself", async () => {
    const own = await startRedis({ appendonly: true });
    const store = await openRedisStore({ url: own.url, keyPrefix: prefix() });
    try {
      const sid = await paired(store);
      await own.kill("SIGKILL");
      const started = performance.now();
      await expect(store.fetchPending(sid)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.createPairing(id32(), 30)).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(performance.now() - started).toBeLessThan(3000);

      await own.restart();
      const deadline = Date.now() + 5000;
      for (;;) {
        try {
          await store.ping();
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      // appendfsync always: the acknowledged session came back with Redis.
      expect(await store.fetchPending(sid)).toEqual({ ok: true, requests: [], fresh: 0 });
    } finally {
      await store.close();
      await own.stop();
    }
  });
});
