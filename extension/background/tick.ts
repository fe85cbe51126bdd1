/**
 * A periodic alarm that wakes a stopped worker: every 30 s (the minimum, Chrome 120+) while requests
 * or a pairing are pending, every minute while a wallet is paired (to read its events), none otherwise.
 * Alarms are extension events, so they start the worker, which then resumes from storage.
 */
import { getSession, listRequests } from "./storage.ts";

export const TICK_ALARM = "balance-bridge:tick";

export async function scheduleTick(): Promise<void> {
  const [requests, pairing, wallet] = await Promise.all([
    listRequests(),
    getSession("pairing"),
    getSession("wallet"),
  ]);
  const busy = requests.length > 0 || pairing?.status === "waiting";
  const period = busy ? 0.5 : wallet ? 1 : undefined;
  const existing = await chrome.alarms.get(TICK_ALARM);
  if (period === undefined) {
    if (existing) await chrome.alarms.clear(TICK_ALARM);
    return;
  }
  if (existing?.periodInMinutes !== period) {
    await chrome.alarms.create(TICK_ALARM, { periodInMinutes: period, delayInMinutes: period });
  }
}
