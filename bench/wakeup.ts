/**
 * 2. Pairing wake-up: the dapp side waits on `GET /v1/pairings/:token?wait=25`; the wallet answers with
 * `PUT /v1/pairings/:token`; the figure is the time from the start of the PUT to the end of the waiting
 * GET's answer, on the client side (performance.now). A pairing is the whole protocol §2 cycle: create
 * (POST), wait (GET), answer (PUT), wake-up, acknowledge (DELETE); pairings/s counts whole cycles.
 *
 * Sequential: one pairing at a time on one dapp and one wallet keep-alive connection, the GET given
 * 1 ms to be registered before the PUT (so the PUT really wakes a waiting poll). Parallel: 50 such
 * loops at once for a bounded time (no pause: under load a GET that arrives after its PUT just reads
 * the answer, which the relay must handle too).
 */
import { type Client, createClient, expectStatus, sealedPair, sessionId, token, uuid } from "./lib/http.ts";
import { type Latency, latency, median, pause } from "./lib/stats.ts";

export type WakeupFigures = {
  /**
   * `pauseMs`: median time from the POST's answer to the PUT's start in the sequential cycles: how
   * long the journal's disk has been idle when the PUT's write comes (bench/loneWrite.ts waits as long).
   */
  sequential: Latency & { pauseMs: number };
  parallel: Latency & { concurrency: number; pairingsPerSec: number; pairings: number };
};

/** One whole cycle; `ms` is the wake-up, `pauseMs` the time from the POST's answer to the PUT. */
async function onePairing(
  dapp: Client,
  wallet: Client,
  o: { settleMs: number },
): Promise<{ ms: number; pauseMs: number }> {
  const t = token();
  expectStatus(await dapp.request("POST", "/v1/pairings", { token: t, ttl: 60 }), 201);
  const created = performance.now();
  const { reply: waiting } = await dapp.start("GET", `/v1/pairings/${t}?wait=25`);
  // At least settleMs by the clock the pause is measured with (a bare timer may fire 0.2 ms early).
  if (o.settleMs > 0) await pause(o.settleMs);
  const body = { deviceId: uuid(), sessionId: sessionId(), sealed: sealedPair() };
  const started = performance.now();
  const answered = wallet.request("PUT", `/v1/pairings/${t}`, body);
  const woke = await waiting;
  const ms = performance.now() - started;
  expectStatus(woke, 200);
  expectStatus(await answered, 201);
  expectStatus(await dapp.request("DELETE", `/v1/pairings/${t}`), 204);
  return { ms, pauseMs: started - created };
}

export async function benchWakeup(
  url: string,
  o: { sequential: number; concurrency: number; parallelSec: number; maxParallel: number; warmup: number },
): Promise<WakeupFigures> {
  const dapp = createClient(url);
  const wallet = createClient(url);
  try {
    for (let i = 0; i < o.warmup; i++) await onePairing(dapp, wallet, { settleMs: 0 });
    const seq: number[] = [];
    const pauses: number[] = [];
    for (let i = 0; i < o.sequential; i++) {
      const cycle = await onePairing(dapp, wallet, { settleMs: 1 });
      seq.push(cycle.ms);
      pauses.push(cycle.pauseMs);
    }

    const par: number[] = [];
    const deadline = performance.now() + o.parallelSec * 1000;
    const started = performance.now();
    let launched = 0;
    const worker = async () => {
      while (performance.now() < deadline && launched < o.maxParallel) {
        launched++;
        par.push((await onePairing(dapp, wallet, { settleMs: 0 })).ms);
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    const elapsed = (performance.now() - started) / 1000;
    return {
      sequential: { ...latency(seq), pauseMs: median(pauses) },
      parallel: {
        ...latency(par),
        concurrency: o.concurrency,
        pairings: par.length,
        pairingsPerSec: par.length / elapsed,
      },
    };
  } finally {
    dapp.close();
    wallet.close();
  }
}
