import { hexToBytes } from "@noble/hashes/utils.js";
import { describe, expect, it } from "vitest";
import vectors from "../docs/test-vectors.json" with { type: "json" };
import { fromBase64Url, toBase64Url } from "./base64url.ts";
import { bytesToHex, bytesToUtf8, utf8ToBytes } from "./bytes.ts";
import { EnvelopeError, openPairing, openSession, sealPairing, sealSession } from "./envelope.ts";
import { generateKeyPair, generateToken, keyPairFromSecretKey, sharedSecret } from "./keys.ts";
import { deriveSession } from "./session.ts";
import { computeTestVectors } from "./testVectors.ts";

describe("X25519 (RFC 7748 §6.1 test vector)", () => {
  it("computes Alice's and Bob's public keys and their shared secret", () => {
    const alice = keyPairFromSecretKey(
      hexToBytes("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
    );
    const bob = keyPairFromSecretKey(
      hexToBytes("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"),
    );
    expect(bytesToHex(alice.publicKey)).toBe(
      "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
    );
    expect(bytesToHex(bob.publicKey)).toBe(
      "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
    );
    const shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
    expect(bytesToHex(sharedSecret(alice.secretKey, bob.publicKey))).toBe(shared);
    expect(bytesToHex(sharedSecret(bob.secretKey, alice.publicKey))).toBe(shared);
  });

  it("refuses keys of the wrong length and low-order points", () => {
    const { secretKey } = generateKeyPair();
    expect(() => sharedSecret(secretKey, new Uint8Array(31))).toThrow(/publicKey must be 32 bytes/);
    expect(() => sharedSecret(secretKey, new Uint8Array(32))).toThrow();
  });
});

describe("published test vectors (docs/test-vectors.json)", () => {
  it("are what this implementation computes, byte for byte", () => {
    expect(computeTestVectors()).toEqual(vectors);
  });

  it("open with the keys they were made for", () => {
    const v = vectors;
    const dapp = keyPairFromSecretKey(hexToBytes(v.inputs.dappSecretKey));
    const opened = openPairing({
      secretKey: dapp.secretKey,
      token: v.tokenBase64Url,
      envelope: fromBase64Url(v.pairingEnvelope),
    });
    expect(bytesToUtf8(opened)).toBe(v.inputs.pairingPlaintext);
    const request = openSession({
      key: hexToBytes(v.dappToWalletKey),
      sessionId: v.sessionId,
      kind: "request",
      id: v.inputs.requestId,
      envelope: fromBase64Url(v.requestEnvelope),
    });
    expect(bytesToUtf8(request)).toBe(v.inputs.requestPlaintext);
  });
});

function pair() {
  const dapp = generateKeyPair();
  const wallet = generateKeyPair();
  const token = generateToken();
  const d = deriveSession({
    role: "dapp",
    secretKey: dapp.secretKey,
    peerPublicKey: wallet.publicKey,
    token,
  });
  const w = deriveSession({
    role: "wallet",
    secretKey: wallet.secretKey,
    peerPublicKey: dapp.publicKey,
    token,
  });
  return { dapp, wallet, token, d, w };
}

describe("session derivation", () => {
  it("gives both sides the same session id and match code, and mirrored direction keys", () => {
    const { d, w } = pair();
    expect(d.sessionId).toBe(w.sessionId);
    expect(fromBase64Url(d.sessionId)).toHaveLength(32);
    expect(d.matchCode).toMatch(/^\d{6}$/);
    expect(d.matchCode).toBe(w.matchCode);
    expect(d.sendKey).toEqual(w.receiveKey);
    expect(d.receiveKey).toEqual(w.sendKey);
    expect(d.sendKey).not.toEqual(d.receiveKey);
  });

  it("differs for another token (a replayed answer cannot bind to a new pairing)", () => {
    const { dapp, wallet, d } = pair();
    const other = deriveSession({
      role: "dapp",
      secretKey: dapp.secretKey,
      peerPublicKey: wallet.publicKey,
      token: generateToken(),
    });
    expect(other.sessionId).not.toBe(d.sessionId);
  });
});

describe("pairing envelope", () => {
  it("round-trips and is refused under the wrong key, the wrong token, or with any byte flipped", () => {
    const dapp = generateKeyPair();
    const token = generateToken();
    const plaintext = utf8ToBytes('{"hello":"wallet"}');
    const envelope = sealPairing({ recipientPublicKey: dapp.publicKey, token, plaintext });
    expect(envelope[0]).toBe(0x01);
    expect(openPairing({ secretKey: dapp.secretKey, token, envelope })).toEqual(plaintext);
    expect(() => openPairing({ secretKey: generateKeyPair().secretKey, token, envelope })).toThrow(
      EnvelopeError,
    );
    expect(() => openPairing({ secretKey: dapp.secretKey, token: generateToken(), envelope })).toThrow(
      EnvelopeError,
    );
    for (let i = 1; i < envelope.length; i++) {
      const tampered = envelope.slice();
      tampered[i] = (tampered[i] as number) ^ 0x01;
      expect(
        () => openPairing({ secretKey: dapp.secretKey, token, envelope: tampered }),
        `byte ${i}`,
      ).toThrow(EnvelopeError);
    }
    expect(() =>
      openPairing({ secretKey: dapp.secretKey, token, envelope: envelope.subarray(0, 60) }),
    ).toThrow(/not a pairing envelope/);
  });
});

describe("session envelope", () => {
  const id = "0d1c2b3a-4f5e-4d6c-8b7a-695847362514";

  it("opens only in the right direction, for the same session, kind and id, untampered", () => {
    const { d, w } = pair();
    const plaintext = utf8ToBytes('{"method":"personal_sign"}');
    const envelope = sealSession({ key: d.sendKey, sessionId: d.sessionId, kind: "request", id, plaintext });
    expect(envelope[0]).toBe(0x00);
    const open = (o: Partial<Parameters<typeof openSession>[0]>) =>
      openSession({ key: w.receiveKey, sessionId: w.sessionId, kind: "request", id, envelope, ...o });
    expect(open({})).toEqual(plaintext);
    // Wrong direction: the dapp's own receive key (wallet->dapp) must not open what the dapp sent.
    expect(() => open({ key: d.receiveKey })).toThrow(EnvelopeError);
    // Wrong key altogether.
    expect(() => open({ key: pair().w.receiveKey })).toThrow(EnvelopeError);
    // Replayed under another id, another kind, another session.
    expect(() => open({ id: "11111111-2222-4333-8444-555555555555" })).toThrow(EnvelopeError);
    expect(() => open({ kind: "response" })).toThrow(EnvelopeError);
    expect(() => open({ sessionId: toBase64Url(new Uint8Array(32)) })).toThrow(EnvelopeError);
    for (let i = 0; i < envelope.length; i++) {
      const tampered = envelope.slice();
      tampered[i] = (tampered[i] as number) ^ 0x80;
      expect(() => open({ envelope: tampered }), `byte ${i}`).toThrow(EnvelopeError);
    }
  });

  it("uses a fresh nonce each time", () => {
    const { d } = pair();
    const plaintext = utf8ToBytes("same");
    const a = sealSession({ key: d.sendKey, sessionId: d.sessionId, kind: "event", id, plaintext });
    const b = sealSession({ key: d.sendKey, sessionId: d.sessionId, kind: "event", id, plaintext });
    expect(a).not.toEqual(b);
  });
});
