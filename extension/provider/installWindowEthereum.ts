/**
 * `window.ethereum`: the legacy single-provider slot several wallets compete for.
 *
 * - Default: install only when the slot is empty, as an accessor whose setter accepts a new value,
 *   so a wallet that loads after us (or assigns `window.ethereum = …`) still replaces us. We never
 *   displace another wallet the user has not chosen to displace; EIP-6963 finds us either way.
 * - "Take over window.ethereum" (options page): replace whatever is there, and keep the slot: the
 *   setter ignores assignments and the property is not configurable, so a later script cannot swap
 *   it back. A wallet that already made the slot non-configurable cannot be displaced; we say so.
 */
export function installWindowEthereum(provider: object, takeOver: boolean): boolean {
  const existing = Object.getOwnPropertyDescriptor(window, "ethereum");
  if (existing && !takeOver) return false;
  if (existing && !existing.configurable) {
    console.warn(
      "Balance Bridge: window.ethereum is locked by another script; use EIP-6963 to find Balance Bridge.",
    );
    return false;
  }
  let current: unknown = provider;
  Object.defineProperty(window, "ethereum", {
    configurable: !takeOver,
    enumerable: true,
    get: () => current,
    set: (value: unknown) => {
      if (!takeOver) current = value;
    },
  });
  return true;
}
