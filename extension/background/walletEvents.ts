/**
 * The wallet's events (docs/PROTOCOL.md §3.2), read by long-poll while the worker runs. The cursor
 * and the last counter are stored with the session, so a restarted worker (or browser) continues
 * after the last event it applied and refuses a replayed one. EIP-1193: `accountsChanged` and
 * `chainChanged` reach the frames as a new state snapshot; `disconnect` ends the session.
 */
import { createDappClient } from "../../protocol/dappClient.ts";
import { RelayError } from "../../protocol/errors.ts";
import { isTransient, retryDelay, sleep } from "../../protocol/relayHttp.ts";
import { endWalletSession } from "./endWalletSession.ts";
import { broadcastState } from "./providerState.ts";
import { getSession, updateSession } from "./storage.ts";

let running: string | undefined;

export async function runWalletEvents(): Promise<void> {
  const first = await getSession("wallet");
  if (!first || running === first.session.sessionId) return;
  const sessionId = first.session.sessionId;
  running = sessionId;
  const client = createDappClient({ relayUrl: first.session.relayUrl });
  let failures = 0;
  try {
    for (;;) {
      const wallet = await getSession("wallet");
      if (!wallet || wallet.session.sessionId !== sessionId) return;
      let poll: Awaited<ReturnType<typeof client.pollEvents>>;
      try {
        poll = await client.pollEvents(wallet.session, {
          after: wallet.after,
          lastN: wallet.lastN,
          wait: 25,
        });
        failures = 0;
      } catch (error) {
        if (error instanceof RelayError && error.code === "session_not_found") {
          await endWalletSession(
            "The relay no longer knows this session (the wallet disconnected or it expired).",
            {
              sessionId,
            },
          );
          return;
        }
        const delay = isTransient(error)
          ? retryDelay(error, failures)
          : Math.min(30_000, 1_000 * 2 ** failures);
        failures++;
        console.warn("Balance Bridge: reading wallet events failed; retrying:", error);
        await sleep(delay);
        continue;
      }
      for (const r of poll.rejected)
        console.warn(`Balance Bridge: wallet event ${r.seq} refused: ${r.reason}`);
      if (poll.events.length === 0 && poll.next === wallet.after) continue; // nothing new: no write
      let changed = false;
      let ended: string | undefined;
      await updateSession("wallet", (w) => {
        if (!w || w.session.sessionId !== sessionId) return w;
        const session = { ...w.session };
        for (const { event } of poll.events) {
          if (event.type === "accountsChanged") session.accounts = [...event.data];
          else if (event.type === "chainChanged") session.chainId = event.data.toLowerCase();
          else ended = event.data?.reason ?? "The wallet ended the session.";
          changed = true;
        }
        return { session, after: poll.next, lastN: poll.lastN };
      });
      if (ended !== undefined) {
        await endWalletSession(`The wallet disconnected: ${ended}`, { sessionId });
        return;
      }
      if (changed) await broadcastState();
    }
  } finally {
    if (running === sessionId) running = undefined;
  }
}
