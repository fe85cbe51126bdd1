/**
 * The durable default store: every record in memory, every write appended to a journal on disk before
 * it is acknowledged (a write-ahead log, as Redis's AOF with `appendfsync always`, or SQLite's WAL).
 * Anything the relay has acknowledged survives `kill -9` and power loss; on start the journal is read
 * back and rewritten compacted.
 *
 * Why not a B-tree (`lmdb.ts`, still available): the relay's data is small and short-lived, and each
 * request writes one or two records under random keys. A B-tree commit writes every page those keys
 * dirty (≈ 45 pages for 25 inserts) and flushes twice (pages, then the meta page); the journal writes
 * the batch's own bytes (≈ 150 B per pairing) and flushes once. docs/BENCHMARKS.md has the figures.
 *
 * How a write is made durable (group commit, one batch at a time):
 * - A write decides against the newest state (committed records with the not-yet-durable writes laid
 *   over them), is applied to that overlay at once, and joins the open batch. Reads (`read`) see only
 *   committed records: a long-poll never hands out what a crash could still undo
 *   (docs/PROTOCOL.md, durability).
 * - The writes of one event-loop turn form a batch, and one batch at a time is written: one frame, one
 *   `pwrite` on a descriptor opened `O_DSYNC` (open(2): the write returns once data and the metadata
 *   needed to read it are on stable storage). When the frame is written, its writes move from the
 *   overlay to the committed records and their promises resolve, in order.
 * - The frame is written on the JS thread while frame writes have recently averaged under 1 ms
 *   (`inlineMaxMs`): on the benchmark's disk a lone write takes ≈ 0.09 ms there against ≈ 0.14 ms
 *   through libuv's pool, whose two thread hand-offs cost more than the write; under load the pool
 *   thread also waits for a core the relay and its clients keep busy, and writing here made create
 *   pairing 7–24 % faster and 50 parallel wake-ups 18–21 % (docs/BENCHMARKS.md, "Journal frames
 *   written on the JS thread"). While it is written nothing else runs, and requests arriving meanwhile wait
 *   in the sockets to form the next batch. A disk that stalls freezes the relay for one write, one
 *   that slows down for a few: then the average passes 1 ms and every frame goes off the thread (only
 *   writes wait; reads, long-polls and /healthz go on, and writes arriving meanwhile gather in the
 *   next batch) until the disk is fast again.
 * - A write that changes nothing still waits for the batches before it when anything is uncommitted
 *   (its answer may rest on them); when nothing is, it answers at once.
 * - The journal is preallocated with zeros (written, not sparse), so a frame overwrites allocated
 *   blocks and its flush needs no file-size or extent update in the filesystem's own journal.
 * - A failed write or flush (EIO, ENOSPC) leaves the journal's tail unknown (after a failed flush the
 *   kernel may already have dropped the dirty pages: "fsyncgate", PostgreSQL 12's fsync panic), so the
 *   store stops accepting writes: the batch and every write after it are rejected (503
 *   store_unavailable), `ping` fails (/healthz 503), reads go on with the committed records. A restart
 *   reads the journal back up to its last whole frame.
 *
 * Format: the magic `BBJRNL1\n`, then frames `u32le length, u32le CRC-32 (ISO-HDLC, zlib's) of the
 * payload, payload`; a zero length ends the journal (the preallocated zeros). The payload is JSON: an
 * array of writes, each an array of ops, `[key, purgeAt, value]` a put and `[key]` a delete. A frame
 * cut short or failing its CRC is a write torn by a crash and ends the journal: it was never
 * acknowledged, and nothing after it was written (frames are written one at a time).
 *
 * Compaction: each record knows the bytes of its put in the journal, so the store knows how much of
 * the journal is dead (rewritten, deleted or swept records). Once that exceeds both 16 MB and twice
 * the live bytes (the file is then at most three times its live records, and a rewrite copies at most
 * half a byte per byte appended), the committed records are copied (a shallow copy of the map, in one
 * step), serialised in 1 MB chunks on the JS thread and written to `journal.next` off it; the
 * frames committed meanwhile are appended to it too, then it is renamed over `journal` (and the
 * directory fsynced) between two batches. A crash at any point leaves either the old journal or the
 * new one, whole. Expired records are not journalled when the sweeper forgets them: they simply drop
 * out at the next rewrite (the sweeper forgets them again if a restart reads them back first).
 */
import {
  closeSync,
  constants,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  write,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import type { Backend, KvSnapshot, Op } from "./backend.ts";
import { lockDataDir } from "./dataDirLock.ts";
import { createRecordStore } from "./records.ts";
import { type Store, type StoreOptions, StoreUnavailableError } from "./types.ts";

const MAGIC = Buffer.from("BBJRNL1\n", "latin1");
const FRAME_HEADER = 8;
/** The journal grows by this much of zeros at a time. */
const EXTEND = 8 << 20;
/** A rewrite happens once the journal holds this much more than its live records (and twice them). */
const COMPACT_MIN = 16 << 20;
/** Snapshot frames hold about this much each (records are at most a request body: 64 KB). */
const SNAPSHOT_FRAME = 1 << 20;
const FILE = "journal";
/** Lone writes are written on the main thread while recent frame writes average less than this (ms). */
const INLINE_MAX_MS = 1;

/** A record, and the bytes its put takes in the journal (what a rewrite keeps of it); `size` -1: a delete. */
type Entry = { value: unknown; purgeAt: number; size: number };
/** Put op `[key, purgeAt, value]` or delete `[key]`, as in the journal. */
type Tuple = [string, number, unknown] | [string];
/**
 * A batch: its writes' JSON, each key written with its new entry (`size` -1: deleted), in order, and
 * the writes' promises (settled together). Parallel arrays rather than an object per write: everything
 * here lives until the batch is on disk, long enough to be promoted out of V8's young generation
 * (docs/BENCHMARKS.md, "What is left").
 */
type Batch = {
  writes: string[];
  keys: string[];
  entries: Entry[];
  resolves: Array<(value: unknown) => void>;
  results: unknown[];
  rejects: Array<(error: unknown) => void>;
};
const newBatch = (): Batch => ({ writes: [], keys: [], entries: [], resolves: [], results: [], rejects: [] });
/** A rewrite in progress: frames committed since it began, and its switch once the copy is written. */
type Compaction = {
  carry: Buffer[];
  ready: (() => Promise<void>) | undefined;
  cancelled: boolean;
  done: Promise<void>;
};

export type JournalOptions = {
  /** Rewrite threshold in bytes of dead records (default 16 MB); tests set it low. */
  compactMin?: number;
  /** Zeros the journal grows by (default 8 MB); tests set it low. */
  preallocate?: number;
  /**
   * Frames are written on the JS thread while recent writes average under this many ms (default 1),
   * off it (libuv's pool) otherwise; 0 writes every frame off the thread (tests cover both paths).
   */
  inlineMaxMs?: number;
};

function frameOf(payload: string): Buffer {
  const length = Buffer.byteLength(payload);
  const frame = Buffer.allocUnsafe(FRAME_HEADER + length);
  frame.write(payload, FRAME_HEADER);
  frame.writeUInt32LE(length, 0);
  frame.writeUInt32LE(crc32(frame.subarray(FRAME_HEADER)), 4);
  return frame;
}

/**
 * Frames holding every record, about SNAPSHOT_FRAME bytes each (one write of puts per frame). Sets each
 * entry's `size` when `measure` (records read back from a journal have none yet).
 */
function* snapshotFrames(entries: Iterable<[string, Entry]>, measure = false): Generator<Buffer> {
  let parts: string[] = [];
  let size = 0;
  for (const [key, entry] of entries) {
    const { value, purgeAt } = entry;
    const part = JSON.stringify([key, purgeAt, value]);
    if (measure) entry.size = part.length;
    parts.push(part);
    size += part.length;
    if (size >= SNAPSHOT_FRAME) {
      yield frameOf(`[[${parts.join(",")}]]`);
      parts = [];
      size = 0;
    }
  }
  if (parts.length) yield frameOf(`[[${parts.join(",")}]]`);
}

/** Reads a journal back into `into`; a torn or missing tail ends it. */
function replay(path: string, into: Map<string, Entry>): void {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  if (buf.length === 0) return;
  if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new Error(
      `${path} is not a Balance Bridge journal (its first bytes are not ${JSON.stringify(MAGIC.toString())})`,
    );
  }
  let at = MAGIC.length;
  while (at + FRAME_HEADER <= buf.length) {
    const length = buf.readUInt32LE(at);
    if (length === 0 || at + FRAME_HEADER + length > buf.length) break;
    const payload = buf.subarray(at + FRAME_HEADER, at + FRAME_HEADER + length);
    if (crc32(payload) !== buf.readUInt32LE(at + 4)) break;
    for (const ops of JSON.parse(payload.toString("utf8")) as Tuple[][]) {
      for (const op of ops) {
        // `size` is set when the journal is rewritten, right after.
        if (op.length === 3) into.set(op[0], { value: op[2], purgeAt: op[1], size: 0 });
        else into.delete(op[0]);
      }
    }
    at += FRAME_HEADER + length;
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes all of `buf` at `position`. A write may be short without failing (pwrite(2): at a file size
 * limit or a full disk it writes what fits); the rest is written again, and that write reports the
 * error. Taking a short write for a whole one would acknowledge a torn frame.
 */
function pwrite(fd: number, buf: Buffer, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const from = (offset: number) =>
      write(fd, buf, offset, buf.length - offset, position + offset, (error, n) => {
        if (error) reject(error);
        else if (n === 0) reject(new Error("journal write wrote nothing"));
        else if (offset + n < buf.length) from(offset + n);
        else resolve();
      });
    from(0);
  });
}

/** `pwrite`, on this thread. */
function pwriteSync(fd: number, buf: Buffer, position: number): void {
  for (let offset = 0; offset < buf.length; ) {
    const n = writeSync(fd, buf, offset, buf.length - offset, position + offset);
    if (n === 0) throw new Error("journal write wrote nothing");
    offset += n;
  }
}

const DURABLE = constants.O_RDWR | constants.O_CREAT | constants.O_DSYNC;

export function createJournalBackend(dataDir: string, options: JournalOptions = {}): Backend {
  const compactMin = options.compactMin ?? COMPACT_MIN;
  const extend = options.preallocate ?? EXTEND;
  const inlineMaxMs = options.inlineMaxMs ?? INLINE_MAX_MS;
  mkdirSync(dataDir, { recursive: true });
  const release = lockDataDir(dataDir);
  const path = join(dataDir, FILE);
  const nextPath = join(dataDir, `${FILE}.next`);

  const committed = new Map<string, Entry>();
  /**
   * Writes not yet durable: key → its newest entry (`size` -1: deleted). Each entry is its own object,
   * so a batch's commit knows a key was not written again since when the overlay still holds its entry.
   */
  const overlay = new Map<string, Entry>();

  let fd: number;
  let position: number;
  let allocated: number;
  /** Bytes the committed records' puts take (sum of their `size`): the rest of the journal is dead. */
  let live = 0;
  try {
    replay(path, committed);
    rmSync(nextPath, { force: true }); // a rewrite a crash interrupted
    // Start from a compacted journal: bounded replay next time, and no torn tail left to write over.
    const fresh = openSync(nextPath, DURABLE | constants.O_TRUNC, 0o600);
    try {
      pwriteSync(fresh, MAGIC, 0);
      position = MAGIC.length;
      for (const frame of snapshotFrames(committed, true)) {
        pwriteSync(fresh, frame, position);
        position += frame.length;
      }
      for (const entry of committed.values()) live += entry.size;
      allocated = position + extend;
      pwriteSync(fresh, Buffer.alloc(extend), position);
      renameSync(nextPath, path);
      fsyncDir(dataDir);
    } catch (error) {
      closeSync(fresh);
      throw error;
    }
    fd = fresh;
  } catch (error) {
    release();
    throw error;
  }

  let closed = false;
  let failed: StoreUnavailableError | undefined;
  let open = newBatch();
  /** Resolves when the current run of flushes ends; undefined when none runs. */
  let flushing: Promise<void> | undefined;
  let compaction: Compaction | undefined;
  /** Moving average (1/8 weight per write) of how long frame writes take, ms, on either path. */
  let recentMs = 0;
  const timed = (started: number) => {
    recentMs += (performance.now() - started - recentMs) / 8;
  };

  const check = () => {
    if (closed) throw new StoreUnavailableError("journal store is closed");
  };

  const committedView: KvSnapshot = {
    get: (key) => committed.get(key)?.value,
    // A full scan: only used when a whole session is dropped, which is rare.
    keys: (prefix) => [...committed.keys()].filter((k) => k.startsWith(prefix)),
  };
  const newestView: KvSnapshot = {
    get(key) {
      const pending = overlay.get(key);
      return pending ? pending.value : committed.get(key)?.value;
    },
    keys(prefix) {
      const out = new Set(committedView.keys(prefix));
      for (const [key, entry] of overlay) {
        if (!key.startsWith(prefix)) continue;
        if (entry.size >= 0) out.add(key);
        else out.delete(key);
      }
      return [...out];
    },
  };

  /** The zeros to add at `allocated` before a frame of `length` fits (a zero length must follow it). */
  function growth(length: number): Buffer | undefined {
    if (position + length + FRAME_HEADER <= allocated) return undefined;
    return Buffer.alloc(Math.max(extend, length + FRAME_HEADER));
  }

  /** Appends one frame durably, growing the preallocated zeros first when needed. */
  async function append(frame: Buffer): Promise<void> {
    const zeros = growth(frame.length);
    if (zeros) {
      await pwrite(fd, zeros, allocated);
      allocated += zeros.length;
    }
    const started = performance.now();
    await pwrite(fd, frame, position);
    timed(started);
    position += frame.length;
  }

  /**
   * Appends one frame durably on this thread (the write returns in ≈ 0.1 ms on the benchmark's disk,
   * less than a hand-off to libuv's pool and back costs) while recent writes have been fast. A slow or
   * stalling disk raises the average over `inlineMaxMs` and every frame goes off the thread (`append`)
   * until it is fast again (measured there, hand-offs included).
   */
  function appendHere(frame: Buffer): void {
    const zeros = growth(frame.length);
    if (zeros) {
      pwriteSync(fd, zeros, allocated);
      allocated += zeros.length;
    }
    const started = performance.now();
    pwriteSync(fd, frame, position);
    timed(started);
    position += frame.length;
  }

  function commit(batch: Batch): void {
    for (let i = 0; i < batch.keys.length; i++) {
      const key = batch.keys[i] as string;
      const entry = batch.entries[i] as Entry;
      live -= committed.get(key)?.size ?? 0;
      if (entry.size >= 0) {
        committed.set(key, entry);
        live += entry.size;
      } else committed.delete(key);
      if (overlay.get(key) === entry) overlay.delete(key);
    }
  }

  function fail(error: unknown, batch: Batch): void {
    failed = new StoreUnavailableError(
      `journal write failed (${error instanceof Error ? error.message : String(error)}); restart the relay`,
      { cause: error },
    );
    // Everything not durable is dropped: later writes may have decided on the failed batch's state.
    overlay.clear();
    const rest = open;
    open = newBatch();
    for (const reject of [...batch.rejects, ...rest.rejects]) reject(failed);
  }

  async function drain(): Promise<void> {
    // The writes of this event-loop turn (every request read in it) form the first batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (!failed) {
      const switchOver = compaction?.ready;
      if (switchOver && compaction) {
        compaction.ready = undefined;
        try {
          await switchOver();
        } catch (error) {
          fail(error, newBatch());
          break;
        }
      }
      const batch = open;
      if (batch.resolves.length === 0) break;
      open = newBatch();
      try {
        if (batch.writes.length) {
          const frame = frameOf(`[${batch.writes.join(",")}]`);
          if (recentMs < inlineMaxMs) appendHere(frame);
          else await append(frame);
          compaction?.carry.push(frame);
        }
      } catch (error) {
        fail(error, batch);
        break;
      }
      commit(batch);
      for (let i = 0; i < batch.resolves.length; i++)
        (batch.resolves[i] as (v: unknown) => void)(batch.results[i]);
      if (!compaction && position - live > Math.max(compactMin, 2 * live)) startCompaction();
    }
    flushing = undefined;
  }

  function schedule(): void {
    flushing ??= drain();
  }

  /**
   * Rewrites the journal from a copy of the committed records, in chunks, while batches go on; the
   * switch to the new file runs between two batches (see the header).
   */
  function startCompaction(): void {
    const entries = [...committed];
    const job: Compaction = { carry: [], ready: undefined, cancelled: false, done: Promise.resolve() };
    compaction = job;
    job.done = (async () => {
      const next = openSync(nextPath, DURABLE | constants.O_TRUNC, 0o600);
      let handedOver = false;
      try {
        pwriteSync(next, MAGIC, 0);
        let at = MAGIC.length;
        for (const frame of snapshotFrames(entries)) {
          if (job.cancelled) return;
          await pwrite(next, frame, at);
          at += frame.length;
        }
        await new Promise<void>((resolve, reject) => {
          job.ready = async () => {
            try {
              if (job.cancelled) return resolve();
              for (const frame of job.carry) {
                await pwrite(next, frame, at);
                at += frame.length;
              }
              await pwrite(next, Buffer.alloc(extend), at);
              renameSync(nextPath, path);
              fsyncDir(dataDir);
              closeSync(fd);
              fd = next;
              handedOver = true;
              position = at;
              allocated = at + extend;
              resolve();
            } catch (error) {
              reject(error);
              throw error;
            }
          };
          schedule();
        });
      } finally {
        if (!handedOver) {
          closeSync(next);
          rmSync(nextPath, { force: true });
        }
        compaction = undefined;
      }
    })().catch(() => {
      // A failed rewrite fails the store in `drain` (the switch) or leaves the old journal in use.
    });
  }

  return {
    kind: "journal",
    read(fn) {
      check();
      return fn(committedView);
    },
    write<T>(fn: (kv: KvSnapshot) => { result: T; ops: Op[] }): Promise<T> {
      try {
        check();
        if (failed) throw failed;
        const { result, ops } = fn(newestView);
        if (ops.length === 0) {
          if (overlay.size === 0) return Promise.resolve(result);
        } else {
          // Serialised first: a value JSON cannot hold is refused before anything is applied.
          let json = "[";
          const entries: Entry[] = [];
          for (const op of ops) {
            if (json.length > 1) json += ",";
            if (op.kind === "del") {
              json += JSON.stringify([op.key]);
              entries.push({ value: undefined, purgeAt: 0, size: -1 });
            } else {
              const part = JSON.stringify([op.key, op.purgeAt, op.value]);
              json += part;
              entries.push({ value: op.value, purgeAt: op.purgeAt, size: part.length });
            }
          }
          open.writes.push(`${json}]`);
          for (let i = 0; i < ops.length; i++) {
            const key = (ops[i] as Op).key;
            const entry = entries[i] as Entry;
            overlay.set(key, entry);
            open.keys.push(key);
            open.entries.push(entry);
          }
        }
        const batch = open;
        return new Promise<T>((resolve, reject) => {
          batch.resolves.push(resolve as (value: unknown) => void);
          batch.results.push(result);
          batch.rejects.push(reject);
          schedule();
        });
      } catch (error) {
        return Promise.reject(error);
      }
    },
    async sweep(nowSec) {
      check();
      let removed = 0;
      for (const [key, entry] of committed) {
        // A key with a write in flight is that write's to decide.
        if (entry.purgeAt <= nowSec && !overlay.has(key)) {
          committed.delete(key);
          live -= entry.size;
          removed++;
        }
      }
      return removed;
    },
    ping() {
      check();
      if (failed) throw failed;
    },
    async close() {
      if (closed) return;
      closed = true;
      while (flushing) await flushing;
      if (compaction) {
        // A rewrite waiting for its switch is ended here; one still writing stops at its next chunk.
        compaction.cancelled = true;
        const waiting = compaction.ready;
        compaction.ready = undefined;
        await waiting?.().catch(() => {});
        await compaction.done;
      }
      closeSync(fd);
      committed.clear();
      overlay.clear();
      release();
    },
  };
}

export type JournalStoreOptions = StoreOptions & JournalOptions & { dataDir: string };

export function createJournalStore(options: JournalStoreOptions): Store {
  const { dataDir, compactMin, preallocate, inlineMaxMs, ...rest } = options;
  const journal: JournalOptions = {};
  if (compactMin !== undefined) journal.compactMin = compactMin;
  if (preallocate !== undefined) journal.preallocate = preallocate;
  if (inlineMaxMs !== undefined) journal.inlineMaxMs = inlineMaxMs;
  return createRecordStore(createJournalBackend(dataDir, journal), rest);
}
