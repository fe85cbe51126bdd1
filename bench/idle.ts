/**
 * 4. Idle long-polls: N pairing long-polls (`GET /v1/pairings/:token?wait=30`) held open at once, each on
 * its own connection, from a separate client process (bench/idleClient.ts). Measured: the server's RSS
 * (VmRSS) fresh, before the polls and while they are held; the cost per held poll; and `/healthz`
 * latency meanwhile (sequential, keep-alive). The same client against the bare node:http server's
 * long-poll route gives the ceiling's cost per held connection (after the same POSTs).
 */
import { fork } from "node:child_process";
import { readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { createClient, expectStatus, token } from "./lib/http.ts";
import type { Server } from "./lib/processes.ts";
import { ROOT } from "./lib/processes.ts";
import { type Latency, latency, median, sleep } from "./lib/stats.ts";

export type IdleFigures = {
  polls: number;
  /** Held according to the client (request written, no answer yet) when RSS was read. */
  held: number;
  /** Open sockets in the server process when RSS was read (each held poll has one). */
  sockets: number;
  rssFreshMiB: number;
  rssBeforeMiB: number;
  rssHeldMiB: number;
  perPollKiB: number;
  openSec: number;
  healthz: Latency;
  healthzIdle: Latency;
};

const CLIENT = join(ROOT, "bench", "idleClient.ts");

/** Sockets the process holds (its fds that are sockets): a held poll is one. */
export function socketCount(pid: number): number {
  let n = 0;
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:")) n++;
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return Number.NaN;
  }
  return n;
}

async function healthz(url: string, count: number): Promise<Latency> {
  const client = createClient(url, { maxSockets: 1 });
  try {
    const samples: number[] = [];
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      expectStatus(await client.request("GET", "/healthz"), 200);
      samples.push(performance.now() - started);
    }
    return latency(samples);
  } finally {
    client.close();
  }
}

/** Creates `n` pairings (ttl 600 s, so none expires meanwhile), 50 at a time; returns their tokens. */
async function createPairings(url: string, n: number): Promise<string[]> {
  const client = createClient(url, { maxSockets: 50 });
  const tokens = Array.from({ length: n }, token);
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < tokens.length) {
          const t = tokens[next++] as string;
          expectStatus(await client.request("POST", "/v1/pairings", { token: t, ttl: 600 }), 201);
        }
      }),
    );
  } finally {
    client.close();
  }
  return tokens;
}

type ChildStatus = { type: "status"; held: number; answered: number; errors: number; lastError?: string };

export async function benchIdle(
  server: Server,
  o: { polls: number; healthz: number; timeoutSec?: number },
): Promise<IdleFigures> {
  const mib = (kib: number) => kib / 1024;
  // Settling pauses scale with the size of the run (a smoke test holds a handful of polls).
  const pause = (ms: number) => sleep(o.polls >= 1_000 ? ms : ms / 10);
  await pause(500);
  const rssFresh = server.rss();
  const healthzIdle = await healthz(server.url, o.healthz);
  // The ceiling answers the same POSTs (with a fixed body), so both servers go through the same churn
  // before the polls: their RSS figures stay comparable.
  const tokens = await createPairings(server.url, o.polls);
  await pause(300);
  const rssBefore = server.rss();

  const child = fork(CLIENT, [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const messages: { type: string }[] = [];
  const waiters = new Set<() => void>();
  child.on("message", (m: { type: string }) => {
    messages.push(m);
    for (const w of waiters) w();
  });
  const next = async <T extends { type: string }>(type: string, timeoutMs: number): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = messages.findIndex((m) => m.type === type);
      if (at >= 0) return messages.splice(at, 1)[0] as T;
      if (child.exitCode !== null) throw new Error(`idle client exited (code ${child.exitCode})`);
      if (Date.now() > deadline) throw new Error(`idle client: no "${type}" within ${timeoutMs} ms`);
      await new Promise<void>((wake) => {
        const timer = setTimeout(wake, 100);
        waiters.add(() => {
          clearTimeout(timer);
          wake();
        });
      });
      waiters.clear();
    }
  };
  const status = async () => {
    child.send({ type: "status" });
    return next<ChildStatus>("status", 5_000);
  };
  try {
    await next("ready", 15_000);
    child.send({ type: "open", url: server.url, path: "/v1/pairings/", tokens, wait: 30, batch: 250 });
    const opened = await next<{ type: string; ms: number }>("opened", (o.timeoutSec ?? 60) * 1000);
    await pause(1_000); // let the server take every request off its sockets
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      samples.push(server.rss());
      await pause(100);
    }
    const sockets = socketCount(server.pid);
    const { held, errors, lastError } = await status();
    if (errors > 0) throw new Error(`idle client: ${errors} polls failed (${lastError})`);
    const during = await healthz(server.url, o.healthz);
    const rssHeld = median(samples);
    return {
      polls: o.polls,
      held,
      sockets,
      rssFreshMiB: mib(rssFresh),
      rssBeforeMiB: mib(rssBefore),
      rssHeldMiB: mib(rssHeld),
      perPollKiB: (rssHeld - rssBefore) / o.polls,
      openSec: opened.ms / 1000,
      healthz: during,
      healthzIdle,
    };
  } finally {
    if (child.exitCode === null) {
      child.send({ type: "stop" });
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await new Promise<void>((done) =>
        child.exitCode !== null ? done() : child.once("exit", () => done()),
      );
      clearTimeout(timer);
    }
  }
}
