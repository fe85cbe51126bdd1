/**
 * X25519 key pairs (RFC 7748 §5) and pairing tokens: 32 bytes each from the platform CSPRNG
 * (`crypto.getRandomValues`, through noble), fresh for every connection.
 */
import { x25519 } from "@noble/curves/ed25519.js";
import { toBase64Url } from "./base64url.ts";
import { assertBytes, randomBytes } from "./bytes.ts";
import { KEY_BYTES, TOKEN_BYTES } from "./constants.ts";

export type KeyPair = { secretKey: Uint8Array; publicKey: Uint8Array };

export function generateKeyPair(): KeyPair {
  const secretKey = x25519.utils.randomSecretKey();
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

export function keyPairFromSecretKey(secretKey: Uint8Array): KeyPair {
  assertBytes(secretKey, KEY_BYTES, "secretKey");
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

/** A fresh pairing token, base64url (43 characters). */
export function generateToken(): string {
  return toBase64Url(randomBytes(TOKEN_BYTES));
}

/** X25519(secretKey, publicKey). noble rejects low-order points (an all-zero shared secret). */
export function sharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  assertBytes(secretKey, KEY_BYTES, "secretKey");
  assertBytes(publicKey, KEY_BYTES, "publicKey");
  return x25519.getSharedSecret(secretKey, publicKey);
}
