/**
 * SSRF guard for webhook URLs (OWASP "Server-Side Request Forgery Prevention Cheat Sheet"): a wallet
 * chooses the URL, so without a check it could make the relay call its operator's internal services
 * or cloud metadata (169.254.169.254). A target is refused when ANY address its host resolves to is
 * non-public (RFC 6890 special-purpose registries), unless the operator allow-listed the host or
 * allowed private targets. The check runs at pairing time and again before every send, and the send
 * connects to the address that was checked (no second lookup), which defeats DNS rebinding.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";

export type ResolvedAddress = { address: string; family: 4 | 6 };
export type Lookup = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemLookup: Lookup = async (hostname) => {
  const found = await dnsLookup(hostname, { all: true, verbatim: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

function parseIPv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : Number.NaN));
  return bytes.every((b) => b >= 0 && b <= 255) ? bytes : undefined;
}

/** 16 bytes of an IPv6 address (RFC 4291 §2.2 text forms, including an embedded dotted quad). */
export function parseIPv6(text: string): number[] | undefined {
  let s = text.replace(/%.*$/, ""); // zone id (fe80::1%eth0)
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(":");
  if (s.includes(".", lastColon)) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return undefined;
    tail = v4;
    s = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (part: string | undefined) => (part ? part.split(":") : []);
  const head = groups(halves[0]);
  const rest = groups(halves[1]);
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  const bytes: number[] = [];
  for (const g of all) {
    if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
    const n = Number.parseInt(g, 16);
    bytes.push(n >> 8, n & 0xff);
  }
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

function isPublicIPv4([a = 0, b = 0, c = 0]: number[]): boolean {
  if (a === 0) return false; // 0.0.0.0/8 "this network"
  if (a === 10) return false; // 10/8 private (RFC 1918)
  if (a === 100 && b >= 64 && b <= 127) return false; // 100.64/10 shared / CGNAT (RFC 6598)
  if (a === 127) return false; // loopback
  if (a === 169 && b === 254) return false; // link-local, cloud metadata
  if (a === 172 && b >= 16 && b <= 31) return false; // 172.16/12 private
  if (a === 192 && b === 0 && c === 0) return false; // 192.0.0/24 IETF protocol assignments
  if (a === 192 && b === 168) return false; // 192.168/16 private
  if (a === 198 && (b === 18 || b === 19)) return false; // 198.18/15 benchmarking
  if (a >= 224) return false; // multicast, reserved, broadcast
  return true;
}

function isPublicIPv6(bytes: number[]): boolean {
  const [b0 = 0, b1 = 0] = bytes;
  const zeroUpTo = (n: number) => bytes.slice(0, n).every((b) => b === 0);
  const v4 = (from: number) => bytes.slice(from, from + 4);
  if (zeroUpTo(16)) return false; // :: unspecified
  if (zeroUpTo(15) && bytes[15] === 1) return false; // ::1 loopback
  if (zeroUpTo(10) && bytes[10] === 0xff && bytes[11] === 0xff) return isPublicIPv4(v4(12)); // ::ffff:a.b.c.d mapped
  if (zeroUpTo(12)) return isPublicIPv4(v4(12)); // ::a.b.c.d compatible (deprecated)
  if (b0 === 0x00 && b1 === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b) return isPublicIPv4(v4(12)); // 64:ff9b::/96 NAT64
  if (b0 === 0x20 && b1 === 0x02) return isPublicIPv4(v4(2)); // 2002::/16 6to4
  if ((b0 & 0xfe) === 0xfc) return false; // fc00::/7 unique local
  if (b0 === 0xfe && (b1 & 0xc0) === 0x80) return false; // fe80::/10 link-local
  if (b0 === 0xfe && (b1 & 0xc0) === 0xc0) return false; // fec0::/10 site-local (deprecated)
  if (b0 === 0xff) return false; // multicast
  if (b0 === 0x01 && b1 === 0x00 && bytes.slice(2, 8).every((b) => b === 0)) return false; // 100::/64 discard
  if (b0 === 0x20 && b1 === 0x01 && bytes[2] === 0x0d && bytes[3] === 0xb8) return false; // 2001:db8::/32 documentation
  return true;
}

/** False for loopback, private, link-local, CGNAT, multicast and other non-public addresses. */
export function isPublicAddress(address: string): boolean {
  const kind = isIP(address.replace(/%.*$/, ""));
  if (kind === 4) {
    const v4 = parseIPv4(address);
    return v4 !== undefined && isPublicIPv4(v4);
  }
  if (kind === 6) {
    const v6 = parseIPv6(address);
    return v6 !== undefined && isPublicIPv6(v6);
  }
  return false;
}

export type TargetPolicy = { allowHosts: readonly string[]; allowPrivate: boolean; lookup?: Lookup };
export type TargetCheck =
  | { ok: true; addresses: ResolvedAddress[] }
  | { ok: false; reason: string; retryable: boolean };

/** Resolves the URL's host and applies the policy. */
export async function checkTarget(url: URL, policy: TargetPolicy): Promise<TargetCheck> {
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { ok: false, reason: "webhook URL must be http or https", retryable: false };
  }
  const host = url.hostname.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  const allowed =
    policy.allowPrivate ||
    policy.allowHosts.some((h) => h.toLowerCase().replace(/^\[(.*)\]$/, "$1") === host);
  let addresses: ResolvedAddress[];
  const literal = isIP(host);
  if (literal) {
    addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await (policy.lookup ?? systemLookup)(host);
    } catch {
      return { ok: false, reason: "webhook host does not resolve", retryable: true };
    }
    if (addresses.length === 0)
      return { ok: false, reason: "webhook host does not resolve", retryable: true };
  }
  if (!allowed && !addresses.every((a) => isPublicAddress(a.address))) {
    return {
      ok: false,
      reason:
        "webhook host is a private, loopback or otherwise non-public address (not allowed on this relay)",
      retryable: false,
    };
  }
  return { ok: true, addresses };
}
