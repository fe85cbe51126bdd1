/**
 * The report: one Markdown section per mode in docs/BENCHMARKS.md, between
 * `<!-- bench:<mode>:begin -->` and `<!-- bench:<mode>:end -->` (everything outside the markers is
 * written by hand and kept), plus the raw figures as JSON in test-results/ for comparisons.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { CreatePairingResult } from "./createPairing.ts";
import type { E2eFigures } from "./e2e.ts";
import type { IdleFigures } from "./idle.ts";
import type { Machine } from "./lib/machine.ts";
import { fmt, type Latency } from "./lib/stats.ts";
import type { RoundTripFigures } from "./roundtrip.ts";
import type { WakeupFigures } from "./wakeup.ts";

export type Mode = "quick" | "full";

export type Failed = { error: string };
export type Maybe<T> = T | Failed;
export const failed = <T>(m: Maybe<T> | undefined): m is Failed =>
  m !== undefined && typeof m === "object" && m !== null && "error" in m;

export type StoreLine = { name: string; label: string; available: boolean; why?: string };

export type IdleLine = {
  label: string;
  runtime: string;
  runs: number;
  figures: IdleFigures;
  /** Per held poll, relay / bare node:http in the same run (median over runs). */
  perPollRatio?: number;
  /** Settled RSS while held (`rssHeldMiB`), relay / bare node:http in the same run (median over runs). */
  heldRatio?: number;
};

export type Results = {
  mode: Mode;
  machine: Machine;
  loadAtEnd: number;
  durationSec: number;
  runs: number;
  settings: Record<string, string | number>;
  stores: StoreLine[];
  create?: Maybe<CreatePairingResult>;
  wakeup: Record<string, Maybe<WakeupFigures>>;
  /** The wake-up's floors in the same run (bench/run.ts): bare node:http, and the disk's lone durable write. */
  wakeupFloor?: WakeupFloor;
  roundtrip: Record<string, Maybe<RoundTripFigures>>;
  idle: Maybe<IdleLine[]> | undefined;
  e2e?: Maybe<E2eFigures>;
};

export type WakeupFloor = {
  bare?: Maybe<WakeupFigures>;
  /**
   * A lone `O_DSYNC` write of `bytes` after `gapMs` (bench/loneWrite.ts), beside the default store's
   * runs; `gapMs` is each run's own pause before the PUT (`sequential.pauseMs`).
   */
  disk?: Maybe<Latency & { bytes: number; gapMs: number }>;
  /** The store whose runs the disk was measured beside. */
  store?: string;
  /**
   * That store's sequential p50 less the floor's and the disk's, per run (all three measured in the
   * same run, one after the other) and their median: the relay's own work.
   */
  own?: { p50: number; perRun: number[] };
};

export const TARGETS = {
  createRatio: 0.6,
  wakeupSeqP50: 0.5,
  wakeupSeqP99: 2,
  pairingsPerSec: 2000,
  idleRssMiB: 150,
  idleHealthzP99: 20,
  e2eExclChainP50: 150,
  providerBytes: 10 * 1024,
} as const;

const ok = (met: boolean) => (met ? "✅" : "❌");
const ms = (v: number | undefined) => `${fmt(v)} ms`;
const lat = (l: Latency) => `${fmt(l.p50)} / ${fmt(l.p99)}`;

/** The bare node:http line of the wake-up table (bench/ceiling-server.js answers the same cycle). */
function floorRow(bare: Maybe<WakeupFigures> | undefined): string | undefined {
  if (bare === undefined) return undefined;
  if (failed(bare))
    return `| bare node:http (floor) | failed: ${bare.error.replaceAll("|", "/").slice(0, 200)} |`;
  return `| bare node:http (floor) | ${lat(bare.sequential)} ms (n=${bare.sequential.n}) | | ${lat(bare.parallel)} ms | ${fmt(bare.parallel.pairingsPerSec)} | |`;
}

/** Where the default store's sequential wake-up goes: the HTTP floor, the disk, the relay's own work. */
function floorText(r: Results): string[] {
  const f = r.wakeupFloor;
  if (!f?.disk) return [];
  if (failed(f.disk)) return [`The disk's lone write could not be measured: ${f.disk.error}`, ""];
  const d = f.disk;
  const lines = [
    `The disk under the data directory, measured after each ${f.store ?? "default store"} run: a lone ${fmt(d.bytes)}-byte \`O_DSYNC\` write (about a pairing answer's journal frame) after a ${fmt(d.gapMs)} ms pause (the run's own, from the POST's answer to the PUT) takes ${lat(d)} ms (p50 / p99, n=${fmt(d.n)} per run).`,
  ];
  const w = f.store ? r.wakeup[f.store] : undefined;
  if (f.bare && !failed(f.bare) && w && !failed(w)) {
    const own = f.own?.p50 ?? w.sequential.p50 - f.bare.sequential.p50 - d.p50;
    const perRun = f.own
      ? ` (the median of each run's difference: ${f.own.perRun.map(ms).join(", ")}; the floor, the store and the disk measured one after the other in each run)`
      : "";
    lines.push(
      `The ${f.store} store's sequential p50, ${ms(w.sequential.p50)}, is the bare floor (${ms(f.bare.sequential.p50)}) plus that write (${ms(d.p50)}) plus ${ms(own)} of the relay's own work${perRun}: routing, validation, the store's rules, the journal's frame, the poll's answer.`,
    );
  }
  return [lines.join(" "), ""];
}

export function renderSection(r: Results): string {
  const m = r.machine;
  const out: string[] = [];
  const shared = m.loadAtStart > 0.25 * m.cores || r.loadAtEnd > 0.25 * m.cores;
  out.push(
    `### ${r.mode === "full" ? "Full" : "Quick"} run, ${m.date}`,
    "",
    `Machine: ${m.cores} cores (${m.cpu}), ${fmt(m.memoryGiB)} GiB memory, ${m.os}, Node ${m.node}, ` +
      `fd limit ${m.fdLimit}. Mode: \`${r.mode}\` (${r.runs} runs per figure; each figure is the median of ` +
      `the runs, each ratio the median of per-run ratios), ${fmt(r.durationSec)} s in all. Load average ` +
      `${fmt(m.loadAtStart)} at the start, ${fmt(r.loadAtEnd)} at the end${shared ? " — **the machine was shared with other work during this run: absolute figures are noisy; the ratios, taken within a run, are what count**" : ""}.`,
    "",
    `Settings: ${Object.entries(r.settings)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}.`,
    "",
  );
  const unavailable = r.stores.filter((s) => !s.available);
  for (const s of unavailable) out.push(`Store **${s.label}**: not available (${s.why}).`, "");

  // 1. Create pairing
  out.push("#### 1. Create pairing (`POST /v1/pairings`, 50 connections, autocannon)", "");
  if (!r.create) out.push("Not run.", "");
  else if (failed(r.create)) out.push(`Failed: ${r.create.error}`, "");
  else {
    const c = r.create;
    out.push(
      `${c.runs} runs of ${c.durationSec} s per target, every target in every run, ceiling first.`,
      "",
      "| Server | req/s | p50 | p99 | relay / ceiling (same run) | target ≥ 0.6× |",
      "| --- | ---: | ---: | ---: | ---: | :---: |",
    );
    for (const t of c.targets) {
      const rr = c.ratios.find((x) => x.label === t.label);
      out.push(
        `| ${t.label} | ${fmt(t.figures.rps)} | ${ms(t.figures.p50)} | ${ms(t.figures.p99)} | ${rr ? `${rr.ratio.toFixed(2)}×` : "(ceiling)"} | ${rr ? ok(rr.ratio >= TARGETS.createRatio) : ""} |`,
      );
    }
    const bad = c.targets.reduce((n, t) => n + t.figures.bad, 0);
    if (bad > 0)
      out.push("", `⚠️ ${bad} requests failed (non-2xx or socket errors): the figures above are not valid.`);
    out.push("");
  }

  // 2. Wake-up, 3. Round trip
  const storeRows = (
    title: string,
    data: Record<string, Maybe<WakeupFigures | RoundTripFigures>>,
    header: string,
    row: (label: string, f: WakeupFigures | RoundTripFigures) => string,
    floor?: string,
  ) => {
    out.push(title, "", header);
    if (floor) out.push(floor);
    for (const s of r.stores) {
      const f = data[s.name];
      if (!s.available) out.push(`| ${s.label} | not available (${s.why}) |`);
      else if (f === undefined) out.push(`| ${s.label} | not run in this mode |`);
      else if (failed(f)) out.push(`| ${s.label} | failed: ${f.error.replaceAll("|", "/").slice(0, 200)} |`);
      else out.push(row(s.label, f));
    }
    out.push("");
  };
  storeRows(
    "#### 2. Pairing wake-up (wallet's `PUT` → the dapp's waiting `GET` returns)",
    r.wakeup,
    "| Store | sequential p50 / p99 | target ≤ 0.5 / ≤ 2 ms | 50 parallel: p50 / p99 | pairings/s | target ≥ 2,000/s |\n| --- | ---: | :---: | ---: | ---: | :---: |",
    (label, f) => {
      const w = f as WakeupFigures;
      return `| ${label} | ${lat(w.sequential)} ms (n=${w.sequential.n}) | ${ok(w.sequential.p50 <= TARGETS.wakeupSeqP50 && w.sequential.p99 <= TARGETS.wakeupSeqP99)} | ${lat(w.parallel)} ms | ${fmt(w.parallel.pairingsPerSec)} | ${ok(w.parallel.pairingsPerSec >= TARGETS.pairingsPerSec)} |`;
    },
    floorRow(r.wakeupFloor?.bare),
  );
  out.push(
    "A pairing in pairings/s is the whole cycle of docs/PROTOCOL.md §2: create (POST), wait (GET), answer (PUT), wake-up, acknowledge (DELETE).",
    "",
    ...floorText(r),
  );
  storeRows(
    "#### 3. Request round trip (dapp `POST` → wallet's pull wakes → wallet `PUT`s the response → the dapp's waiting `GET` returns)",
    r.roundtrip,
    "| Store | sequential p50 / p99 | 50 parallel: p50 / p99 | round trips/s |\n| --- | ---: | ---: | ---: |",
    (label, f) => {
      const t = f as RoundTripFigures;
      return `| ${label} | ${lat(t.sequential)} ms (n=${t.sequential.n}) | ${lat(t.parallel)} ms | ${fmt(t.parallel.roundTripsPerSec)} |`;
    },
  );

  // 4. Idle long-polls
  out.push("#### 4. Idle long-polls held at once", "");
  if (!r.idle) out.push("Not run.", "");
  else if (failed(r.idle)) out.push(`Failed: ${r.idle.error}`, "");
  else {
    const heldAt = r.idle.map((l) => l.figures.heldAtSec).filter((t) => t !== undefined);
    const [first, last] = [fmt(Math.min(...heldAt), 2), fmt(Math.max(...heldAt), 2)];
    const settle = heldAt.length === 0 ? "" : first === last ? `${first} s` : `${first}–${last} s`;
    out.push(
      "| Server | polls held | RSS fresh | RSS before polls | RSS just opened | **RSS held, settled** | per poll (settled) | settled vs bare node:http (same run) | `/healthz` p50 / p99 while held | target ≤ 150 MB settled, p99 ≤ 20 ms |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |",
    );
    // Runs saved before the settled reading (test-results/*.json) have one reading, taken just opened.
    const legacy = r.idle.some((l) => l.figures.rssOpenedMiB === undefined);
    for (const line of r.idle) {
      const f = line.figures;
      const isRelay = line.perPollRatio !== undefined;
      const opened = legacy ? f.rssHeldMiB : f.rssOpenedMiB;
      const settled = legacy ? "–" : `**${fmt(f.rssHeldMiB)} MB**`;
      out.push(
        `| ${line.label} | ${fmt(f.held)} | ${fmt(f.rssFreshMiB)} MB | ${fmt(f.rssBeforeMiB)} MB | ${fmt(opened)} MB | ${settled} | ${fmt(f.perPollKiB)} KB | ${isRelay ? `${(line.heldRatio ?? Number.NaN).toFixed(2)}×` : "(ceiling)"} | ${lat(f.healthz)} ms | ${isRelay ? ok(f.rssHeldMiB <= TARGETS.idleRssMiB && f.healthz.p99 <= TARGETS.idleHealthzP99) : ""} |`,
      );
    }
    out.push(
      "",
      "MB here is MiB (VmRSS / 1024), each the median of 5 readings 100 ms apart. “Before polls” is after the 10,000 POSTs that create the pairings the polls wait on (the bare server answers the same POSTs). " +
        "“Just opened” is 1 s after the last poll opened, with the garbage of that burst of connections and requests still resident; " +
        `“held, settled” is read ${settle ? `${settle} ` : ""}after the last poll opened, the polls held all along with no traffic since \`/healthz\` (right after “just opened”), once V8's memory reducer has collected and compacted: the steady state an operator sizes for, and what the target and the ratio are judged on. ` +
        "The bare server's reducer runs later than the relay's (13–22 s, at times after 24 s: then its settled figure is high and the ratio flatters the relay). " +
        "“Per poll” is (settled − before) / polls; a Redis relay's figure excludes redis-server." +
        (heldAt.length > 0 && Math.max(...heldAt) < 5
          ? " **Quick mode has no time to let the servers settle: its “settled” reading is taken at once, so it is an upper bound; the target is judged on a full run.**"
          : "") +
        (legacy
          ? " These figures come from a run before the settled reading existed: per poll, the ratio and the target use the just-opened reading."
          : ""),
      "",
    );
  }

  // 5. End to end
  out.push("#### 5. End to end: `eth_sendTransaction` in Chromium → hash", "");
  if (!r.e2e) out.push("Not run.", "");
  else if (failed(r.e2e)) out.push(`Failed: ${r.e2e.error}`, "");
  else {
    const e = r.e2e;
    const p = e.parts;
    out.push(
      `${e.iterations} transactions after a warm-up, sequential (p50 / p99, ms):`,
      "",
      "| Part | p50 / p99 |",
      "| --- | ---: |",
      `| page → background (provider, bridge, worker: checks, seal, store) | ${lat(p.pageToBackground)} |`,
      `| background → relay → wallet (POST, the wallet's pull wakes, fetch, open) | ${lat(p.backgroundToWallet)} |`,
      `| wallet: approve (auto), bookkeeping, prepare, sign — chain excluded | ${lat(p.walletExclChain)} |`,
      `| of which signing (signTransaction) | ${lat(p.signing)} |`,
      `| chain (the Hardhat node's own time for the wallet's RPC calls) | ${lat(p.chain)} |`,
      `| back: wallet PUT → relay → worker's long-poll (${lat(p.relayToBackground)}) → page (${lat(p.backgroundToPage)}) | ${lat(p.back)} |`,
      `| **total, page to hash** | **${lat(e.total)}** |`,
      `| **total excluding the chain** (target p50 ≤ 150 ms ${ok(e.excludingChain.p50 <= TARGETS.e2eExclChainP50)}) | **${lat(e.excludingChain)}** |`,
      "",
      `MAIN-world provider script (${e.provider.file}): ${fmt(e.provider.bytes)} bytes minified, ${fmt(e.provider.gzip)} bytes gzip (target ≤ 10 KB minified ${ok(e.provider.bytes <= TARGETS.providerBytes)}).` +
        (e.workerMarks
          ? ""
          : " Chromium did not report the worker's requests: the first two parts are merged."),
      "",
    );
  }
  return out.join("\n");
}

const HEADER = `# Benchmarks

Generated sections below are written by \`npm run bench\` (see the end of this file for the method).
`;

/** Replaces (or adds) this mode's generated section in `file`, keeping everything else. */
export function writeReport(file: string, r: Results): void {
  const begin = `<!-- bench:${r.mode}:begin -->`;
  const end = `<!-- bench:${r.mode}:end -->`;
  const section = `${begin}\n${renderSection(r)}\n${end}`;
  let text = existsSync(file) ? readFileSync(file, "utf8") : HEADER;
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a !== -1 && b > a) text = text.slice(0, a) + section + text.slice(b + end.length);
  else text = `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(file, text);
}

export function writeJson(file: string, r: Results): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(r, null, 1)}\n`);
}
