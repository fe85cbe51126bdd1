/**
 * A desktop notification for an answer whose page is gone (tab closed or reloaded): the transaction
 * hash, or what became of the request. The action popup lists the same entry.
 */
import type { HistoryEntry } from "../shared/storageTypes.ts";

export function describeOutcome(entry: Pick<HistoryEntry, "method" | "outcome">): string {
  if ("error" in entry.outcome)
    return `${entry.method} failed: ${entry.outcome.error.message} (${entry.outcome.error.code})`;
  if (entry.method === "eth_sendTransaction") return `Transaction sent: ${String(entry.outcome.result)}`;
  if (entry.method === "personal_sign" || entry.method === "eth_signTypedData_v4")
    return "Signed; the signature is in the Balance Bridge popup.";
  return `${entry.method} done.`;
}

export async function notifyUndelivered(entry: HistoryEntry): Promise<void> {
  try {
    await chrome.notifications.create(`balance-bridge:${entry.rid}`, {
      type: "basic",
      iconUrl: chrome.runtime.getURL("icons/icon-128.png"),
      title: `Balance Bridge: answer for ${entry.origin}`,
      message: describeOutcome(entry),
      priority: 1,
    });
  } catch (error) {
    // Notifications can be unavailable (policy, headless); the popup still lists the entry.
    console.warn("Balance Bridge: notification not shown:", error);
  }
}
