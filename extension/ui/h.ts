/**
 * A tiny DOM builder for the extension's pages. Text is always set as text (never parsed as HTML), so
 * values that come from sites or wallets (origins, names, errors) cannot inject markup.
 */
type Attrs = Record<string, string | boolean | ((event: Event) => void) | undefined>;
type Child = Node | string | number | false | null | undefined;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.replace(/^on/, "").toLowerCase(), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === false || child === null || child === undefined) continue;
    el.append(typeof child === "number" ? String(child) : child);
  }
  return el;
}

export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(
    ...children
      .filter((c): c is Node | string | number => c !== false && c !== null && c !== undefined)
      .map((c) => (typeof c === "number" ? String(c) : c)),
  );
}

export const shortAddress = (a: string) => `${a.slice(0, 6)}…${a.slice(-4)}`;

export function chainName(chainId: string): string {
  const known: Record<string, string> = {
    "0x1": "Ethereum",
    "0xaa36a7": "Sepolia",
    "0x7a69": "Hardhat (31337)",
    "0x539": "Localhost (1337)",
  };
  return known[chainId] ?? `Chain ${Number.parseInt(chainId, 16)}`;
}
