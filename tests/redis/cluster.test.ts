/**
 * The store contract, unchanged, on a real 3-master Redis Cluster on loopback (`redis-cluster://…`):
 * every script runs on the slot of its session's (or pairing's) hash tag, answerPairing takes its
 * cross-slot path, and wake-ups go through cluster-wide pub/sub.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toBase64Url } from "../../protocol/base64url.ts";
import { storeContract } from "../../relay/store/contract.ts";
import { openRedisStore } from "../../relay/store/redis.ts";
import { watchKeys } from "../../relay/store/types.ts";
import { type RedisCluster, startRedisCluster } from "../support/redisServer.ts";

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startRedisCluster(3);
});
afterAll(async () => {
  await cluster?.stop();
});

let n = 0;
const prefix = () => `bbc${process.pid}-${n++}:`;

storeContract("redis-cluster", (options) =>
  openRedisStore({ ...options, url: cluster.url, keyPrefix: prefix() }),
);

describe("redis cluster specifics", () => {
  it("keeps a session's keys on one slot, spreads sessions over the masters, and wakes across instances", async () => {
    const keyPrefix = prefix();
    const a = await openRedisStore({ url: cluster.url, keyPrefix });
    const b = await openRedisStore({ url: cluster.url, keyPrefix });
    expect(a.kind).toBe("redis-cluster");
    const admin = new Redis((cluster.nodes[0] as { port: number }).port, "127.0.0.1");
    try {
      const sessions: string[] = [];
      for (let i = 0; i < 12; i++) {
        const token = toBase64Url(randomBytes(32));
        const sessionId = toBase64Url(randomBytes(32));
        await a.createPairing(token, 60);
        const answer = { deviceId: randomUUID(), sessionId, sealed: `AA${toBase64Url(randomBytes(40))}` };
        const woke = new Promise<unknown>((resolve) => b.watch(watchKeys.pairing(token), resolve));
        expect(await a.answerPairing(token, answer)).toMatchObject({ ok: true, repeated: false });
        expect(await woke).toBeUndefined(); // another instance: no state, it reads
        expect(await b.readPairing(token)).toMatchObject({ ok: true, answer });
        sessions.push(sessionId);
      }
      const slotOf = (key: string) => admin.call("CLUSTER", "KEYSLOT", key) as Promise<number>;
      const sid = sessions[0] as string;
      const base = `${keyPrefix}{${sid}}:`;
      const slots = new Set(
        await Promise.all(
          ["s", "pend", "reqs", `req:${randomUUID()}`, "ev:1", "evid:x"].map((k) => slotOf(base + k)),
        ),
      );
      expect(slots.size).toBe(1);
      const spread = new Set(await Promise.all(sessions.map((s) => slotOf(`${keyPrefix}{${s}}:s`))));
      expect(spread.size).toBeGreaterThan(1);
    } finally {
      admin.disconnect();
      await a.close();
      await b.close();
    }
  });
});
