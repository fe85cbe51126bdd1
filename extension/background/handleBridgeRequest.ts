/**
 * Where each EIP-1193 request from a frame is answered:
 *
 * - here, from local state: eth_chainId, eth_accounts ([] for an origin not connected, EIP-1102),
 *   wallet_getPermissions / wallet_revokePermissions (EIP-2255);
 * - by the user in the connect window: eth_requestAccounts (EIP-1102), wallet_requestPermissions;
 * - by the phone through the relay: WALLET_METHODS, only for a connected origin (else 4100);
 * - by the chain's RPC node: READ_ONLY_METHODS;
 * - anything else: 4200 (EIP-1193 unsupported method).
 *
 * A request id already in storage.session is a re-send after a port reconnect (the worker was
 * stopped): the frame is attached to it again instead of starting it twice.
 */
import {
  InvalidParamsRpcError,
  toProviderError,
  UnauthorizedError,
  UnsupportedMethodError,
} from "../../protocol/errors.ts";
import { isReadOnlyMethod, isWalletMethod } from "../../protocol/rpc.ts";
import type { Outcome } from "../shared/messages.ts";
import { connectOutcome, queueConnect } from "./connectRequests.ts";
import { openConnectWindow } from "./connectWindow.ts";
import { type BridgeLink, post } from "./links.ts";
import { ensurePairing } from "./pairing.ts";
import { accountsPermission, grantFor, revoke } from "./permissions.ts";
import { broadcastState, currentChainId } from "./providerState.ts";
import { readOnlyCall, rpcUrlFor } from "./readOnlyRpc.ts";
import { getSettings } from "./settings.ts";
import { deliver } from "./settleRequest.ts";
import { getRequest, getSession } from "./storage.ts";
import { runWalletRequest, startWalletRequest } from "./walletRequests.ts";

/** EIP-2255 params: `[{eth_accounts: {}}]`; we offer no other capability. */
function requestedCapabilities(method: string, params: unknown): void {
  const first = Array.isArray(params) ? params[0] : undefined;
  if (typeof first !== "object" || first === null || Array.isArray(first)) {
    throw new InvalidParamsRpcError(`${method} expects [{eth_accounts: {}}].`);
  }
  const names = Object.keys(first);
  if (names.length === 0 || names.some((n) => n !== "eth_accounts")) {
    throw new InvalidParamsRpcError(`${method}: the only permission is eth_accounts.`);
  }
}

async function answer(
  link: BridgeLink,
  rid: string,
  method: string,
  params: unknown,
): Promise<Outcome | undefined> {
  const { origin } = link;
  const [wallet, settings, g] = await Promise.all([getSession("wallet"), getSettings(), grantFor(origin)]);
  const connected = wallet !== undefined && g !== undefined;
  switch (method) {
    case "eth_chainId":
      return { result: currentChainId(wallet, settings) };
    case "eth_accounts":
      return { result: connected ? [...wallet.session.accounts] : [] };
    case "wallet_getPermissions":
      return { result: connected ? [accountsPermission(origin, g, wallet.session.accounts)] : [] };
    case "wallet_revokePermissions":
      requestedCapabilities(method, params);
      if (await revoke(origin)) await broadcastState();
      return { result: null };
    case "eth_requestAccounts":
    case "wallet_requestPermissions": {
      if (method === "wallet_requestPermissions") requestedCapabilities(method, params);
      if (connected) return connectOutcome(method, origin, wallet.session);
      await queueConnect(link, rid, method, params);
      if (!wallet) await ensurePairing();
      await openConnectWindow();
      return undefined;
    }
  }
  if (isWalletMethod(method)) {
    if (!connected) {
      throw new UnauthorizedError(
        wallet
          ? `${origin} is not connected: call eth_requestAccounts first.`
          : "No wallet is paired: call eth_requestAccounts first.",
      );
    }
    return startWalletRequest(link, rid, method, params, wallet.session);
  }
  if (isReadOnlyMethod(method)) {
    const chainId = currentChainId(wallet, settings);
    return { result: await readOnlyCall(rpcUrlFor(chainId, settings, wallet), chainId, method, params) };
  }
  throw new UnsupportedMethodError(`Balance Bridge does not support ${method}.`);
}

export async function handleBridgeRequest(link: BridgeLink, rid: string, method: string, params: unknown) {
  const existing = await getRequest(rid);
  if (existing) {
    if (existing.origin !== link.origin) return; // not this frame's request: ignore it
    link.rids.add(rid);
    if (existing.outcome) deliver(existing, [link]);
    else if (existing.kind === "wallet") void runWalletRequest(rid);
    return;
  }
  let outcome: Outcome | undefined;
  try {
    outcome = await answer(link, rid, method, params);
  } catch (error) {
    outcome = { error: toProviderError(error).toJSON() };
  }
  if (outcome) post(link, { type: "response", rid, ...outcome });
}
