/**
 * MAIN-world content script, run at document_start in every http(s) page: builds the EIP-1193
 * provider, puts it in `window.ethereum` when allowed, and announces it by EIP-6963.
 *
 * Built as ONE self-contained IIFE (no imports at run time, no polyfill, no zod: the extension APIs
 * do not exist in this world and the page can read all of it). Its only channel is
 * window.postMessage to the ISOLATED-world bridge, tagged TO_BRIDGE; it listens only to messages
 * from this same window tagged TO_PAGE.
 */
import { TO_BRIDGE, TO_PAGE } from "../shared/constants.ts";
import type { BridgeToPage, ProviderState } from "../shared/messages.ts";
import { announceProvider } from "./announceProvider.ts";
import { createProvider } from "./createProvider.ts";
import { installWindowEthereum } from "./installWindowEthereum.ts";

// One provider per document, even if the script were injected twice.
const marker = Symbol.for("balance-bridge.provider");
const w = window as unknown as Record<symbol, unknown>;
if (!w[marker]) {
  let tookOver = false;
  const onState = (state: ProviderState) => {
    // The setting arrives with the first state snapshot, a few milliseconds after document_start.
    if (state.takeOver && !tookOver) tookOver = installWindowEthereum(provider, true);
  };
  const { provider, receive } = createProvider(
    (message) =>
      window.postMessage(
        { ...message, target: TO_BRIDGE },
        window.location.origin === "null" ? "*" : window.location.origin,
      ),
    onState,
  );
  w[marker] = provider;

  window.addEventListener("message", (event: MessageEvent) => {
    if (event.source !== window) return;
    const data = event.data as Partial<BridgeToPage> | null;
    if (typeof data !== "object" || data === null || data.target !== TO_PAGE || typeof data.type !== "string")
      return;
    receive(data as BridgeToPage);
  });

  installWindowEthereum(provider, false);
  announceProvider(provider);
  window.postMessage(
    { target: TO_BRIDGE, type: "hello" },
    window.location.origin === "null" ? "*" : window.location.origin,
  );
}
