/**
 * The durable default store, on LMDB (embedded, memory-mapped, ACID). A write resolves only after its
 * transaction has committed and been synced to disk, so anything the relay has acknowledged survives
 * `kill -9` and power loss. Expiry is stored as absolute times, so it is honoured after a restart; an
 * index ordered by purge time lets `sweep()` forget old entries without scanning everything.
 *
 * How writes are committed (group commit; figures in docs/BENCHMARKS.md "Create pairing"):
 * - A durable LMDB commit has a fixed price whatever it holds: the dirty pages are written and
 *   `fdatasync`ed, and only then is the meta page written through a descriptor opened `O_DSYNC` (two
 *   flushes; lmdb.h, MDB_NOSYNC / MDB_NOMETASYNC, describes both, and `overlappingSync: false` keeps
 *   them inside the commit). So the writes waiting at one moment should share one transaction.
 * - lmdb-js's `env.transaction(cb)` batches per event turn too, but runs the batch on a libuv worker
 *   that calls back into the JS thread to run the callbacks (holding LMDB's write lock while that
 *   thread is busy elsewhere), commits, and calls back again to resolve: four thread hand-offs and a
 *   new async work item and thread-safe function per transaction (lmdb-js write.js, src/writer.cpp).
 * - Here the writes of one event-loop turn are queued and run, at `setImmediate`, in ONE
 *   `transactionSync` on the JS thread: each `fn` reads inside the write transaction (it sees the
 *   writes of the `fn`s queued before it, and nothing can interleave), its ops are applied, the commit
 *   flushes, and only then are the promises settled. Same durability, no hand-offs: a sequential
 *   write costs ≈ 0.3 ms instead of ≈ 0.43 ms. The price: the JS thread waits for the flushes
 *   (≈ 0.3 ms for one write, ≈ 1 ms for a batch of 25 on the benchmark's disk), so a stalled disk
 *   stalls the whole relay, where it used to stall only the writes.
 * - Isolation inside a shared batch: an `fn` that throws is rejected alone (it has written nothing:
 *   its ops are applied only after it returns). If applying one `fn`'s ops throws (e.g. an oversized
 *   key), the transaction is aborted and the batch redone without that `fn`, which alone is rejected.
 *   If the commit itself fails, every write of the batch is rejected and none is applied.
 * - A record rewritten with an unchanged purge time (answer, acknowledgement) does not rewrite its
 *   expiry-index entry, which is already there.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { open } from "lmdb";
import type { Backend, KvSnapshot, Op } from "./backend.ts";
import { createRecordStore } from "./records.ts";
import type { Store, StoreOptions } from "./types.ts";

type Entry = { p: number; v: unknown };
const SWEEP_BATCH = 500;

/** One queued write; `run` executes inside the batch's write transaction. */
type Job = {
  run: (job: Job) => unknown;
  /** Set once `run` has started writing: a throw from then on may leave part of its writes behind. */
  applying: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  result?: unknown;
  failure?: { error: unknown };
};

export function createLmdbBackend(dataDir: string): Backend {
  mkdirSync(dataDir, { recursive: true });
  const env = open({ path: join(dataDir, "relay.mdb"), overlappingSync: false, maxDbs: 4 });
  const records = env.openDB<Entry, string>({ name: "records" });
  // [purgeAt, key] → true. Invariant: a record whose purge time is P has the entry [P, key]. Stale
  // entries (record rewritten with another purgeAt, or deleted) are dropped by the sweeper when it
  // reaches them.
  const expiry = env.openDB<true, [number, string]>({ name: "expiry" });
  let closed = false;
  const check = () => {
    if (closed) throw new Error("lmdb store is closed");
  };

  const snapshot: KvSnapshot = {
    get: (key) => records.get(key)?.v,
    keys: (prefix) => [...records.getKeys({ start: prefix, end: `${prefix}\uffff` })],
  };

  // Inside a batch's transaction: the purge time each key has there (learnt from reads and from the
  // batch's own writes), so that a put keeping it skips the index write. Unknown keys get one.
  let purgeOf = new Map<string, number | undefined>();
  const txView: KvSnapshot = {
    get(key) {
      const entry = records.get(key);
      purgeOf.set(key, entry?.p);
      return entry?.v;
    },
    keys: snapshot.keys,
  };
  function apply(ops: Op[]) {
    for (const op of ops) {
      if (op.kind === "put") {
        records.putSync(op.key, { p: op.purgeAt, v: op.value });
        if (purgeOf.get(op.key) !== op.purgeAt) expiry.putSync([op.purgeAt, op.key], true);
        purgeOf.set(op.key, op.purgeAt);
      } else {
        records.removeSync(op.key);
        purgeOf.set(op.key, undefined);
      }
    }
  }

  let queue: Job[] = [];
  let scheduled = false;

  /** Runs every queued job in one durable transaction, then settles their promises. */
  function flush() {
    scheduled = false;
    const jobs = queue;
    queue = [];
    while (jobs.some((job) => !job.failure)) {
      let redo = false;
      purgeOf = new Map();
      try {
        env.transactionSync(() => {
          for (const job of jobs) {
            if (job.failure) continue;
            job.applying = false;
            try {
              job.result = job.run(job);
            } catch (error) {
              job.failure = { error };
              if (job.applying) {
                // Some of its writes may be in the transaction: abort it, redo the batch without it.
                redo = true;
                throw error;
              }
            }
          }
        });
      } catch (error) {
        if (redo) continue;
        // The commit failed: nothing of the batch was written.
        for (const job of jobs) job.failure ??= { error };
      }
      break;
    }
    purgeOf = new Map();
    for (const job of jobs) {
      if (job.failure) job.reject(job.failure.error);
      else job.resolve(job.result);
    }
  }

  function enqueue<T>(run: (job: Job) => T): Promise<T> {
    check();
    return new Promise<T>((resolve, reject) => {
      queue.push({ run, applying: false, resolve: resolve as (value: unknown) => void, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
  }

  return {
    kind: "lmdb",
    read(fn) {
      check();
      return fn(snapshot);
    },
    write(fn) {
      return enqueue((job) => {
        const { result, ops } = fn(txView);
        job.applying = true;
        apply(ops);
        return result;
      });
    },
    async sweep(nowSec) {
      let removed = 0;
      for (;;) {
        const { n, scanned } = await enqueue((job) => {
          job.applying = true;
          let n = 0;
          const due = [...expiry.getKeys({ end: [nowSec, "\uffff"], limit: SWEEP_BATCH })];
          for (const indexKey of due) {
            const [, key] = indexKey;
            const entry = records.get(key);
            if (entry && entry.p <= nowSec) {
              records.removeSync(key);
              n++;
            }
            expiry.removeSync(indexKey);
            purgeOf.delete(key);
          }
          return { n, scanned: due.length };
        });
        removed += n;
        if (scanned < SWEEP_BATCH) return removed;
      }
    },
    ping() {
      check();
      records.get("ping");
    },
    async close() {
      if (closed) return;
      closed = true;
      flush();
      await env.close();
    },
  };
}

export type LmdbStoreOptions = StoreOptions & { dataDir: string };

export function createLmdbStore(options: LmdbStoreOptions): Store {
  const { dataDir, ...rest } = options;
  return createRecordStore(createLmdbBackend(dataDir), rest);
}
