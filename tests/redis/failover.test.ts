/**
 * One relay instance dies (SIGKILL) while the dapp's response long-poll waits on it. With both
 * instances on one Redis behind a load balancer, the dapp client (its long-polls retry transient
 * failures) lands on the other instance and loses nothing: the wallet, also through the load
 * balancer, still finds the request, and its answer reaches the dapp.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDappClient } from "../../protocol/dappClient.ts";
import { parsePairingUri } from "../../protocol/pairingUri.ts";
import { createWalletClient } from "../../protocol/walletClient.ts";
import { sleep, uuid } from "../relay/helpers.ts";
import { type LoadBalancer, startLoadBalancer } from "../support/loadBalancer.ts";
import { type RedisServer, startRedis } from "../support/redisServer.ts";
import { type RelayProcess, startRelayProcess } from "../support/relayProcess.ts";

const ACCOUNT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const CHAIN = "0x7a69";

let redis: RedisServer;
let relays: RelayProcess[] = [];
let lb: LoadBalancer;

beforeAll(async () => {
  redis = await startRedis();
  const args = ["--store", redis.url, "--rate-limit", "0"];
  relays = await Promise.all([startRelayProcess({ args }), startRelayProcess({ args })]);
  lb = await startLoadBalancer(relays.map((r) => r.url));
});
afterAll(async () => {
  await lb?.close();
  await Promise.all(relays.map((r) => r.kill("SIGKILL")));
  await redis?.stop();
});

/** Resolves with the in-flight request that matches, once the load balancer has forwarded it. */
async function inFlight(match: (path: string) => boolean, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const hit = lb.inFlight().find((f) => match(f.path));
    if (hit) return hit;
    if (Date.now() > deadline) throw new Error("request never reached a backend");
    await sleep(10);
  }
}

describe("an instance killed under a waiting long-poll", () => {
  it("the dapp retries on the other instance and gets the wallet's answer", async () => {
    const dapp = createDappClient({ relayUrl: lb.url });
    const wallet = createWalletClient();

    const pending = await dapp.createPairing();
    const pairing = dapp.waitForPairing(pending);
    const walletSession = await wallet.answerPairing({
      uri: parsePairingUri(pending.uri),
      deviceId: uuid(),
      accounts: [ACCOUNT],
      chainId: CHAIN,
      wallet: { name: "test wallet" },
    });
    const session = await pairing;
    expect(session.sessionId).toBe(walletSession.sessionId);
    expect(session.matchCode).toBe(walletSession.matchCode);

    const { id } = await dapp.sendRequest(session, {
      method: "personal_sign",
      params: ["0x68656c6c6f", ACCOUNT],
      origin: "https://dapp.example",
      chainId: CHAIN,
    });
    const response = dapp.waitForResponse(session, id);
    const poll = await inFlight((path) => path.endsWith(`/requests/${id}/response`));
    const victim = relays.find((r) => r.url === poll.backend);
    expect(victim).toBeDefined();
    await sleep(100); // the poll is now waiting inside that instance
    await victim?.kill("SIGKILL");
    const survivor = relays.find((r) => r !== victim) as RelayProcess;

    // The wallet, through the same load balancer (which skips the dead instance), still has the request.
    const { requests } = await wallet.pullRequests(walletSession, { wait: 5 });
    expect(requests.map((r) => r.id)).toEqual([id]);
    expect(requests[0]?.payload).toMatchObject({ method: "personal_sign", origin: "https://dapp.example" });
    const answeredAt = performance.now();
    await wallet.respond(walletSession, requests[0] as (typeof requests)[number], { result: "0x5ig" });

    expect(await response).toEqual({ result: "0x5ig" });
    // Retry backoff (≤ 0.5 s after the 502) plus a wake-up: far from a long-poll timeout (30 s).
    expect(performance.now() - answeredAt).toBeLessThan(3000);
    // The dapp's retried response long-poll was served by the survivor.
    const afterKill = lb.served().slice(lb.served().indexOf(poll) + 1);
    expect(
      afterKill.some((f) => f.backend === survivor.url && f.path.endsWith(`/requests/${id}/response`)),
    ).toBe(true);
  });
});
