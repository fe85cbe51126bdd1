/**
 * EIP-6963 multi-injected provider discovery: announce once at load and again on every
 * `eip6963:requestProvider`, with a frozen `{info, provider}` detail (EIP-6963 §Announce and Request
 * Events). This works whatever happens to `window.ethereum`, so the page can always find us.
 */
import { PROVIDER_NAME, PROVIDER_RDNS } from "../shared/constants.ts";
import { ICON_DATA_URI } from "../shared/icon.ts";
import { uuidV4 } from "../shared/uuidV4.ts";

export function announceProvider(provider: object): void {
  // EIP-6963 §Provider Info: `uuid` is a v4 UUID unique per page load (per announcing session).
  const info = Object.freeze({
    uuid: uuidV4(),
    name: PROVIDER_NAME,
    icon: ICON_DATA_URI,
    rdns: PROVIDER_RDNS,
  });
  const detail = Object.freeze({ info, provider });
  const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail }));
  window.addEventListener("eip6963:requestProvider", announce);
  announce();
}
