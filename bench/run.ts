/**
 * `npm run bench` (full) and `npm run bench -- --quick` (under a minute): starts everything it measures
 * on loopback (relays, the bare node:http ceiling, redis-server, Chromium, Hardhat), drives it, prints
 * every figure and ratio, and writes its section of docs/BENCHMARKS.md (and the raw figures as JSON in
 * test-results/). Every loop is bounded in count and time; a watchdog ends a run that overstays.
 *
 *   (no flag)               full: every store, 5 runs per figure (3 for idle polls)
 *   --quick                 short runs; items 2–4 on the default store only
 *   --only=create,wakeup,roundtrip,idle,e2e
 *   --stores=journal,memory,redis   (the default; lmdb too on request)
 *   --no-write              print only
 */

import { execFileSync } from "node:child_process";
import os from "node:os";
import { join } from "node:path";
import { benchCreatePairing, type CreatePairingResult } from "./createPairing.ts";
import { benchE2e, type E2eFigures } from "./e2e.ts";
import { benchIdle, type IdleFigures } from "./idle.ts";
import { describeMachine } from "./lib/machine.ts";
import {
  ensureRelayBundle,
  type RedisHandle,
  ROOT,
  redisStoreAvailable,
  type Server,
  startCeiling,
  startRedisServer,
  startRelay,
} from "./lib/processes.ts";
import { fmt, type Latency, median, medianDeep } from "./lib/stats.ts";
import { ANSWER_FRAME_BYTES, benchLoneWrite } from "./loneWrite.ts";
import {
  type IdleLine,
  type Mode,
  type Results,
  renderSection,
  type StoreLine,
  TARGETS,
  writeJson,
  writeReport,
} from "./report.ts";
import { benchRoundTrip, type RoundTripFigures } from "./roundtrip.ts";
import { benchWakeup, type WakeupFigures } from "./wakeup.ts";

const ITEMS = ["create", "wakeup", "roundtrip", "idle", "e2e"] as const;
type Item = (typeof ITEMS)[number];

type Plan = {
  runs: number;
  limitSec: number;
  create: { durationSec: number; warmupSec: number; connections: number };
  wakeup: { sequential: number; parallelSec: number; warmup: number; concurrency: number };
  /** `settleSec`: when the settled reading is taken (bench/idle.ts); 0 in quick mode, which has no time to wait. */
  idle: {
    polls: number;
    healthz: number;
    runs: number;
    tsxLine: boolean;
    allStores: boolean;
    settleSec?: number;
  };
  e2e: { iterations: number; warmup: number; batches: number };
  /** Items 2–3 on every store (full) or the default one only (quick). */
  allStores: boolean;
};

const PLANS: Record<Mode, Plan> = {
  quick: {
    runs: 3,
    limitSec: 120,
    create: { durationSec: 1, warmupSec: 0.5, connections: 50 },
    wakeup: { sequential: 200, parallelSec: 1, warmup: 30, concurrency: 50 },
    idle: { polls: 10_000, healthz: 100, runs: 1, tsxLine: false, allStores: false, settleSec: 0 },
    e2e: { iterations: 5, warmup: 2, batches: 1 },
    allStores: false,
  },
  full: {
    runs: 5,
    limitSec: 1_500,
    create: { durationSec: 5, warmupSec: 2, connections: 50 },
    wakeup: { sequential: 1_000, parallelSec: 5, warmup: 100, concurrency: 50 },
    idle: { polls: 10_000, healthz: 500, runs: 3, tsxLine: true, allStores: true },
    e2e: { iterations: 20, warmup: 3, batches: 3 },
    allStores: true,
  },
};

function parseArgs(argv: string[]) {
  const mode: Mode = argv.includes("--quick") ? "quick" : "full";
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const only = value("only")?.split(",") ?? [...ITEMS];
  for (const item of only) {
    if (!(ITEMS as readonly string[]).includes(item))
      throw new Error(`--only: unknown item "${item}" (${ITEMS.join(", ")})`);
  }
  const stores = value("stores")?.split(",") ?? ["journal", "memory", "redis"];
  for (const s of stores)
    if (!["journal", "lmdb", "memory", "redis"].includes(s))
      throw new Error(`--stores: unknown store "${s}"`);
  const known = new Set(["--quick", "--full", "--no-write"]);
  for (const a of argv) {
    if (!known.has(a) && !/^--(only|stores)=/.test(a))
      throw new Error(`unknown argument "${a}" (see bench/run.ts)`);
  }
  return { mode, only: new Set(only as Item[]), stores, write: !argv.includes("--no-write") };
}

/** The commit measured, marked when relay/, protocol/ or bin/ differ from it in the working tree. */
function revision(): string {
  try {
    const git = (...a: string[]) => execFileSync("git", a, { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty =
      git("status", "--porcelain", "--untracked-files=no", "--", "relay", "protocol", "bin").length > 0;
    return `${git("rev-parse", "--short", "HEAD")}${dirty ? " + uncommitted relay changes" : ""}`;
  } catch {
    return "unknown";
  }
}

const wakeupLine = (w: WakeupFigures) =>
  `sequential p50 ${fmt(w.sequential.p50)} ms p99 ${fmt(w.sequential.p99)} ms; 50 parallel p50 ${fmt(w.parallel.p50)} ms p99 ${fmt(w.parallel.p99)} ms, ${fmt(w.parallel.pairingsPerSec)} pairings/s`;

/** `items` starting at index `k` (wrapping): each run puts another server first. */
const rotate = <T>(items: readonly T[], k: number): T[] =>
  items.map((_, i) => items[(i + k) % items.length] as T);

const errorOf = (error: unknown) => ({
  error: error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error),
});

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const plan = PLANS[args.mode];
  const started = performance.now();
  const watchdog = setTimeout(() => {
    console.error(
      `bench: still running after ${plan.limitSec} s; stopping (every process it started is killed)`,
    );
    process.exit(3);
  }, plan.limitSec * 1000);
  watchdog.unref();
  const machine = describeMachine();
  const say = (line: string) => console.log(line);
  say(
    `Balance Bridge benchmarks, ${args.mode} mode — ${machine.cores} × ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node}, load ${machine.loadAtStart}`,
  );

  const bundle = await ensureRelayBundle();
  if (bundle.built) say(`relay bundle rebuilt (build/relay.js, ${fmt((bundle.bytes ?? 0) / 1024)} KB)`);

  // Stores: the Redis line only if the Redis store exists and a redis-server starts.
  const stores: StoreLine[] = [];
  let redis: RedisHandle | undefined;
  const storeUrl = new Map<string, string>();
  for (const name of args.stores) {
    if (name !== "redis") {
      stores.push({ name, label: name === "journal" ? "journal (default)" : name, available: true });
      storeUrl.set(name, name);
      continue;
    }
    const available = redisStoreAvailable();
    if (!available.ok) {
      stores.push({ name, label: "redis", available: false, why: available.why });
      continue;
    }
    try {
      redis = await startRedisServer();
      // Probe: the relay must accept the URL and reach it.
      const probe = await startRelay({ store: redis.url, runtime: "bundle" });
      await probe.stop();
      stores.push({ name, label: "redis", available: true });
      storeUrl.set(name, redis.url);
    } catch (error) {
      stores.push({ name, label: "redis", available: false, why: errorOf(error).error.slice(0, 160) });
    }
  }
  const usable = stores.filter((s) => s.available);
  const defaultStore = usable.find((s) => s.name === "journal") ?? usable[0];

  const results: Results = {
    mode: args.mode,
    machine,
    loadAtEnd: Number.NaN,
    durationSec: Number.NaN,
    runs: plan.runs,
    settings: {
      revision: revision(),
      "relay runtime": "bundle (build/relay.js)",
      "rate limit": "off (--rate-limit 0)",
      "data directory (journal, lmdb)": "fresh temporary directory",
      connections: plan.create.connections,
      "idle polls": plan.idle.polls,
    },
    stores,
    wakeup: {},
    roundtrip: {},
    idle: undefined,
  };

  try {
    // 1. Create pairing vs the bare node:http ceiling.
    if (args.only.has("create")) {
      say("\n1. Create pairing (POST /v1/pairings, 50 connections) vs bare node:http");
      const servers: Server[] = [];
      try {
        const ceiling = await startCeiling();
        servers.push(ceiling);
        const relays: Server[] = [];
        for (const s of usable) {
          const relay = await startRelay({
            store: storeUrl.get(s.name) ?? s.name,
            runtime: "bundle",
            label: `relay (${s.name})`,
          });
          servers.push(relay);
          relays.push(relay);
        }
        const c: CreatePairingResult = await benchCreatePairing(ceiling, relays, {
          ...plan.create,
          runs: plan.runs,
          log: say,
        });
        results.create = c;
        for (const r of c.ratios) {
          say(
            `  → ${r.label}: ${fmt(c.targets.find((t) => t.label === r.label)?.figures.rps)} req/s, ${r.ratio.toFixed(2)}× the ceiling (target ≥ ${TARGETS.createRatio}×; per run ${r.perRun.map((x) => x.toFixed(2)).join(", ")})`,
          );
        }
      } catch (error) {
        results.create = errorOf(error);
        say(`  failed: ${results.create.error}`);
      } finally {
        await Promise.all(servers.map((s) => s.stop()));
      }
    }

    // 2. Wake-up, interleaved: the bare floor (bench/ceiling-server.js) and a relay per store are
    // started once, and every run measures each of them in turn, the order rotating, with the disk's
    // lone durable write right after the journal's: a run's floor, stores and disk share the same
    // minute of this shared machine, and the relay's own share of the journal's wake-up is taken per
    // run. 3. Round trips afterwards, on the same relays.
    if (args.only.has("wakeup") || args.only.has("roundtrip")) {
      type Lane = {
        key: string;
        label: string;
        server: Server | undefined;
        runs: WakeupFigures[];
        error?: string;
      };
      const lanes: Lane[] = [];
      const open = async (key: string, label: string, start: () => Promise<Server>) => {
        const lane: Lane = { key, label, server: undefined, runs: [] };
        lanes.push(lane);
        try {
          lane.server = await start();
        } catch (error) {
          lane.error = errorOf(error).error;
          say(`  ${label} failed to start: ${lane.error}`);
        }
      };
      try {
        if (args.only.has("wakeup")) await open("bare", "bare node:http (the floor)", () => startCeiling());
        for (const s of plan.allStores ? usable : defaultStore ? [defaultStore] : []) {
          const store = storeUrl.get(s.name) ?? s.name;
          await open(s.name, s.label, () => startRelay({ store, runtime: "bundle" }));
        }
        const o = { ...plan.wakeup, maxParallel: 200_000 };

        if (args.only.has("wakeup")) {
          say("\n2. Pairing wake-up: the bare floor and each store in turn, every run");
          // Beside the default store's runs, the disk's lone durable write (its latency drifts).
          const probed = defaultStore?.name === "journal" ? "journal" : undefined;
          const disk: Array<Latency & { gapMs: number }> = [];
          const own: number[] = [];
          for (let run = 1; run <= plan.runs; run++) {
            const p50 = new Map<string, number>();
            let lone: number | undefined;
            for (const lane of rotate(lanes, run - 1)) {
              if (!lane.server || lane.error) continue;
              try {
                const w = await benchWakeup(lane.server.url, o);
                lane.runs.push(w);
                p50.set(lane.key, w.sequential.p50);
                let line = `  run ${run}/${plan.runs}, ${lane.label}: ${wakeupLine(w)}`;
                if (lane.key === probed) {
                  const gapMs = w.sequential.pauseMs;
                  const d = await benchLoneWrite({ writes: Math.min(500, plan.wakeup.sequential), gapMs });
                  disk.push({ ...d, gapMs });
                  lone = d.p50;
                  line += `; a lone ${ANSWER_FRAME_BYTES} B O_DSYNC write after ${fmt(gapMs)} ms p50 ${fmt(d.p50)} ms`;
                }
                say(line);
              } catch (error) {
                lane.error = errorOf(error).error;
                say(`  failed on ${lane.label}: ${lane.error}`);
              }
            }
            const bare = p50.get("bare");
            const store = probed === undefined ? undefined : p50.get(probed);
            if (bare !== undefined && store !== undefined && lone !== undefined)
              own.push(store - bare - lone);
          }
          for (const lane of lanes) {
            const figures = lane.error ? { error: lane.error } : medianDeep(lane.runs);
            if (lane.key === "bare") results.wakeupFloor = { ...results.wakeupFloor, bare: figures };
            else results.wakeup[lane.key] = figures;
          }
          if (probed && disk.length > 0) {
            results.wakeupFloor = {
              ...results.wakeupFloor,
              disk: { ...medianDeep(disk), bytes: ANSWER_FRAME_BYTES },
              store: probed,
              ...(own.length > 0 ? { own: { p50: median(own), perRun: own } } : {}),
            };
          }
        }

        if (args.only.has("roundtrip")) {
          for (const lane of lanes) {
            if (lane.key === "bare") continue;
            say(`\n3. Request round trip, ${lane.label}`);
            if (!lane.server) {
              results.roundtrip[lane.key] = { error: lane.error ?? "not started" };
              continue;
            }
            try {
              const runs: RoundTripFigures[] = [];
              for (let run = 1; run <= plan.runs; run++) {
                const t = await benchRoundTrip(lane.server.url, o);
                runs.push(t);
                say(
                  `  run ${run}/${plan.runs}: sequential p50 ${fmt(t.sequential.p50)} ms p99 ${fmt(t.sequential.p99)} ms; 50 parallel p50 ${fmt(t.parallel.p50)} ms p99 ${fmt(t.parallel.p99)} ms, ${fmt(t.parallel.roundTripsPerSec)} round trips/s`,
                );
              }
              results.roundtrip[lane.key] = medianDeep(runs);
            } catch (error) {
              results.roundtrip[lane.key] = errorOf(error);
              say(`  failed on ${lane.label}: ${errorOf(error).error}`);
            }
          }
        }
      } finally {
        await Promise.all(lanes.map((lane) => lane.server?.stop()));
      }
    }

    // 4. Idle long-polls: a fresh process per server per run; the ceiling and each relay back to back.
    if (args.only.has("idle")) {
      say(`\n4. ${fmt(plan.idle.polls)} idle long-polls held at once`);
      try {
        type Line = { label: string; runtime: string; start: () => Promise<Server> };
        const lines: Line[] = [];
        for (const s of plan.idle.allStores ? usable : defaultStore ? [defaultStore] : []) {
          const store = storeUrl.get(s.name) ?? s.name;
          lines.push({
            label: `relay (${s.name}, bundle)`,
            runtime: "bundle",
            start: () => startRelay({ store, runtime: "bundle" }),
          });
          if (plan.idle.tsxLine && s === defaultStore) {
            lines.push({
              label: `relay (${s.name}, tsx)`,
              runtime: "tsx",
              start: () => startRelay({ store, runtime: "tsx" }),
            });
          }
        }
        const ceilingRuns: IdleFigures[] = [];
        const relayRuns = new Map<string, { figures: IdleFigures[]; ratios: number[]; held: number[] }>(
          lines.map((l) => [l.label, { figures: [], ratios: [], held: [] }]),
        );
        for (let run = 1; run <= plan.idle.runs; run++) {
          const measure = async (label: string, start: () => Promise<Server>) => {
            const server = await start();
            try {
              const f = await benchIdle(server, {
                polls: plan.idle.polls,
                healthz: plan.idle.healthz,
                ...(plan.idle.settleSec === undefined ? {} : { settleSec: plan.idle.settleSec }),
              });
              say(
                `  run ${run}/${plan.idle.runs} ${label.padEnd(26)} held ${f.held}, RSS ${fmt(f.rssFreshMiB)} → ${fmt(f.rssBeforeMiB)} → ${fmt(f.rssHeldMiB)} MB, ${fmt(f.perPollKiB)} KB/poll, /healthz p99 ${fmt(f.healthz.p99)} ms (opened in ${fmt(f.openSec)} s)`,
              );
              return f;
            } finally {
              await server.stop();
            }
          };
          const ceiling = await measure("bare node:http", () => startCeiling());
          ceilingRuns.push(ceiling);
          for (const line of lines) {
            const f = await measure(line.label, line.start);
            const entry = relayRuns.get(line.label);
            entry?.figures.push(f);
            entry?.ratios.push(f.perPollKiB / ceiling.perPollKiB);
            entry?.held.push(f.rssHeldMiB / ceiling.rssHeldMiB);
          }
        }
        const idle: IdleLine[] = [
          { label: "bare node:http", runtime: "-", runs: plan.idle.runs, figures: medianDeep(ceilingRuns) },
        ];
        for (const line of lines) {
          const entry = relayRuns.get(line.label);
          if (!entry) continue;
          idle.push({
            label: line.label,
            runtime: line.runtime,
            runs: plan.idle.runs,
            figures: medianDeep(entry.figures),
            perPollRatio: median(entry.ratios),
            heldRatio: median(entry.held),
          });
        }
        results.idle = idle;
      } catch (error) {
        results.idle = errorOf(error);
        say(`  failed: ${results.idle.error}`);
      }
    }

    // 5. End to end in Chromium.
    if (args.only.has("e2e")) {
      say("\n5. End to end: eth_sendTransaction in Chromium → hash");
      try {
        const batches: E2eFigures[] = [];
        for (let b = 1; b <= plan.e2e.batches; b++) {
          const e = await benchE2e({
            iterations: plan.e2e.iterations,
            warmup: plan.e2e.warmup,
            store: defaultStore ? (storeUrl.get(defaultStore.name) ?? "journal") : "memory",
            log: say,
          });
          batches.push(e);
          say(
            `  batch ${b}/${plan.e2e.batches}: total p50 ${fmt(e.total.p50)} ms, excluding the chain p50 ${fmt(e.excludingChain.p50)} ms (page→bg ${fmt(e.parts.pageToBackground.p50)}, bg→wallet ${fmt(e.parts.backgroundToWallet.p50)}, wallet ${fmt(e.parts.walletExclChain.p50)} (sign ${fmt(e.parts.signing.p50)}), chain ${fmt(e.parts.chain.p50)}, back ${fmt(e.parts.back.p50)}); provider ${e.provider.bytes} bytes`,
          );
        }
        results.e2e = medianDeep(batches);
      } catch (error) {
        results.e2e = errorOf(error);
        say(`  failed: ${results.e2e.error}`);
      }
    }
  } finally {
    await redis?.stop();
  }

  results.loadAtEnd = Math.round((os.loadavg()[0] ?? 0) * 100) / 100;
  results.durationSec = Math.round((performance.now() - started) / 100) / 10;
  const section = renderSection(results);
  say(`\n${section}`);
  if (args.write) {
    writeReport(join(ROOT, "docs", "BENCHMARKS.md"), results);
    writeJson(join(ROOT, "test-results", `bench-${args.mode}.json`), results);
    say(`written: docs/BENCHMARKS.md (${args.mode} section), test-results/bench-${args.mode}.json`);
  }
  clearTimeout(watchdog);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
