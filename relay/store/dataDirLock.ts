/**
 * One process per data directory. The journal store keeps its records in memory and appends to one
 * file, so a second process on the same directory would write a journal the first one never reads
 * (and both would rewrite it at compaction). The lock is a file holding the owner's pid and its start
 * time (field 22 of /proc/<pid>/stat, proc(5)), so a lock left by a killed relay is recognised as stale
 * even when a later process got the same pid (a container's relay is often pid 1 every time).
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const LOCK = "relay.lock";

/** Another live process holds the data directory. */
export class DataDirLockedError extends Error {
  override name = "DataDirLockedError";
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `data directory ${dataDir} is in use by process ${pid} (a running relay?); ` +
        "stop it first, or give this one another --data directory",
    );
  }
}

/** The process's start time in clock ticks since boot, or undefined where there is no /proc. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // "pid (comm) state …": comm may hold spaces and parentheses, so count fields after the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function isAlive(pid: number, start: string): boolean {
  if (startTime(process.pid) !== undefined) return startTime(pid) === start;
  try {
    process.kill(pid, 0); // no /proc (macOS): liveness only
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Directories this process holds (a second store on one of them is refused like another process). */
const held = new Set<string>();

/** The pid of the live process holding `dataDir`, or undefined when it is free (or its lock stale). */
export function dataDirHolder(dataDir: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, LOCK), "utf8");
  } catch {
    return undefined;
  }
  const [pidText, start = ""] = text.trim().split(" ");
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (pid === process.pid) return held.has(resolve(dataDir)) ? pid : undefined;
  return isAlive(pid, start) ? pid : undefined;
}

/**
 * Takes the directory for this process; returns the release. Throws DataDirLockedError when a live
 * process holds it. (Two processes finding the same stale lock at the same instant could both take
 * it: the lock guards against a second relay started by mistake, not against a race by design.)
 */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, LOCK);
  const mine = `${process.pid} ${startTime(process.pid) ?? "-"}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, mine, { flag: "wx", mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw error;
    }
    const holder = dataDirHolder(dataDir);
    if (holder !== undefined) throw new DataDirLockedError(dataDir, holder);
    rmSync(path, { force: true }); // stale: its owner is gone
  }
  held.add(resolve(dataDir));
  return () => {
    held.delete(resolve(dataDir));
    try {
      if (readFileSync(path, "utf8") === mine) rmSync(path, { force: true });
    } catch {
      // already gone
    }
  };
}
