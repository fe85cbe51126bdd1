/**
 * The disk's share of the journal's wake-up: how long one lone durable write takes on the disk that
 * holds the relay's data directory, written the way the journal writes a frame when the relay is not
 * busy (open(2) `O_DSYNC`, on this thread, over preallocated zeros: relay/store/journal.ts), after the
 * pause the disk has had before the wallet's `PUT` writes in the wake-up benchmark (from the POST's
 * write to the PUT: the cycle measures it, `WakeupFigures.sequential.pauseMs`).
 *
 * Measured beside the wake-up runs because a virtual disk's latency changes from minute to minute,
 * and an isolated write is slower the longer the device has been idle (on this machine ≈ 0.09 ms
 * back to back, ≈ 0.13 ms after 1 ms, ≈ 0.19 ms after 2 ms): the pause has to be the cycle's own.
 */
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Latency, latency, pause } from "./lib/stats.ts";

/** About the size of the frame a wallet's pairing answer writes (the pairing with its answer and the new session). */
export const ANSWER_FRAME_BYTES = 800;

export async function benchLoneWrite(o: {
  writes: number;
  /** Pause before each write, ms (at least this long, fractions kept: lib/stats.ts `pause`). */
  gapMs: number;
  bytes?: number;
}): Promise<Latency> {
  const bytes = o.bytes ?? ANSWER_FRAME_BYTES;
  // Beside the benchmark relays' data directories (bench/lib/processes.ts: under the temporary directory).
  const dir = mkdtempSync(join(tmpdir(), "bb-bench-disk-"));
  const fd = openSync(join(dir, "probe"), constants.O_RDWR | constants.O_CREAT | constants.O_DSYNC, 0o600);
  try {
    const size = Math.max(1 << 20, (o.writes + 1) * bytes);
    writeSync(fd, Buffer.alloc(size), 0, size, 0);
    const frame = Buffer.alloc(bytes, 0x5b);
    const samples: number[] = [];
    for (let i = 0; i < o.writes; i++) {
      await pause(o.gapMs);
      const started = performance.now();
      writeSync(fd, frame, 0, bytes, i * bytes);
      samples.push(performance.now() - started);
    }
    return latency(samples);
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}
