/**
 * The small key-value layer under the embedded stores. `records.ts` holds the relay's rules once; a
 * backend only has to read keys, apply a batch of writes atomically (and durably), and forget records
 * whose purge time has passed. Memory (`memory.ts`) and LMDB (`lmdb.ts`) are the two backends.
 */

/** A write to apply: `purgeAt` (unix seconds) is when `sweep` may forget the record. */
export type Op = { kind: "put"; key: string; value: unknown; purgeAt: number } | { kind: "del"; key: string };

export interface KvSnapshot {
  get(key: string): unknown;
  /** Every key starting with `prefix` (used only when a whole session is dropped). */
  keys(prefix: string): string[];
}

export interface Backend {
  readonly kind: string;
  /** Synchronous reads of committed state. */
  read<T>(fn: (kv: KvSnapshot) => T): T;
  /**
   * Runs `fn` against the current state and applies the ops it returns in the same atomic transaction;
   * resolves once the transaction is durably committed. `fn` must not throw after deciding (it only
   * computes); if it throws, nothing is written.
   */
  write<T>(fn: (kv: KvSnapshot) => { result: T; ops: Op[] }): Promise<T>;
  /** Deletes every record whose purgeAt ≤ nowSec (in batches, without blocking long); returns how many. */
  sweep(nowSec: number): Promise<number>;
  /** Throws when the backend cannot serve. */
  ping(): void;
  close(): Promise<void>;
}
