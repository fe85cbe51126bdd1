/**
 * EIP-1102 `eth_requestAccounts` and EIP-2255 `wallet_requestPermissions` that need the user: they
 * wait in storage.session (kind "connect") until the user pairs a wallet (the QR in the connect
 * window), approves or denies the origin, or closes the window (4001).
 */
import type { DappSession } from "../../protocol/dappClient.ts";
import { UserRejectedRequestError } from "../../protocol/errors.ts";
import type { Outcome } from "../shared/messages.ts";
import type { ConnectRequest } from "../shared/storageTypes.ts";
import { closeConnectWindow } from "./connectWindow.ts";
import type { BridgeLink } from "./links.ts";
import { accountsPermission, grant, grantFor } from "./permissions.ts";
import { broadcastState } from "./providerState.ts";
import { settle } from "./settleRequest.ts";
import { getSession, listRequests, putRequest } from "./storage.ts";
import { scheduleTick } from "./tick.ts";

/** The answer to a connect request of an origin that holds the permission. */
export async function connectOutcome(method: string, origin: string, session: DappSession): Promise<Outcome> {
  if (method === "wallet_requestPermissions") {
    const g = await grantFor(origin);
    return { result: g ? [accountsPermission(origin, g, session.accounts)] : [] };
  }
  return { result: [...session.accounts] };
}

export async function queueConnect(
  link: BridgeLink,
  rid: string,
  method: string,
  params: unknown,
): Promise<void> {
  const request: ConnectRequest = {
    kind: "connect",
    rid,
    origin: link.origin,
    tabId: link.tabId,
    frameId: link.frameId,
    method,
    ...(params === undefined ? {} : { params }),
    createdAt: Date.now(),
    status: "waiting",
  };
  await putRequest(request);
  link.rids.add(rid);
  void scheduleTick();
}

export async function waitingConnects(): Promise<ConnectRequest[]> {
  return (await listRequests()).filter((r): r is ConnectRequest => r.kind === "connect" && !r.outcome);
}

/** Grants the origins and answers every connect request waiting for them. */
export async function approveOrigins(origins: readonly string[]): Promise<void> {
  const wallet = await getSession("wallet");
  if (!wallet) throw new Error("No wallet is paired.");
  await grant(origins);
  for (const r of await waitingConnects()) {
    if (origins.includes(r.origin))
      await settle(r.rid, await connectOutcome(r.method, r.origin, wallet.session));
  }
  await broadcastState();
  await closeConnectWindowIfIdle();
}

/** EIP-1193 4001 for the origins' waiting connect requests (all of them when `origins` is undefined). */
export async function denyOrigins(origins: readonly string[] | undefined, message?: string): Promise<void> {
  for (const r of await waitingConnects()) {
    if (!origins || origins.includes(r.origin)) {
      await settle(r.rid, { error: new UserRejectedRequestError(message).toJSON() });
    }
  }
  await closeConnectWindowIfIdle();
}

/** Nothing left to show: no connect request waiting and no pairing in progress. */
export async function closeConnectWindowIfIdle(): Promise<void> {
  const [waiting, pairing] = await Promise.all([waitingConnects(), getSession("pairing")]);
  if (waiting.length === 0 && !pairing) await closeConnectWindow();
}
