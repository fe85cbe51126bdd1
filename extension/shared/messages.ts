/**
 * The messages of the page ↔ bridge ↔ background path, as types only (no runtime code, so the
 * MAIN-world provider can import them for free).
 *
 *   provider (MAIN world) ──window.postMessage──▶ bridge (ISOLATED world) ──Port──▶ background
 *
 * Page ids are the provider's own; request ids on the port (`rid`) are made by the bridge, never
 * shown to the page, and are what the background deduplicates by after a service-worker restart.
 */
import type { ProviderErrorJSON } from "../../protocol/errors.ts";
import type { TO_BRIDGE, TO_PAGE } from "./constants.ts";

/** What the background tells each frame: its view of the provider, for that frame's origin only. */
export type ProviderState = {
  /** EIP-1193 / EIP-695 chain id, 0x-hex. */
  chainId: string;
  /** The accounts this origin may see (EIP-1102): [] until it is connected. */
  accounts: string[];
  /** EIP-1193 "connected": a wallet is paired, so requests can be served. */
  connected: boolean;
  /** The options page's "take over window.ethereum". */
  takeOver: boolean;
};

export type Outcome = { result: unknown } | { error: ProviderErrorJSON };

// ── page ↔ bridge (window.postMessage) ────────────────────────────────────────────────────────
export type PageToBridge =
  | { target: typeof TO_BRIDGE; type: "request"; id: string; method: string; params?: unknown }
  | { target: typeof TO_BRIDGE; type: "hello" };

export type BridgeToPage =
  /** The bridge has started: the provider (re)sends what it has in flight. */
  | { target: typeof TO_PAGE; type: "ready" }
  | { target: typeof TO_PAGE; type: "state"; state: ProviderState }
  | ({ target: typeof TO_PAGE; type: "response"; id: string } & Outcome);

// ── bridge ↔ background (runtime Port) ────────────────────────────────────────────────────────
export type BridgeToBackground =
  | { type: "request"; rid: string; method: string; params?: unknown }
  /** The page got the response: the background may forget it. */
  | { type: "ack"; rid: string }
  /** Keeps the service worker alive while this frame has something pending (or is connected). */
  | { type: "ping" };

export type BackgroundToBridge =
  | { type: "state"; state: ProviderState }
  | ({ type: "response"; rid: string } & Outcome);
