/**
 * The extension's MV3 service worker. Every listener is registered synchronously at the top level, as
 * MV3 requires for events that start a stopped worker (a port from a bridge, a message from our
 * pages, the connect window closing, the tick alarm); then `resume()` carries on whatever the
 * previous run of the worker left in storage.
 */
import { BRIDGE_PORT, UI_PORT } from "../shared/constants.ts";
import { denyOrigins } from "./connectRequests.ts";
import { handleBridgeRequest } from "./handleBridgeRequest.ts";
import { handleUiMessage, isExtensionPage } from "./handleUiMessage.ts";
import { addLink, type BridgeLink, removeLink } from "./links.ts";
import { originOf } from "./originOf.ts";
import { cancelPairing } from "./pairing.ts";
import { parseBridgeMessage } from "./parseBridgeMessage.ts";
import { sendState } from "./providerState.ts";
import { resume } from "./resume.ts";
import { acknowledge } from "./settleRequest.ts";
import { getSession, updateSession } from "./storage.ts";
import { TICK_ALARM } from "./tick.ts";

function onBridgePort(port: chrome.runtime.Port): void {
  const sender = port.sender;
  const tabId = sender?.tab?.id;
  const origin = sender ? originOf(sender) : undefined;
  // Only our own content script in a tab, in an http(s) document with a real origin.
  if (!sender || sender.id !== chrome.runtime.id || tabId === undefined || !origin) {
    port.disconnect();
    return;
  }
  const link: BridgeLink = addLink({ port, origin, tabId, frameId: sender.frameId ?? 0, rids: new Set() });
  port.onDisconnect.addListener(() => removeLink(link));
  port.onMessage.addListener((data: unknown) => {
    const message = parseBridgeMessage(data);
    if (!message) return;
    if (message.type === "request")
      void handleBridgeRequest(link, message.rid, message.method, message.params);
    else if (message.type === "ack") void acknowledge(link, message.rid);
    // "ping": receiving it is the point (it keeps the worker alive).
  });
  void sendState(link);
}

chrome.runtime.onConnect.addListener((port) => {
  if (port.name === BRIDGE_PORT) return onBridgePort(port);
  // Our pages hold a port (and ping) while they show something that needs the worker (the QR code).
  if (port.name === UI_PORT && port.sender && isExtensionPage(port.sender)) return;
  port.disconnect();
});

chrome.runtime.onMessage.addListener((message: unknown, sender, sendResponse) => {
  if (!isExtensionPage(sender)) return false;
  void handleUiMessage(message).then(sendResponse);
  return true; // answered asynchronously
});

chrome.windows.onRemoved.addListener((windowId) => {
  void (async () => {
    if ((await getSession("connectWindowId")) !== windowId) return;
    await updateSession("connectWindowId", () => undefined);
    // Closing the window is the user's "no" (EIP-1193 4001) to everything it was asking.
    if (await getSession("pairing")) await cancelPairing("The user closed the connect window.");
    else await denyOrigins(undefined, "The user closed the connect window.");
  })();
});

chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === TICK_ALARM) void resume();
});

// storage.session (all keys) is trusted-contexts-only by default; ask the same of storage.local, which
// holds the history of answers (content scripts run in web pages' renderers and must not read them).
void chrome.storage.local.setAccessLevel({ accessLevel: "TRUSTED_CONTEXTS" }).catch(() => undefined);
void chrome.storage.session.setAccessLevel({ accessLevel: "TRUSTED_CONTEXTS" }).catch(() => undefined);

void resume();
