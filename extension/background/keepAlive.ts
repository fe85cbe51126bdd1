/**
 * Keeps the MV3 service worker running while it has work in flight (a pairing long-poll, a request
 * waiting for the phone). A pending fetch does not count as activity for Chrome, but calling an
 * extension API does (Chrome 110+), so a cheap call every 20 s holds off the 30 s idle stop. If the
 * worker is stopped anyway, nothing is lost: everything needed to resume is in storage.session.
 */
import { KEEPALIVE_MS } from "../shared/constants.ts";

let holds = 0;
let timer: ReturnType<typeof setInterval> | undefined;

export function holdWorker(): () => void {
  holds++;
  timer ??= setInterval(() => void chrome.runtime.getPlatformInfo(), KEEPALIVE_MS);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    holds--;
    if (holds === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}
