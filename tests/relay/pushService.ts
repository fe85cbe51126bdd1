/**
 * A Web Push service on loopback for the relay's tests, and what a browser would do with what it
 * receives: subscriptions made like a browser makes them (a P-256 key pair and a 16-byte auth secret,
 * RFC 8291 §2), payload decryption per RFC 8291 §3.4 / RFC 8188 §2 written here with node:crypto (not
 * with the library the relay encrypts with, so the encryption is really checked), and the VAPID
 * `Authorization: vapid t=…, k=…` check of RFC 8292 §2–§3 (ES256 signature, `aud`, `exp`).
 */
import {
  createDecipheriv,
  createECDH,
  createPublicKey,
  type ECDH,
  hkdfSync,
  randomBytes,
  verify,
} from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export type PushHit = { at: number; path: string; headers: IncomingHttpHeaders; body: Buffer };
export type PushAnswer = { status: number; headers?: Record<string, string> };

export async function startPushService(
  answer: (hit: PushHit, n: number) => PushAnswer = () => ({ status: 201 }),
) {
  const hits: PushHit[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const hit = {
        at: performance.now(),
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      hits.push(hit);
      const a = answer(hit, hits.length);
      res.writeHead(a.status, a.headers ?? {});
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    hits,
    /** Resolves once `n` hits have arrived. */
    async received(n: number, timeoutMs = 8000) {
      const deadline = Date.now() + timeoutMs;
      while (hits.length < n) {
        if (Date.now() > deadline) throw new Error(`push service: ${hits.length} of ${n} hits`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export type BrowserSubscription = {
  subscription: { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } };
  ecdh: ECDH;
  auth: Buffer;
};

/** What `pushManager.subscribe()` makes: a P-256 key pair and a 16-byte auth secret (RFC 8291 §2). */
export function browserSubscription(endpoint: string): BrowserSubscription {
  const ecdh = createECDH("prime256v1");
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return {
    subscription: {
      endpoint,
      expirationTime: null,
      keys: { p256dh: ecdh.getPublicKey().toString("base64url"), auth: auth.toString("base64url") },
    },
    ecdh,
    auth,
  };
}

/** Decrypts an `aes128gcm` Web Push message body as the user agent does (RFC 8291 §3.4, RFC 8188 §2). */
export function decryptPush(
  body: Buffer,
  { ecdh, auth }: Pick<BrowserSubscription, "ecdh" | "auth">,
): string {
  // RFC 8188 §2.1 header: salt (16) ‖ rs (uint32) ‖ idlen (1) ‖ keyid; for Web Push keyid is the
  // sender's ephemeral public key (RFC 8291 §4), 65 bytes.
  const salt = body.subarray(0, 16);
  const rs = body.readUInt32BE(16);
  const idlen = body[20] ?? 0;
  if (idlen !== 65) throw new Error(`keyid length ${idlen}, expected 65 (an uncompressed P-256 point)`);
  const senderKey = body.subarray(21, 21 + idlen);
  const record = body.subarray(21 + idlen);
  if (record.length > rs) throw new Error("more than one record: not what a push message is");
  const ecdhSecret = ecdh.computeSecret(senderKey);
  // RFC 8291 §3.3–3.4: IKM = HKDF(salt = auth secret, ikm = ECDH secret, info = key_info, 32).
  const keyInfo = Buffer.concat([Buffer.from("WebPush: info\0"), ecdh.getPublicKey(), senderKey]);
  const ikm = Buffer.from(hkdfSync("sha256", ecdhSecret, auth, keyInfo, 32));
  // RFC 8188 §2.2–2.3: content-encryption key and nonce from the message salt.
  const cek = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: aes128gcm\0"), 16));
  const nonce = Buffer.from(hkdfSync("sha256", ikm, salt, Buffer.from("Content-Encoding: nonce\0"), 12));
  const decipher = createDecipheriv("aes-128-gcm", cek, nonce); // record 0: nonce XOR 0
  decipher.setAuthTag(record.subarray(record.length - 16));
  const padded = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  // The last record's plaintext ends with the delimiter 0x02, then zero or more 0x00 padding octets.
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (padded[end] !== 2) throw new Error("no last-record delimiter (0x02)");
  return padded.subarray(0, end).toString("utf8");
}

export type VapidClaims = { aud: string; exp: number; sub: string };

/**
 * Checks `Authorization: vapid t=<JWT>, k=<key>` (RFC 8292 §3): the JWT is ES256 (RFC 7518 §3.4:
 * the signature is r ‖ s) and verifies with `k`. Returns the header, claims and key; throws otherwise.
 */
export function checkVapid(authorization: string | undefined): {
  header: Record<string, unknown>;
  claims: VapidClaims;
  publicKey: string;
  /** Verifies other signing input with the same key (to show a tampered token fails). */
  verifies(signingInput: string, signature: string): boolean;
  token: string;
} {
  const match = /^vapid t=([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+),\s*k=([A-Za-z0-9_-]+)$/.exec(
    authorization ?? "",
  );
  if (!match) throw new Error(`not a vapid Authorization header: ${authorization}`);
  const token = match[1] as string;
  const publicKey = match[2] as string;
  const [h = "", p = "", s = ""] = token.split(".");
  const point = Buffer.from(publicKey, "base64url");
  if (point.length !== 65 || point[0] !== 4) throw new Error("k is not an uncompressed P-256 point");
  const key = createPublicKey({
    key: {
      kty: "EC",
      crv: "P-256",
      x: point.subarray(1, 33).toString("base64url"),
      y: point.subarray(33, 65).toString("base64url"),
    },
    format: "jwk",
  });
  const verifies = (input: string, signature: string) =>
    verify(
      "sha256",
      Buffer.from(input),
      { key, dsaEncoding: "ieee-p1363" },
      Buffer.from(signature, "base64url"),
    );
  if (!verifies(`${h}.${p}`, s)) throw new Error("the VAPID JWT signature does not verify with k");
  return {
    header: JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as VapidClaims,
    publicKey,
    verifies,
    token,
  };
}
