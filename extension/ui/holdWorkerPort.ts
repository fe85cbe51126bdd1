/**
 * Holds a port to the background while a page shows something the worker is working on (the QR code
 * and its pairing long-poll), pinging every 20 s: a port message keeps an MV3 worker alive. If the
 * worker is stopped anyway, the port disconnects and we reconnect at once, which starts it again;
 * it then resumes the long-poll from storage.session.
 */
import { KEEPALIVE_MS, UI_PORT } from "../shared/constants.ts";

export function holdWorkerPort(): void {
  let port: chrome.runtime.Port | undefined;
  const connect = () => {
    port = chrome.runtime.connect({ name: UI_PORT });
    port.onDisconnect.addListener(() => {
      void chrome.runtime.lastError;
      port = undefined;
      setTimeout(connect, 100);
    });
  };
  connect();
  setInterval(() => {
    try {
      port?.postMessage({ type: "ping" });
    } catch {
      // reconnecting
    }
  }, KEEPALIVE_MS);
}
