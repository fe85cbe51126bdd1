/**
 * In-memory store: for tests and throwaway relays. Everything is lost when the process ends; the
 * rules (expiry, tombstones, idempotency, …) are the same as the durable store's (`records.ts`).
 */
import type { Backend, KvSnapshot } from "./backend.ts";
import { createRecordStore } from "./records.ts";
import type { Store, StoreOptions } from "./types.ts";

export function createMemoryBackend(): Backend {
  const data = new Map<string, { value: unknown; purgeAt: number }>();
  let closed = false;
  const check = () => {
    if (closed) throw new Error("memory store is closed");
  };
  const snapshot: KvSnapshot = {
    get: (key) => data.get(key)?.value,
    // A full scan: only used when a whole session is dropped, which is rare.
    keys: (prefix) => [...data.keys()].filter((k) => k.startsWith(prefix)),
  };
  return {
    kind: "memory",
    read(fn) {
      check();
      return fn(snapshot);
    },
    async write(fn) {
      check();
      // Single-threaded: computing and applying in one synchronous step is atomic.
      const { result, ops } = fn(snapshot);
      for (const op of ops) {
        if (op.kind === "put") data.set(op.key, { value: op.value, purgeAt: op.purgeAt });
        else data.delete(op.key);
      }
      return result;
    },
    async sweep(nowSec) {
      check();
      let removed = 0;
      for (const [key, entry] of data) {
        if (entry.purgeAt <= nowSec) {
          data.delete(key);
          removed++;
        }
      }
      return removed;
    },
    ping: check,
    async close() {
      closed = true;
      data.clear();
    },
  };
}

export function createMemoryStore(options: StoreOptions = {}): Store {
  return createRecordStore(createMemoryBackend(), options);
}
