/**
 * Constants shared by every part of the extension, including the MAIN-world provider: plain values
 * only, so importing this file adds nothing but these strings to the provider's bundle.
 */

/** EIP-6963 `info.name` and `info.rdns` (reverse DNS, stable across versions). */
export const PROVIDER_NAME = "Balance Bridge";
export const PROVIDER_RDNS = "org.balancebridge";

/**
 * window.postMessage tags, one per direction. The MAIN-world provider and the ISOLATED-world bridge
 * share one `window`, so each sees the other's messages *and its own*: a distinct tag per direction
 * is what tells them apart.
 */
export const TO_BRIDGE = "balance-bridge:page->bridge";
export const TO_PAGE = "balance-bridge:bridge->page";

/** runtime.connect port names: content-script bridges, and the extension's own pages. */
export const BRIDGE_PORT = "balance-bridge:bridge";
export const UI_PORT = "balance-bridge:ui";

/** The relay a fresh install uses (the one `npm start` runs). */
export const DEFAULT_RELAY_URL = "http://127.0.0.1:8787";

/**
 * Keepalive period for ports. An MV3 service worker is stopped after 30 s without extension events;
 * a message on a port is such an event (Chrome 114+), so 20 s keeps it alive with margin.
 */
export const KEEPALIVE_MS = 20_000;
