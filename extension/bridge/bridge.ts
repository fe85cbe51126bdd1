/**
 * ISOLATED-world content script, run at document_start before the provider: the only link between
 * the page and the background.
 *
 * - Page side: accepts only messages whose `event.source` is this very window, tagged TO_BRIDGE and
 *   of exactly the expected shape (parsePageMessage); answers with TO_PAGE. It never forwards
 *   anything the page says about itself: the background takes the origin from the port's
 *   MessageSender, which the browser fills in.
 * - Background side: one runtime Port. Each page request gets a fresh random id (`rid`) that the
 *   page never sees. While something is pending, or while this origin is connected, the bridge
 *   pings every 20 s (a port message keeps an MV3 worker alive) and, if the worker is stopped
 *   anyway (the port disconnects), reconnects at once and re-sends every pending request: the
 *   background recognises the rids it stored in `storage.session` and resumes instead of repeating.
 * - After a response reaches the page it acks, so the background can forget it.
 */
import { BRIDGE_PORT, KEEPALIVE_MS, TO_PAGE } from "../shared/constants.ts";
import type {
  BackgroundToBridge,
  BridgeToBackground,
  BridgeToPage,
  ProviderState,
} from "../shared/messages.ts";
import { uuidV4 } from "../shared/uuidV4.ts";
import { parseBackgroundMessage } from "./parseBackgroundMessage.ts";
import { parsePageMessage } from "./parsePageMessage.ts";

type Body<T> = T extends unknown ? Omit<T, "target"> : never;
type Pending = { pageId: string; method: string; params?: unknown };

const pending = new Map<string, Pending>();
const seenPageIds = new Set<string>();
let port: chrome.runtime.Port | undefined;
let state: ProviderState | undefined;
let orphaned = false;
let reconnectDelay = 0;
let reconnectTimer: ReturnType<typeof setTimeout> | undefined;

const targetOrigin = window.location.origin === "null" ? "*" : window.location.origin;
const toPage = (message: Body<BridgeToPage>) =>
  window.postMessage({ ...message, target: TO_PAGE }, targetOrigin);

/** Keep a live port while the page waits for something, or while it is connected (events). */
const wanted = () => pending.size > 0 || (state?.accounts.length ?? 0) > 0;

const requestMessage = (rid: string, r: Pending): BridgeToBackground =>
  r.params === undefined
    ? { type: "request", rid, method: r.method }
    : { type: "request", rid, method: r.method, params: r.params };

function send(p: chrome.runtime.Port, message: BridgeToBackground): void {
  try {
    p.postMessage(message);
  } catch {
    // Disconnected meanwhile: onDisconnect reconnects and re-sends what is pending.
  }
}

/** The extension was reloaded or removed: this frame's bridge can never reach it again. */
function orphan(): void {
  orphaned = true;
  port = undefined;
  for (const r of pending.values()) {
    toPage({
      type: "response",
      id: r.pageId,
      error: { code: 4900, message: "Balance Bridge was reloaded or removed; reload the page." },
    });
  }
  pending.clear();
  if (state?.connected) toPage({ type: "state", state: { ...state, accounts: [], connected: false } });
}

function connect(): chrome.runtime.Port | undefined {
  if (port || orphaned) return port;
  let p: chrome.runtime.Port;
  try {
    p = chrome.runtime.connect({ name: BRIDGE_PORT });
  } catch {
    orphan();
    return undefined;
  }
  port = p;
  p.onMessage.addListener((data: unknown) => {
    reconnectDelay = 0;
    const message = parseBackgroundMessage(data);
    if (message) onBackground(p, message);
  });
  p.onDisconnect.addListener(() => {
    void chrome.runtime.lastError;
    if (port === p) port = undefined;
    // `chrome.runtime.id` disappears once the extension context is invalidated.
    if (!chrome.runtime?.id) return orphan();
    if (wanted() && !reconnectTimer) {
      // The worker was stopped (or restarted): connecting wakes it. Back off if it keeps failing.
      reconnectDelay = Math.min(2_000, reconnectDelay ? reconnectDelay * 2 : 50);
      reconnectTimer = setTimeout(() => {
        reconnectTimer = undefined;
        connect();
      }, reconnectDelay);
    }
  });
  for (const [rid, r] of pending) send(p, requestMessage(rid, r));
  return p;
}

function onBackground(p: chrome.runtime.Port, message: BackgroundToBridge): void {
  if (message.type === "state") {
    state = message.state;
    toPage({ type: "state", state: message.state });
    return;
  }
  const r = pending.get(message.rid);
  if (r) {
    pending.delete(message.rid);
    if ("error" in message) toPage({ type: "response", id: r.pageId, error: message.error });
    else toPage({ type: "response", id: r.pageId, result: message.result });
  }
  // Ack even an unknown rid (already answered before a reconnect): the background can forget it.
  send(p, { type: "ack", rid: message.rid });
}

window.addEventListener("message", (event: MessageEvent) => {
  // Only this window (not frames, openers or other windows) and only our tag and shape.
  if (event.source !== window || orphaned) return;
  const message = parsePageMessage(event.data);
  if (!message) return;
  if (message.type === "hello") {
    if (state) toPage({ type: "state", state });
    connect();
    return;
  }
  // The provider re-sends what is in flight when the bridge (re)starts; take each page id once.
  if (seenPageIds.has(message.id)) return;
  seenPageIds.add(message.id);
  const rid = uuidV4();
  const r: Pending =
    message.params === undefined
      ? { pageId: message.id, method: message.method }
      : { pageId: message.id, method: message.method, params: message.params };
  pending.set(rid, r);
  if (port) send(port, requestMessage(rid, r));
  else connect();
});

setInterval(() => {
  if (port && wanted()) send(port, { type: "ping" });
}, KEEPALIVE_MS);

toPage({ type: "ready" });
