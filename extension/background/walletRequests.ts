/**
 * Requests that need the phone (protocol/rpc.ts WALLET_METHODS): sealed with the origin the browser
 * reported (docs/PROTOCOL.md §3.1), posted to the relay, and awaited by long-poll.
 *
 * MV3: the prepared request (id + sealed body) is written to `storage.session` BEFORE it is posted,
 * and every step is repeatable (posting the same id and body again is idempotent at the relay;
 * polling is a read). So a worker stopped at any point resumes with `runWalletRequest(rid)` from
 * storage and the dapp's promise settles with the wallet's real answer.
 */
import { REQUEST_TTL } from "../../protocol/constants.ts";
import { createDappClient, type DappSession } from "../../protocol/dappClient.ts";
import { EnvelopeError } from "../../protocol/envelope.ts";
import {
  InternalRpcError,
  LimitExceededRpcError,
  providerErrorFromJSON,
  RelayError,
  toProviderError,
  UserRejectedRequestError,
} from "../../protocol/errors.ts";
import { isTransient, retryDelay, retrying, sleep } from "../../protocol/relayHttp.ts";
import type { WalletMethod } from "../../protocol/rpc.ts";
import type { Outcome } from "../shared/messages.ts";
import type { WalletRequest } from "../shared/storageTypes.ts";
import { checkWalletParams } from "./checkWalletParams.ts";
import { endWalletSession } from "./endWalletSession.ts";
import { holdWorker } from "./keepAlive.ts";
import type { BridgeLink } from "./links.ts";
import { broadcastState } from "./providerState.ts";
import { normalizeChainId } from "./settings.ts";
import { settle } from "./settleRequest.ts";
import { getRequest, getSession, putRequest, updateRequest, updateSession } from "./storage.ts";
import { scheduleTick } from "./tick.ts";

/** Seals, stores, then starts the request; the dapp's promise settles when the wallet answers. */
export async function startWalletRequest(
  link: BridgeLink,
  rid: string,
  method: WalletMethod,
  params: unknown,
  session: DappSession,
): Promise<Outcome | undefined> {
  const checked = checkWalletParams(method, params, session.accounts);
  if (method === "wallet_switchEthereumChain") {
    const wanted = normalizeChainId(String((checked as [{ chainId: string }])[0].chainId));
    // EIP-3326: already on that chain → null, without asking the user.
    if (wanted === normalizeChainId(session.chainId)) return { result: null };
  }
  const client = createDappClient({ relayUrl: session.relayUrl });
  const prepared = client.prepareRequest(session, {
    method,
    params: checked,
    origin: link.origin,
    chainId: session.chainId,
    ttl: REQUEST_TTL.default,
  });
  const request: WalletRequest = {
    kind: "wallet",
    rid,
    origin: link.origin,
    tabId: link.tabId,
    frameId: link.frameId,
    method,
    params: checked,
    createdAt: Date.now(),
    sessionId: session.sessionId,
    prepared,
    posted: false,
    status: "queued",
  };
  await putRequest(request);
  link.rids.add(rid);
  void scheduleTick();
  void runWalletRequest(rid);
  return undefined;
}

const running = new Set<string>();

/** Drives one stored request to its outcome; safe to call again (a second call while running is a no-op). */
export async function runWalletRequest(rid: string): Promise<void> {
  if (running.has(rid)) return;
  running.add(rid);
  const release = holdWorker();
  try {
    await drive(rid);
  } catch (error) {
    await settle(rid, { error: toProviderError(error).toJSON() });
  } finally {
    running.delete(rid);
    release();
  }
}

async function drive(rid: string): Promise<void> {
  const stored = await getRequest(rid);
  if (stored?.kind !== "wallet" || stored.outcome) return;
  const wallet = await getSession("wallet");
  if (!wallet || wallet.session.sessionId !== stored.sessionId) {
    await settle(rid, {
      error: { code: 4900, message: "The wallet session this request was sent on has ended." },
    });
    return;
  }
  const session = wallet.session;
  const client = createDappClient({ relayUrl: session.relayUrl });
  const id = stored.prepared.id;

  if (!stored.posted) {
    try {
      await retrying(undefined, () => client.postRequest(session, stored.prepared));
    } catch (error) {
      return failed(rid, error, session.sessionId);
    }
    await updateRequest<WalletRequest>(rid, (r) => ({ ...r, posted: true }));
  }

  for (let failures = 0, polls = 0; ; polls++) {
    const current = await getRequest(rid);
    if (current?.kind !== "wallet" || current.outcome) return; // settled meanwhile (cancel, session end)
    let poll: Awaited<ReturnType<typeof client.pollResponse>>;
    try {
      // The answer ends a long-poll the moment it lands, but a delivery receipt (Request-Status) only
      // comes when `wait` runs out: short waits at first keep the popup's queued → notified → fetched
      // current while the user reaches for the phone; then the full 25 s.
      const wait = current.status === "fetched" ? 25 : Math.min(25, 2 ** polls);
      poll = await client.pollResponse(session, id, { wait });
      failures = 0;
    } catch (error) {
      if (isTransient(error)) {
        await sleep(retryDelay(error, failures++));
        continue;
      }
      return failed(rid, error, session.sessionId);
    }
    if ("status" in poll) {
      if (current.status !== poll.status) {
        await updateRequest<WalletRequest>(rid, (r) => (r.outcome ? r : { ...r, status: poll.status }));
      }
      continue;
    }
    const response = poll.response;
    const outcome: Outcome =
      "result" in response
        ? { result: response.result }
        : { error: providerErrorFromJSON(response.error).toJSON() };
    // Stored (settle) before the relay is told to forget it (docs/PROTOCOL.md §3.1.7).
    await settle(rid, outcome);
    // A few tries: if the relay stays unreachable it forgets the request at its TTL anyway.
    await retrying(undefined, () => client.deleteRequest(session, id), 5).catch(() => undefined);
    if (current.method === "wallet_switchEthereumChain" && "result" in outcome) {
      await switchedChain(session.sessionId, current.params);
    }
    return;
  }
}

/** The wallet switched chains (EIP-3326): update now rather than wait for its chainChanged event. */
async function switchedChain(sessionId: string, params: unknown): Promise<void> {
  const chainId = normalizeChainId(String((params as [{ chainId: string }])[0].chainId));
  await updateSession("wallet", (w) =>
    w && w.session.sessionId === sessionId ? { ...w, session: { ...w.session, chainId } } : w,
  );
  await broadcastState();
}

async function failed(rid: string, error: unknown, sessionId: string): Promise<void> {
  if (error instanceof RelayError) {
    if (error.code === "session_not_found") {
      await endWalletSession(
        "The relay no longer knows this session (the wallet disconnected or it expired).",
        {
          sessionId,
        },
      );
      return;
    }
    if (error.code === "request_cancelled") {
      await settle(rid, { error: new UserRejectedRequestError("The request was cancelled.").toJSON() });
      return;
    }
    if (error.code === "too_many_pending") {
      await settle(rid, {
        error: new LimitExceededRpcError("Too many requests are waiting for the wallet.").toJSON(),
      });
      return;
    }
    const message =
      error.code === "request_expired"
        ? "The wallet did not answer before the request expired."
        : `The relay refused the request: ${error.message} (${error.code})`;
    await settle(rid, { error: new InternalRpcError(message).toJSON() });
    return;
  }
  if (error instanceof EnvelopeError) {
    await settle(rid, { error: new InternalRpcError("The wallet's answer could not be verified.").toJSON() });
    return;
  }
  await settle(rid, { error: toProviderError(error).toJSON() });
}

/** The user cancelled a waiting request from the action popup: 4001 to the page, cancel at the relay. */
export async function cancelWalletRequest(rid: string): Promise<void> {
  const request = await getRequest(rid);
  if (request?.kind !== "wallet" || request.outcome) return;
  await settle(rid, { error: new UserRejectedRequestError("Cancelled in Balance Bridge.").toJSON() });
  const wallet = await getSession("wallet");
  if (wallet?.session.sessionId === request.sessionId) {
    await createDappClient({ relayUrl: wallet.session.relayUrl })
      .cancelRequest(wallet.session, request.prepared.id)
      .catch(() => undefined);
  }
}
