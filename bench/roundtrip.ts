/**
 * 3. Request round trip over a paired session: the dapp posts a request (`POST …/requests`) and waits
 * for the response (`GET …/requests/:id/response?wait=25`); the wallet, holding its pull long-poll
 * (`GET …/requests?wait=25`), is woken by the post, answers (`PUT …/response`); the figure is from the
 * start of the POST to the end of the dapp's waiting GET. The dapp then acknowledges (DELETE, not
 * timed but counted in round trips/s). Sequential on one session, and 50 sessions in parallel.
 */
import {
  type Client,
  createClient,
  expectStatus,
  sessionId as newSessionId,
  sealedPair,
  sealedSession,
  token,
  uuid,
} from "./lib/http.ts";
import { type Latency, latency } from "./lib/stats.ts";

export type RoundTripFigures = {
  sequential: Latency;
  parallel: Latency & { concurrency: number; roundTripsPerSec: number; roundTrips: number };
};

type Session = { sid: string; dapp: Client; wallet: Client; stopWallet(): Promise<void> };

/** Pairs (POST, PUT) and starts the wallet's pull loop, which answers every new request at once. */
async function openSession(url: string): Promise<Session> {
  const dapp = createClient(url);
  const wallet = createClient(url);
  const t = token();
  const sid = newSessionId();
  expectStatus(await dapp.request("POST", "/v1/pairings", { token: t, ttl: 60 }), 201);
  expectStatus(
    await wallet.request("PUT", `/v1/pairings/${t}`, {
      deviceId: uuid(),
      sessionId: sid,
      sealed: sealedPair(),
    }),
    201,
  );
  expectStatus(await dapp.request("DELETE", `/v1/pairings/${t}`), 204);
  const stopper = new AbortController();
  const answered = new Set<string>();
  const loop = (async () => {
    while (!stopper.signal.aborted) {
      let reply: Awaited<ReturnType<Client["request"]>>;
      try {
        reply = await wallet.request("GET", `/v1/sessions/${sid}/requests?wait=25`, undefined, {
          signal: stopper.signal,
        });
      } catch (error) {
        if (stopper.signal.aborted) return;
        throw error;
      }
      expectStatus(reply, 200);
      const { requests } = JSON.parse(reply.body) as { requests: { id: string }[] };
      for (const r of requests) {
        if (answered.has(r.id)) continue;
        answered.add(r.id);
        const put = await wallet.request("PUT", `/v1/sessions/${sid}/requests/${r.id}/response`, {
          sealed: sealedSession(200),
        });
        // 410: the dapp cancelled it meanwhile (not in this benchmark); anything else is a failure.
        expectStatus(put, 201, 410);
      }
      if (answered.size > 1000) answered.clear(); // bounded: acknowledged ids are not listed again
    }
  })();
  loop.catch(() => undefined);
  return {
    sid,
    dapp,
    wallet,
    async stopWallet() {
      stopper.abort();
      await loop.catch(() => undefined);
      dapp.close();
      wallet.close();
    },
  };
}

async function oneRoundTrip(s: Session): Promise<number> {
  const id = uuid();
  const started = performance.now();
  expectStatus(
    await s.dapp.request("POST", `/v1/sessions/${s.sid}/requests`, { id, sealed: sealedSession(), ttl: 60 }),
    201,
  );
  const reply = await s.dapp.request("GET", `/v1/sessions/${s.sid}/requests/${id}/response?wait=25`);
  const ms = performance.now() - started;
  expectStatus(reply, 200);
  expectStatus(await s.dapp.request("DELETE", `/v1/sessions/${s.sid}/requests/${id}`), 204);
  return ms;
}

export async function benchRoundTrip(
  url: string,
  o: { sequential: number; concurrency: number; parallelSec: number; maxParallel: number; warmup: number },
): Promise<RoundTripFigures> {
  const sessions: Session[] = [];
  try {
    const first = await openSession(url);
    sessions.push(first);
    for (let i = 0; i < o.warmup; i++) await oneRoundTrip(first);
    const seq: number[] = [];
    for (let i = 0; i < o.sequential; i++) seq.push(await oneRoundTrip(first));

    while (sessions.length < o.concurrency) sessions.push(await openSession(url));
    const par: number[] = [];
    const started = performance.now();
    const deadline = started + o.parallelSec * 1000;
    let launched = 0;
    await Promise.all(
      sessions.map(async (s) => {
        while (performance.now() < deadline && launched < o.maxParallel) {
          launched++;
          par.push(await oneRoundTrip(s));
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    return {
      sequential: latency(seq),
      parallel: {
        ...latency(par),
        concurrency: o.concurrency,
        roundTrips: par.length,
        roundTripsPerSec: par.length / elapsed,
      },
    };
  } finally {
    await Promise.all(sessions.map((s) => s.stopWallet()));
  }
}
