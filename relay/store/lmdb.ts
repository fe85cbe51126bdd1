/**
 * The durable default store, on LMDB (embedded, memory-mapped, ACID). A write resolves only after its
 * transaction has committed and been synced to disk (`overlappingSync: false`: the commit promise is
 * the fsync'ed commit), so anything the relay has acknowledged survives `kill -9` and power loss.
 * Expiry is stored as absolute times, so it is honoured after a restart; an index ordered by purge
 * time lets `sweep()` forget old entries without scanning everything.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { open } from "lmdb";
import type { Backend, KvSnapshot } from "./backend.ts";
import { createRecordStore } from "./records.ts";
import type { Store, StoreOptions } from "./types.ts";

type Entry = { p: number; v: unknown };
const SWEEP_BATCH = 500;

export function createLmdbBackend(dataDir: string): Backend {
  mkdirSync(dataDir, { recursive: true });
  const env = open({ path: join(dataDir, "relay.mdb"), overlappingSync: false, maxDbs: 4 });
  const records = env.openDB<Entry, string>({ name: "records" });
  // [purgeAt, key] → true. Stale entries (record rewritten with a later purgeAt, or deleted) are
  // dropped by the sweeper when it reaches them.
  const expiry = env.openDB<true, [number, string]>({ name: "expiry" });
  let closed = false;
  const check = () => {
    if (closed) throw new Error("lmdb store is closed");
  };

  const snapshot: KvSnapshot = {
    get: (key) => records.get(key)?.v,
    keys: (prefix) => [...records.getKeys({ start: prefix, end: `${prefix}\uffff` })],
  };

  return {
    kind: "lmdb",
    read(fn) {
      check();
      return fn(snapshot);
    },
    write(fn) {
      check();
      // The callback runs inside the write transaction: reads see the current committed state plus
      // this transaction's writes, and nothing else can interleave (atomic read-modify-write).
      return env.transaction(() => {
        const { result, ops } = fn(snapshot);
        for (const op of ops) {
          if (op.kind === "put") {
            records.putSync(op.key, { p: op.purgeAt, v: op.value });
            expiry.putSync([op.purgeAt, op.key], true);
          } else {
            records.removeSync(op.key);
          }
        }
        return result;
      });
    },
    async sweep(nowSec) {
      check();
      let removed = 0;
      for (;;) {
        const due = [...expiry.getKeys({ end: [nowSec, "\uffff"], limit: SWEEP_BATCH })];
        if (due.length === 0) return removed;
        removed += await env.transaction(() => {
          let n = 0;
          for (const indexKey of due) {
            const [purgeAt, key] = indexKey;
            const entry = records.get(key);
            if (entry && entry.p <= nowSec) {
              records.removeSync(key);
              n++;
            }
            expiry.removeSync([purgeAt, key]);
          }
          return n;
        });
        if (due.length < SWEEP_BATCH) return removed;
      }
    },
    ping() {
      check();
      records.get("ping");
    },
    async close() {
      if (closed) return;
      closed = true;
      await env.close();
    },
  };
}

export type LmdbStoreOptions = StoreOptions & { dataDir: string };

export function createLmdbStore(options: LmdbStoreOptions): Store {
  const { dataDir, ...rest } = options;
  return createRecordStore(createLmdbBackend(dataDir), rest);
}
