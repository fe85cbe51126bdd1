/**
 * The connect window: a small popup window (chrome.windows.create type "popup") on the extension's
 * connect page, showing the pairing QR code or the "Connect <origin>?" question. One at a time; its id
 * is kept in storage.session so a restarted worker still recognises it (and its closing).
 */
import { PAGES } from "../extensionId.ts";
import { getSession, serialized, updateSession } from "./storage.ts";

export function openConnectWindow(): Promise<void> {
  return serialized("connect-window", async () => {
    const id = await getSession("connectWindowId");
    if (id !== undefined) {
      try {
        await chrome.windows.update(id, { focused: true });
        return;
      } catch {
        // Closed while the worker was not listening: open a new one.
      }
    }
    const win = await chrome.windows.create({
      url: chrome.runtime.getURL(PAGES.connect),
      type: "popup",
      width: 400,
      height: 720,
      focused: true,
    });
    await updateSession("connectWindowId", () => win?.id);
  });
}

/** Closes the window without treating it as the user's "no" (onRemoved sees the id already cleared). */
export async function closeConnectWindow(): Promise<void> {
  const id = await getSession("connectWindowId");
  await updateSession("connectWindowId", () => undefined);
  if (id !== undefined) await chrome.windows.remove(id).catch(() => undefined);
}

export async function connectWindowExists(): Promise<boolean> {
  const id = await getSession("connectWindowId");
  if (id === undefined) return false;
  try {
    await chrome.windows.get(id);
    return true;
  } catch {
    return false;
  }
}
