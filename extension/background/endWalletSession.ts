/**
 * The session with the phone is over: the wallet said so (a `disconnect` event), the relay no longer
 * knows it (404 session_not_found), or the user pressed Disconnect. Forget the session and every
 * origin's permission, fail what was waiting for the wallet with 4900, and tell every frame: their
 * providers emit EIP-1193 `disconnect` (4900) and `accountsChanged` with [].
 */
import { createDappClient } from "../../protocol/dappClient.ts";
import { DisconnectedError } from "../../protocol/errors.ts";
import { closeConnectWindowIfIdle } from "./connectRequests.ts";
import { revokeAll } from "./permissions.ts";
import { broadcastState } from "./providerState.ts";
import { settle } from "./settleRequest.ts";
import { getSession, listRequests, updateSession } from "./storage.ts";
import { scheduleTick } from "./tick.ts";

export async function endWalletSession(reason: string, o: { tellRelay?: boolean; sessionId?: string } = {}) {
  const wallet = await getSession("wallet");
  if (!wallet || (o.sessionId !== undefined && wallet.session.sessionId !== o.sessionId)) return;
  await updateSession("wallet", (w) => (w?.session.sessionId === wallet.session.sessionId ? undefined : w));
  await revokeAll();
  // Waiting requests can no longer be answered: those for the phone, and the "Connect <origin>?"
  // questions (unless a new pairing is under way, which will answer them).
  const pairing = await getSession("pairing");
  for (const request of await listRequests()) {
    if (!request.outcome && (request.kind === "wallet" || !pairing)) {
      await settle(request.rid, { error: new DisconnectedError(reason).toJSON() });
    }
  }
  await closeConnectWindowIfIdle();
  if (o.tellRelay) {
    // Best effort: the phone learns it at its next call (404), or when the relay's idle timeout ends it.
    await createDappClient({ relayUrl: wallet.session.relayUrl })
      .endSession(wallet.session)
      .catch((error) =>
        console.warn("Balance Bridge: the relay did not confirm the end of the session:", error),
      );
  }
  await broadcastState();
  await scheduleTick();
}
