/** What the figures were measured on: they only mean something next to the machine that produced them. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";

export type Machine = {
  cores: number;
  cpu: string;
  memoryGiB: number;
  node: string;
  os: string;
  date: string;
  /** 1-minute load average when the run started (a shared machine shows it here). */
  loadAtStart: number;
  fdLimit: string;
};

export function describeMachine(): Machine {
  const cpus = os.cpus();
  let fdLimit = "?";
  try {
    fdLimit = execFileSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" }).trim();
  } catch {
    // leave "?"
  }
  let osName = `${os.type()} ${os.release()}`;
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1];
    if (pretty) osName = `${pretty} (${os.release()})`;
  } catch {
    // keep the kernel name
  }
  return {
    cores: cpus.length,
    cpu: cpus[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: osName,
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    loadAtStart: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
    fdLimit,
  };
}

/** Resident set size of a process in KiB (VmRSS), or NaN when it is gone. */
export function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
