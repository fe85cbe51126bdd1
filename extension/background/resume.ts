/**
 * Picks up where a stopped worker left off, from storage alone: polls for every stored request the
 * wallet has not answered, redelivers or gives up on stored answers, resumes the pairing long-poll,
 * and restarts the event loop. Runs at every worker start and on every tick alarm; idempotent
 * (each loop refuses to run twice).
 */

import { denyOrigins } from "./connectRequests.ts";
import { connectWindowExists } from "./connectWindow.ts";
import { runPairing } from "./pairing.ts";
import { checkDelivery } from "./settleRequest.ts";
import { getSession, listRequests } from "./storage.ts";
import { scheduleTick } from "./tick.ts";
import { runWalletEvents } from "./walletEvents.ts";
import { runWalletRequest } from "./walletRequests.ts";

/** A connect request older than this without a connect window lost its window while the worker slept. */
const ORPHANED_CONNECT_MS = 15_000;

let resuming: Promise<void> | undefined;

export function resume(): Promise<void> {
  resuming ??= run().finally(() => {
    resuming = undefined;
  });
  return resuming;
}

async function run(): Promise<void> {
  const [requests, pairing, wallet] = await Promise.all([
    listRequests(),
    getSession("pairing"),
    getSession("wallet"),
  ]);
  let orphanedConnects = false;
  for (const r of requests) {
    if (r.outcome) void checkDelivery(r.rid);
    else if (r.kind === "wallet") void runWalletRequest(r.rid);
    else if (Date.now() - r.createdAt > ORPHANED_CONNECT_MS) orphanedConnects = true;
  }
  if (orphanedConnects && !(await connectWindowExists())) {
    await denyOrigins(undefined, "The connect window was closed.");
  }
  if (pairing?.status === "waiting") void runPairing();
  if (wallet) void runWalletEvents();
  await scheduleTick();
}
