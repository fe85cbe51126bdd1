/**
 * base64url without padding (RFC 4648 §5), strict: a string decodes only if it is the canonical
 * encoding of its bytes, so one value has exactly one spelling on the wire (no padding, no stray
 * bits in the last character, no `+` or `/`).
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const LOOKUP = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

export function toBase64Url(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out +=
      ALPHABET.charAt((n >> 18) & 63) +
      ALPHABET.charAt((n >> 12) & 63) +
      ALPHABET.charAt((n >> 6) & 63) +
      ALPHABET.charAt(n & 63);
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] as number) << 16;
    out += ALPHABET.charAt((n >> 18) & 63) + ALPHABET.charAt((n >> 12) & 63);
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out += ALPHABET.charAt((n >> 18) & 63) + ALPHABET.charAt((n >> 12) & 63) + ALPHABET.charAt((n >> 6) & 63);
  }
  return out;
}

/** Decodes canonical unpadded base64url; returns undefined for anything else. */
export function tryFromBase64Url(text: string): Uint8Array | undefined {
  if (typeof text !== "string" || text.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let buffer = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? (LOOKUP[c] as number) : -1;
    if (v < 0) return undefined;
    buffer = (buffer << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >> bits) & 0xff;
    }
  }
  // Leftover bits must be zero, or two strings would decode to the same bytes.
  if (bits > 0 && (buffer & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}

export function fromBase64Url(text: string, what = "value"): Uint8Array {
  const bytes = tryFromBase64Url(text);
  if (!bytes) throw new TypeError(`${what} is not canonical unpadded base64url`);
  return bytes;
}

/** True when `text` is canonical base64url of exactly `length` bytes. */
export function isBase64UrlOfLength(text: unknown, length: number): text is string {
  if (typeof text !== "string" || text.length !== Math.ceil((length * 4) / 3)) return false;
  return tryFromBase64Url(text)?.length === length;
}
