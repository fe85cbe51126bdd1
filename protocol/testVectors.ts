/**
 * Published test vectors (docs/TEST-VECTORS.md, docs/test-vectors.json): fixed keys, token and nonces
 * in, fixed bytes out, so a third-party wallet can check its implementation byte for byte.
 * `computeTestVectors()` recomputes them; the unit tests compare it with the published file.
 */
import { hexToBytes } from "@noble/hashes/utils.js";
import { toBase64Url } from "./base64url.ts";
import { bytesToHex, utf8ToBytes } from "./bytes.ts";
import { sealPairing, sealSession } from "./envelope.ts";
import { keyPairFromSecretKey } from "./keys.ts";
import { formatPairingUri } from "./pairingUri.ts";
import { deriveSession } from "./session.ts";

export const VECTOR_INPUTS = {
  dappSecretKey: "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
  walletSecretKey: "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
  ephemeralSecretKey: "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
  token: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
  pairNonce: "404142434445464748494a4b4c4d4e4f5051525354555657",
  requestNonce: "606162636465666768696a6b6c6d6e6f7071727374757677",
  responseNonce: "808182838485868788898a8b8c8d8e8f9091929394959697",
  requestId: "6f1c2b7e-4d3a-4f5b-9c8d-1e2f3a4b5c6d",
  relayUrl: "https://relay.example.org",
  expiresAt: 1_800_000_000,
  pairingPlaintext:
    '{"walletKey":"WALLET_KEY","accounts":["0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"],"chainId":"0x7a69","wallet":{"name":"Balance Bridge reference wallet"}}',
  requestPlaintext:
    '{"method":"personal_sign","params":["0x68656c6c6f","0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"],"origin":"https://dapp.example","chainId":"0x7a69","expiresAt":1800000300}',
  responsePlaintext: '{"error":{"code":4001,"message":"User rejected the request."}}',
} as const;

export function computeTestVectors() {
  const i = VECTOR_INPUTS;
  const dapp = keyPairFromSecretKey(hexToBytes(i.dappSecretKey));
  const wallet = keyPairFromSecretKey(hexToBytes(i.walletSecretKey));
  const ephemeral = keyPairFromSecretKey(hexToBytes(i.ephemeralSecretKey));
  const token = toBase64Url(hexToBytes(i.token));
  const walletKey = toBase64Url(wallet.publicKey);
  const pairingPlaintext = i.pairingPlaintext.replace("WALLET_KEY", walletKey);
  const pairingEnvelope = sealPairing({
    recipientPublicKey: dapp.publicKey,
    token,
    plaintext: utf8ToBytes(pairingPlaintext),
    ephemeralSecretKey: ephemeral.secretKey,
    nonce: hexToBytes(i.pairNonce),
  });
  const dappSide = deriveSession({
    role: "dapp",
    secretKey: dapp.secretKey,
    peerPublicKey: wallet.publicKey,
    token,
  });
  const walletSide = deriveSession({
    role: "wallet",
    secretKey: wallet.secretKey,
    peerPublicKey: dapp.publicKey,
    token,
  });
  const sessionId = dappSide.sessionId;
  const requestEnvelope = sealSession({
    key: dappSide.sendKey,
    sessionId,
    kind: "request",
    id: i.requestId,
    plaintext: utf8ToBytes(i.requestPlaintext),
    nonce: hexToBytes(i.requestNonce),
  });
  const responseEnvelope = sealSession({
    key: walletSide.sendKey,
    sessionId,
    kind: "response",
    id: i.requestId,
    plaintext: utf8ToBytes(i.responsePlaintext),
    nonce: hexToBytes(i.responseNonce),
  });
  return {
    inputs: { ...i, pairingPlaintext },
    dappPublicKey: bytesToHex(dapp.publicKey),
    walletPublicKey: bytesToHex(wallet.publicKey),
    ephemeralPublicKey: bytesToHex(ephemeral.publicKey),
    tokenBase64Url: token,
    pairingUri: formatPairingUri({
      token,
      relayUrl: i.relayUrl,
      publicKey: toBase64Url(dapp.publicKey),
      expiresAt: i.expiresAt,
    }),
    pairingEnvelope: toBase64Url(pairingEnvelope),
    sessionId,
    dappToWalletKey: bytesToHex(dappSide.sendKey),
    walletToDappKey: bytesToHex(walletSide.sendKey),
    matchCode: dappSide.matchCode,
    requestEnvelope: toBase64Url(requestEnvelope),
    responseEnvelope: toBase64Url(responseEnvelope),
  };
}
