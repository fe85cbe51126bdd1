/**
 * The two envelope types of docs/PROTOCOL.md §3.
 *
 * - Pairing envelope (type 0x01), sealed by the wallet to the dapp's pairing key, ECIES-style:
 *   ephemeral X25519 (RFC 7748) → HKDF-SHA256 (RFC 5869, salt = token, info = "balance-bridge/1 pair")
 *   → XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha, RFC 8439 AEAD) with a random 24-byte nonce and
 *   aad = "balance-bridge/1 pair " + token.
 *   Layout: 0x01 ‖ E (32) ‖ nonce (24) ‖ ciphertext ‖ tag (16).
 * - Session envelope (type 0x00), under one key per direction:
 *   aad = sessionId + " " + kind + " " + id, so a message cannot be replayed under another id, kind or
 *   session. Layout: 0x00 ‖ nonce (24) ‖ ciphertext ‖ tag (16).
 *
 * Every failure to open (wrong key, tampered byte, other aad) throws EnvelopeError; nothing is
 * returned from an envelope that did not authenticate.
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { fromBase64Url } from "./base64url.ts";
import { assertBytes, concatBytes, randomBytes, utf8ToBytes } from "./bytes.ts";
import {
  ENVELOPE_PAIR,
  ENVELOPE_SESSION,
  KEY_BYTES,
  MIN_PAIR_ENVELOPE,
  MIN_SESSION_ENVELOPE,
  NONCE_BYTES,
} from "./constants.ts";
import { generateKeyPair, keyPairFromSecretKey, sharedSecret } from "./keys.ts";

export class EnvelopeError extends Error {
  override name = "EnvelopeError";
}

export type MessageKind = "request" | "response" | "event";
export const PAIR_INFO = "balance-bridge/1 pair";

function pairingKey(shared: Uint8Array, token: string): Uint8Array {
  return hkdf(sha256, shared, fromBase64Url(token, "token"), utf8ToBytes(PAIR_INFO), 32);
}

export type SealPairingInput = {
  /** The dapp's pairing public key D (from the pairing URI). */
  recipientPublicKey: Uint8Array;
  token: string;
  plaintext: Uint8Array;
  /** For test vectors only: a fixed ephemeral key and nonce. Never set them in real use. */
  ephemeralSecretKey?: Uint8Array;
  nonce?: Uint8Array;
};

export function sealPairing(input: SealPairingInput): Uint8Array {
  assertBytes(input.recipientPublicKey, KEY_BYTES, "recipientPublicKey");
  const ephemeral = input.ephemeralSecretKey
    ? keyPairFromSecretKey(input.ephemeralSecretKey)
    : generateKeyPair();
  const nonce = input.nonce ?? randomBytes(NONCE_BYTES);
  assertBytes(nonce, NONCE_BYTES, "nonce");
  const key = pairingKey(sharedSecret(ephemeral.secretKey, input.recipientPublicKey), input.token);
  const aad = utf8ToBytes(`${PAIR_INFO} ${input.token}`);
  const ciphertext = xchacha20poly1305(key, nonce, aad).encrypt(input.plaintext);
  return concatBytes(Uint8Array.of(ENVELOPE_PAIR), ephemeral.publicKey, nonce, ciphertext);
}

export function openPairing(input: {
  secretKey: Uint8Array;
  token: string;
  envelope: Uint8Array;
}): Uint8Array {
  const { envelope } = input;
  if (envelope.length < MIN_PAIR_ENVELOPE || envelope[0] !== ENVELOPE_PAIR) {
    throw new EnvelopeError("not a pairing envelope");
  }
  const ephemeralPublicKey = envelope.subarray(1, 1 + KEY_BYTES);
  const nonce = envelope.subarray(1 + KEY_BYTES, 1 + KEY_BYTES + NONCE_BYTES);
  const ciphertext = envelope.subarray(1 + KEY_BYTES + NONCE_BYTES);
  try {
    const key = pairingKey(sharedSecret(input.secretKey, ephemeralPublicKey), input.token);
    return xchacha20poly1305(key, nonce, utf8ToBytes(`${PAIR_INFO} ${input.token}`)).decrypt(ciphertext);
  } catch {
    throw new EnvelopeError("pairing envelope did not authenticate");
  }
}

export type SessionAad = { sessionId: string; kind: MessageKind; id: string };

function sessionAad({ sessionId, kind, id }: SessionAad): Uint8Array {
  return utf8ToBytes(`${sessionId} ${kind} ${id}`);
}

export function sealSession(
  input: SessionAad & { key: Uint8Array; plaintext: Uint8Array; nonce?: Uint8Array },
): Uint8Array {
  assertBytes(input.key, 32, "key");
  const nonce = input.nonce ?? randomBytes(NONCE_BYTES);
  assertBytes(nonce, NONCE_BYTES, "nonce");
  const ciphertext = xchacha20poly1305(input.key, nonce, sessionAad(input)).encrypt(input.plaintext);
  return concatBytes(Uint8Array.of(ENVELOPE_SESSION), nonce, ciphertext);
}

export function openSession(input: SessionAad & { key: Uint8Array; envelope: Uint8Array }): Uint8Array {
  const { envelope } = input;
  if (envelope.length < MIN_SESSION_ENVELOPE || envelope[0] !== ENVELOPE_SESSION) {
    throw new EnvelopeError("not a session envelope");
  }
  assertBytes(input.key, 32, "key");
  const nonce = envelope.subarray(1, 1 + NONCE_BYTES);
  try {
    return xchacha20poly1305(input.key, nonce, sessionAad(input)).decrypt(envelope.subarray(1 + NONCE_BYTES));
  } catch {
    throw new EnvelopeError(`${input.kind} envelope did not authenticate`);
  }
}
