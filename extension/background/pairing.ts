/**
 * Pairing with the phone (docs/PROTOCOL.md §2): create a code at the relay, show it (the connect
 * window reads `pairing` from storage.session), long-poll for the wallet's answer, acknowledge it,
 * and wait for the user to compare the 6-digit match codes before the session is used.
 *
 * MV3: the pairing secret and token are in storage.session, and each poll is one repeatable call, so a
 * worker stopped while the QR code is on screen resumes the long-poll at startup (runPairing) and
 * the wallet's answer (kept by the relay until acknowledged) is not lost.
 */
import { PAIRING_TTL } from "../../protocol/constants.ts";
import {
  createDappClient,
  type DappSession,
  PairingMismatchError,
  type PendingPairing,
} from "../../protocol/dappClient.ts";
import { EnvelopeError } from "../../protocol/envelope.ts";
import { RelayError } from "../../protocol/errors.ts";
import { isTransient, retryDelay, sleep } from "../../protocol/relayHttp.ts";
import type { PairingState } from "../shared/storageTypes.ts";
import { approveOrigins, denyOrigins, waitingConnects } from "./connectRequests.ts";
import { endWalletSession } from "./endWalletSession.ts";
import { holdWorker } from "./keepAlive.ts";
import { getSettings } from "./settings.ts";
import { getSession, serialized, updateSession } from "./storage.ts";
import { scheduleTick } from "./tick.ts";
import { runWalletEvents } from "./walletEvents.ts";

const nowSeconds = () => Math.floor(Date.now() / 1000);
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Makes sure a pairing code is on offer (a new one with `fresh`, e.g. after "expired — show a new code"). */
export function ensurePairing(o: { fresh?: boolean } = {}): Promise<void> {
  return serialized("pairing-start", async () => {
    const current = await getSession("pairing");
    const usable =
      (current?.status === "waiting" && current.pending.expiresAt > nowSeconds() + 5) ||
      current?.status === "answered";
    if (usable && !o.fresh) {
      void runPairing();
      return;
    }
    if (current?.status === "waiting") {
      // Tell the relay to forget the old code first: nobody may answer it any more.
      await createDappClient({ relayUrl: current.pending.relayUrl })
        .acknowledgePairing(current.pending)
        .catch(() => undefined);
    }
    const { relayUrl } = await getSettings();
    const client = createDappClient({ relayUrl });
    let next: PairingState;
    try {
      // One quick retry, not the long backoff: the user is looking at the window.
      const pending = await client.createPairing({ ttl: PAIRING_TTL.default }).catch(async (error) => {
        if (!isTransient(error)) throw error;
        await sleep(1_000);
        return client.createPairing({ ttl: PAIRING_TTL.default });
      });
      next = { status: "waiting", pending };
    } catch (error) {
      next = {
        status: "failed",
        error: `Cannot create a pairing code at the relay ${relayUrl}: ${message(error)}`,
      };
    }
    await updateSession("pairing", () => next);
    await scheduleTick();
    if (next.status === "waiting") void runPairing();
  });
}

let loopToken: string | undefined;

/** The long-poll for the wallet's answer to the current code; resumable, one loop at a time. */
export async function runPairing(): Promise<void> {
  const start = await getSession("pairing");
  if (start?.status !== "waiting" || loopToken === start.pending.token) return;
  const token = start.pending.token;
  loopToken = token;
  const release = holdWorker();
  const client = createDappClient({ relayUrl: start.pending.relayUrl });
  // Only the code this loop polls for, and only while it is still waiting, may change state.
  const setState = (next: (p: { status: "waiting"; pending: PendingPairing }) => PairingState) =>
    updateSession("pairing", (p) =>
      p?.status === "waiting" && p.pending.token === token
        ? next({ status: "waiting", pending: p.pending })
        : p,
    );
  try {
    for (let failures = 0; ; ) {
      const current = await getSession("pairing");
      if (current?.status !== "waiting" || current.pending.token !== token) return;
      const remaining = current.pending.expiresAt - nowSeconds();
      if (remaining <= 0) {
        await setState((p) => ({ status: "expired", pending: p.pending }));
        return;
      }
      let session: DappSession | undefined;
      try {
        session = await client.pollPairing(current.pending, { wait: Math.min(25, remaining) });
        failures = 0;
      } catch (error) {
        if (error instanceof RelayError && (error.status === 410 || error.status === 404)) {
          await setState((p) => ({ status: "expired", pending: p.pending }));
          return;
        }
        if (isTransient(error)) {
          await sleep(retryDelay(error, failures++));
          continue;
        }
        const why =
          error instanceof PairingMismatchError || error instanceof EnvelopeError
            ? "The answer to this code could not be verified (someone else may have answered it)."
            : `The relay refused the pairing: ${message(error)}`;
        await setState((p) => ({ status: "failed", pending: p.pending, error: `${why} Show a new code.` }));
        await client.acknowledgePairing(current.pending).catch(() => undefined);
        return;
      }
      if (!session) continue;
      const answer = session;
      await setState((p) => ({ status: "answered", pending: p.pending, answer }));
      // Stored first, then acknowledged (delete on acknowledge, docs/PROTOCOL.md §2.8).
      await client.acknowledgePairing(current.pending).catch(() => undefined);
      return;
    }
  } finally {
    if (loopToken === token) loopToken = undefined;
    release();
    void scheduleTick();
  }
}

/** The user saw the same match code on both screens: the session becomes the paired wallet. */
export async function confirmPairing(): Promise<void> {
  const current = await getSession("pairing");
  if (current?.status !== "answered") throw new Error("There is no wallet answer to confirm.");
  if (await getSession("wallet")) await endWalletSession("Replaced by a new pairing.", { tellRelay: true });
  await updateSession("wallet", () => ({ session: current.answer, after: 0, lastN: 0 }));
  await updateSession("pairing", () => undefined);
  // The connect window named the sites waiting for this pairing: confirming connects them.
  const origins = [...new Set((await waitingConnects()).map((r) => r.origin))];
  await approveOrigins(origins);
  void runWalletEvents();
  await scheduleTick();
}

/** Codes differ, or the user cancelled: drop the code or the answered session, and 4001 to the sites. */
export async function cancelPairing(reason: string): Promise<void> {
  const current = await getSession("pairing");
  await updateSession("pairing", () => undefined);
  if (current?.status === "answered") {
    await createDappClient({ relayUrl: current.answer.relayUrl })
      .endSession(current.answer)
      .catch(() => undefined);
  } else if (current?.status === "waiting") {
    await createDappClient({ relayUrl: current.pending.relayUrl })
      .acknowledgePairing(current.pending)
      .catch(() => undefined);
  }
  await denyOrigins(undefined, reason);
  await scheduleTick();
}
