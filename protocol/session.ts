/**
 * Session derivation (docs/PROTOCOL.md §2.5): both sides compute
 *   K = HKDF-SHA256(ikm = X25519(w, D) = X25519(d, W), salt = token, info = "balance-bridge/1 session")
 * and from K (HKDF with no salt, RFC 5869 §2.2 default of HashLen zeros):
 *   sessionId   = HKDF(K, "session id"), the relay routes by it, it never appears in the QR;
 *   dapp->wallet and wallet->dapp keys, one per direction so nothing can be reflected back;
 *   matchCode   = first 4 bytes of HKDF(K, "match code"), big-endian, mod 10^6, as 6 digits.
 */
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { fromBase64Url, toBase64Url } from "./base64url.ts";
import { utf8ToBytes } from "./bytes.ts";
import { sharedSecret } from "./keys.ts";

export const SESSION_INFO = "balance-bridge/1 session";

export type Role = "dapp" | "wallet";

export type SessionKeys = {
  sessionId: string;
  /** Key this side seals with. */
  sendKey: Uint8Array;
  /** Key this side opens with. */
  receiveKey: Uint8Array;
  matchCode: string;
};

const expand = (k: Uint8Array, info: string, length = 32) =>
  hkdf(sha256, k, undefined, utf8ToBytes(info), length);

export function deriveSession(input: {
  role: Role;
  secretKey: Uint8Array;
  peerPublicKey: Uint8Array;
  token: string;
}): SessionKeys {
  const shared = sharedSecret(input.secretKey, input.peerPublicKey);
  const k = hkdf(sha256, shared, fromBase64Url(input.token, "token"), utf8ToBytes(SESSION_INFO), 32);
  const dappToWallet = expand(k, "dapp->wallet");
  const walletToDapp = expand(k, "wallet->dapp");
  const code = expand(k, "match code", 4);
  const n = new DataView(code.buffer, code.byteOffset, 4).getUint32(0, false) % 1_000_000;
  return {
    sessionId: toBase64Url(expand(k, "session id")),
    sendKey: input.role === "dapp" ? dappToWallet : walletToDapp,
    receiveKey: input.role === "dapp" ? walletToDapp : dappToWallet,
    matchCode: n.toString().padStart(6, "0"),
  };
}
