/**
 * The pairing URI shown in the QR code (docs/PROTOCOL.md §2.3):
 *
 *   balancebridge:<token>@1?relay=<url-encoded relay base URL>&key=<D>&exp=<unix seconds>
 *
 * Shaped like EIP-681 / WalletConnect URIs (RFC 3986 `scheme:path?query`). Parsing is strict and
 * every malformed part throws a PairingUriError naming that part, because a wallet that guesses
 * would pair with the wrong relay or key.
 */
import { isBase64UrlOfLength } from "./base64url.ts";
import { KEY_BYTES, PROTOCOL_VERSION, TOKEN_BYTES, URI_SCHEME } from "./constants.ts";

export type PairingUri = {
  token: string;
  version: typeof PROTOCOL_VERSION;
  /** Relay base URL, http(s), without a trailing slash. */
  relayUrl: string;
  /** The dapp's pairing public key D, base64url. */
  publicKey: string;
  /** Unix seconds after which the pairing is gone. */
  expiresAt: number;
};

export type PairingUriPart = "uri" | "scheme" | "token" | "version" | "relay" | "key" | "exp";

export class PairingUriError extends Error {
  override name = "PairingUriError";
  readonly part: PairingUriPart;
  constructor(part: PairingUriPart, message: string) {
    super(`Invalid pairing URI (${part}): ${message}`);
    this.part = part;
  }
}

const MAX_URI_LENGTH = 2048;

export function normalizeRelayUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new PairingUriError("relay", `"${input.slice(0, 100)}" is not an absolute URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new PairingUriError("relay", `relay must be http or https, got ${url.protocol}`);
  }
  if (url.username || url.password)
    throw new PairingUriError("relay", "relay URL must not carry credentials");
  if (url.search || url.hash)
    throw new PairingUriError("relay", "relay URL must not have a query or fragment");
  return url.href.replace(/\/+$/, "");
}

export function formatPairingUri(p: Omit<PairingUri, "version"> & { version?: 1 }): string {
  if (!isBase64UrlOfLength(p.token, TOKEN_BYTES))
    throw new PairingUriError("token", "token must be 32 bytes base64url");
  if (!isBase64UrlOfLength(p.publicKey, KEY_BYTES))
    throw new PairingUriError("key", "key must be 32 bytes base64url");
  if (!Number.isSafeInteger(p.expiresAt) || p.expiresAt <= 0)
    throw new PairingUriError("exp", "exp must be unix seconds");
  const relay = encodeURIComponent(normalizeRelayUrl(p.relayUrl));
  return `${URI_SCHEME}:${p.token}@${PROTOCOL_VERSION}?relay=${relay}&key=${p.publicKey}&exp=${p.expiresAt}`;
}

export function parsePairingUri(uri: string): PairingUri {
  if (typeof uri !== "string" || uri.length === 0) throw new PairingUriError("uri", "empty");
  if (uri.length > MAX_URI_LENGTH)
    throw new PairingUriError("uri", `longer than ${MAX_URI_LENGTH} characters`);
  const text = uri.trim();
  const colon = text.indexOf(":");
  if (colon < 0 || text.slice(0, colon).toLowerCase() !== URI_SCHEME) {
    throw new PairingUriError("scheme", `expected "${URI_SCHEME}:"`);
  }
  const rest = text.slice(colon + 1);
  const q = rest.indexOf("?");
  const path = q < 0 ? rest : rest.slice(0, q);
  const at = path.lastIndexOf("@");
  if (at < 0) throw new PairingUriError("version", `missing "@${PROTOCOL_VERSION}" after the token`);
  const token = path.slice(0, at);
  const version = path.slice(at + 1);
  if (!isBase64UrlOfLength(token, TOKEN_BYTES))
    throw new PairingUriError("token", "token must be 32 bytes base64url");
  if (!/^\d+$/.test(version))
    throw new PairingUriError("version", `"${version.slice(0, 20)}" is not a version number`);
  if (Number(version) !== PROTOCOL_VERSION) {
    throw new PairingUriError(
      "version",
      `version ${version} is not supported (this client speaks ${PROTOCOL_VERSION})`,
    );
  }

  const params = new Map<string, string>();
  for (const pair of (q < 0 ? "" : rest.slice(q + 1)).split("&")) {
    if (!pair) continue;
    const eq = pair.indexOf("=");
    const name = eq < 0 ? pair : pair.slice(0, eq);
    let value: string;
    try {
      value = decodeURIComponent(eq < 0 ? "" : pair.slice(eq + 1));
    } catch {
      throw new PairingUriError(
        name === "relay" || name === "key" || name === "exp" ? name : "uri",
        "bad percent-encoding",
      );
    }
    if (params.has(name)) {
      throw new PairingUriError(
        name === "relay" || name === "key" || name === "exp" ? name : "uri",
        `"${name}" given twice`,
      );
    }
    params.set(name, value);
  }

  const relay = params.get("relay");
  if (!relay) throw new PairingUriError("relay", "missing relay");
  const relayUrl = normalizeRelayUrl(relay);
  const key = params.get("key");
  if (!key) throw new PairingUriError("key", "missing key");
  if (!isBase64UrlOfLength(key, KEY_BYTES))
    throw new PairingUriError("key", "key must be 32 bytes base64url");
  const exp = params.get("exp");
  if (!exp) throw new PairingUriError("exp", "missing exp");
  if (!/^[1-9]\d{0,12}$/.test(exp))
    throw new PairingUriError("exp", `"${exp.slice(0, 20)}" is not unix seconds`);

  return { token, version: PROTOCOL_VERSION, relayUrl, publicKey: key, expiresAt: Number(exp) };
}

/** True when the pairing URI's `exp` has passed (`now` in milliseconds). */
export function isPairingUriExpired(uri: PairingUri, now: number = Date.now()): boolean {
  return uri.expiresAt * 1000 <= now;
}
