/**
 * The end of a pending request: store its outcome, deliver it to the frames waiting for it, forget it
 * once a frame acks. An outcome no frame acks within a few seconds (tab closed or reloaded) goes to
 * the history as undelivered, with a notification: an answer is never silently lost.
 */
import type { Outcome } from "../shared/messages.ts";
import type { HistoryEntry, PendingRequest } from "../shared/storageTypes.ts";
import { type BridgeLink, linksHolding, post } from "./links.ts";
import { notifyUndelivered } from "./notifyUndelivered.ts";
import { getRequest, removeRequest, updateLocal, updateRequest } from "./storage.ts";
import { scheduleTick } from "./tick.ts";

/** How long a stored answer waits for its frame (which reconnects within milliseconds after a restart). */
export const DELIVERY_GRACE_MS = 5_000;
/** A frame that holds the request but never acks is given up on after this. */
const DELIVERY_MAX_MS = 30_000;
const HISTORY_MAX = 20;

export function deliver(request: PendingRequest, to: BridgeLink[] = linksHolding(request.rid)): void {
  if (!request.outcome) return;
  for (const link of to) post(link, { type: "response", rid: request.rid, ...request.outcome });
}

export async function settle(rid: string, outcome: Outcome): Promise<void> {
  const request = await updateRequest(rid, (r) =>
    r.outcome ? r : { ...r, outcome, status: "answered", answeredAt: Date.now() },
  );
  if (!request) return;
  deliver(request);
  setTimeout(() => void checkDelivery(rid), DELIVERY_GRACE_MS);
  void scheduleTick();
}

async function addHistory(request: PendingRequest, delivered: boolean): Promise<HistoryEntry | undefined> {
  if (request.kind !== "wallet" || !request.outcome) return undefined;
  const entry: HistoryEntry = {
    rid: request.rid,
    method: request.method,
    origin: request.origin,
    outcome: request.outcome,
    finishedAt: request.answeredAt ?? Date.now(),
    delivered,
  };
  await updateLocal("history", (list) =>
    [entry, ...(list ?? []).filter((e) => e.rid !== entry.rid)].slice(0, HISTORY_MAX),
  );
  return entry;
}

/** A frame got the response: forget the request (wallet requests stay in the history). */
export async function acknowledge(link: BridgeLink, rid: string): Promise<void> {
  link.rids.delete(rid);
  const request = await getRequest(rid);
  if (!request?.outcome || request.origin !== link.origin) return;
  await removeRequest(rid);
  await addHistory(request, true);
  void scheduleTick();
}

/** Called a few seconds after an answer (and on every tick): redeliver, or give up and notify. */
export async function checkDelivery(rid: string): Promise<void> {
  const request = await getRequest(rid);
  if (!request?.outcome) return;
  const age = Date.now() - (request.answeredAt ?? 0);
  const holders = linksHolding(rid);
  if (age < DELIVERY_MAX_MS && (age < DELIVERY_GRACE_MS || holders.length > 0)) {
    deliver(request, holders);
    setTimeout(() => void checkDelivery(rid), DELIVERY_GRACE_MS);
    return;
  }
  await removeRequest(rid);
  const entry = await addHistory(request, false);
  if (entry) await notifyUndelivered(entry);
  void scheduleTick();
}
