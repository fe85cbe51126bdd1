/**
 * The wallet side of the protocol (docs/PROTOCOL.md §2.4–4): answer a pairing URI, fetch or pull
 * requests, respond, send events, end the session. Used by the reference wallet; a third-party
 * wallet can use it as the reference for its own implementation.
 */
import { fromBase64Url, toBase64Url } from "./base64url.ts";
import { utf8ToBytes } from "./bytes.ts";
import { WAIT } from "./constants.ts";
import { sealPairing } from "./envelope.ts";
import { RelayError, RequestExpiredError } from "./errors.ts";
import { generateKeyPair } from "./keys.ts";
import { openMessage, sealMessage } from "./messages.ts";
import { isPairingUriExpired, type PairingUri, PairingUriError } from "./pairingUri.ts";
import { createRelayHttp, enc, type FetchLike, retrying } from "./relayHttp.ts";
import {
  PairingPayload,
  PendingRequests,
  PostEventResult,
  type PushTarget,
  RequestPayload,
  ResponseOutcome,
  ResponsePayload,
  StoredRequest,
} from "./schemas.ts";
import { deriveSession } from "./session.ts";

export type WalletSession = {
  relayUrl: string;
  sessionId: string;
  sendKey: string;
  receiveKey: string;
  matchCode: string;
  deviceId: string;
  pairedAt: number;
};

type Signal = { signal?: AbortSignal };

export type WalletRequest = { id: string; expiresAt: number; payload: RequestPayload };

export type WalletEvent =
  | { type: "accountsChanged"; data: string[] }
  | { type: "chainChanged"; data: string }
  | { type: "disconnect"; data?: { reason?: string } };

export type AnswerPairingInput = {
  uri: PairingUri;
  /** UUID v4, stable per install. */
  deviceId: string;
  accounts: string[];
  chainId: string;
  chains?: { chainId: string; rpcUrl?: string }[];
  wallet: { name: string; icon?: string };
  push?: PushTarget;
  /** Milliseconds; for tests. */
  now?: number;
};

/**
 * The plaintext `outcome` label a wallet may send with its response for the relay operator's
 * statistics (docs/PROTOCOL.md §3.1): a result is `approved`, the user's refusal (4001) `rejected`,
 * any other error `failed`.
 */
export function responseOutcome(response: ResponsePayload): ResponseOutcome {
  if ("result" in response) return "approved";
  return response.error.code === 4001 ? "rejected" : "failed";
}

export function createWalletClient(options: { fetch?: FetchLike } = {}) {
  const httpFor = (s: { relayUrl: string }) =>
    createRelayHttp({ relayUrl: s.relayUrl, fetch: options.fetch });
  const sessionPath = (s: { sessionId: string }) => `/v1/sessions/${enc(s.sessionId)}`;

  async function answerPairing(input: AnswerPairingInput): Promise<WalletSession> {
    const { uri } = input;
    if (isPairingUriExpired(uri, input.now))
      throw new PairingUriError("exp", "this pairing code has expired");
    const keys = generateKeyPair();
    const payload = PairingPayload.parse({
      walletKey: toBase64Url(keys.publicKey),
      accounts: input.accounts,
      chainId: input.chainId,
      ...(input.chains ? { chains: input.chains } : {}),
      wallet: input.wallet,
    });
    let sealed: Uint8Array;
    let derived: ReturnType<typeof deriveSession>;
    try {
      sealed = sealPairing({
        recipientPublicKey: fromBase64Url(uri.publicKey, "key"),
        token: uri.token,
        plaintext: utf8ToBytes(JSON.stringify(payload)),
      });
      derived = deriveSession({
        role: "wallet",
        secretKey: keys.secretKey,
        peerPublicKey: fromBase64Url(uri.publicKey),
        token: uri.token,
      });
    } catch {
      // X25519 refuses low-order points (RFC 7748 §6.1 all-zero check): the key cannot be paired with.
      throw new PairingUriError("key", "key is not a usable X25519 public key");
    }
    const http = httpFor(uri);
    await http.call({
      method: "PUT",
      path: `/v1/pairings/${enc(uri.token)}`,
      body: {
        deviceId: input.deviceId,
        sessionId: derived.sessionId,
        sealed: toBase64Url(sealed),
        ...(input.push ? { push: input.push } : {}),
      },
    });
    return {
      relayUrl: http.relayUrl,
      sessionId: derived.sessionId,
      sendKey: toBase64Url(derived.sendKey),
      receiveKey: toBase64Url(derived.receiveKey),
      matchCode: derived.matchCode,
      deviceId: input.deviceId,
      pairedAt: Math.floor((input.now ?? Date.now()) / 1000),
    };
  }

  function decode(
    session: WalletSession,
    stored: { id: string; sealed: string; expiresAt: number },
  ): WalletRequest {
    const payload = openMessage({
      key: session.receiveKey,
      sessionId: session.sessionId,
      kind: "request",
      id: stored.id,
      sealed: stored.sealed,
      schema: RequestPayload,
    });
    return { id: stored.id, expiresAt: Math.min(stored.expiresAt, payload.expiresAt), payload };
  }

  /** Fetches one request by id (the push path). Throws RelayError (404 / 410) or EnvelopeError. */
  async function getRequest(session: WalletSession, id: string, o: Signal = {}): Promise<WalletRequest> {
    const http = httpFor(session);
    const reply = await http.call({
      method: "GET",
      path: `${sessionPath(session)}/requests/${enc(id)}`,
      signal: o.signal,
    });
    return decode(session, http.expectBody(reply, StoredRequest));
  }

  /** Long-polls for pending requests (the pull path, for when push is late or off). */
  async function pullRequests(
    session: WalletSession,
    o: { wait?: number; signal?: AbortSignal } = {},
  ): Promise<{ requests: WalletRequest[]; rejected: { id: string; reason: string }[] }> {
    const http = httpFor(session);
    const wait = o.wait ?? WAIT.default;
    const reply = await http.call({
      method: "GET",
      path: `${sessionPath(session)}/requests`,
      query: { wait },
      wait,
      signal: o.signal,
    });
    const requests: WalletRequest[] = [];
    const rejected: { id: string; reason: string }[] = [];
    for (const stored of http.expectBody(reply, PendingRequests).requests) {
      try {
        requests.push(decode(session, stored));
      } catch (error) {
        rejected.push({ id: stored.id, reason: error instanceof Error ? error.message : String(error) });
      }
    }
    return { requests, rejected };
  }

  /**
   * Answers a request. First response wins at the relay: a response to an answered request is a 409
   * request_answered, which a caller retrying after a lost reply takes as delivered.
   */
  async function respond(
    session: WalletSession,
    request: { id: string; expiresAt?: number } | string,
    response: ResponsePayload,
    o: Signal & { now?: number; outcome?: ResponseOutcome | undefined } = {},
  ): Promise<void> {
    const now = o.now ?? Date.now();
    const id = typeof request === "string" ? request : request.id;
    if (typeof request !== "string" && request.expiresAt !== undefined && request.expiresAt * 1000 <= now) {
      throw new RequestExpiredError();
    }
    const value = ResponsePayload.parse(response);
    const sealed = sealMessage({
      key: session.sendKey,
      sessionId: session.sessionId,
      kind: "response",
      id,
      value,
    });
    const put = (outcome: ResponseOutcome | undefined) =>
      httpFor(session).call({
        method: "PUT",
        path: `${sessionPath(session)}/requests/${enc(id)}/response`,
        // `outcome` is metadata the relay sees (it only counts it); the response itself stays sealed.
        body: { sealed, ...(outcome ? { outcome: ResponseOutcome.parse(outcome) } : {}) },
        signal: o.signal,
      });
    try {
      await put(o.outcome);
    } catch (error) {
      // A relay from before the label refuses the unknown field (400 naming it): send the response without it.
      if (
        !(
          o.outcome &&
          error instanceof RelayError &&
          error.code === "invalid_field" &&
          /outcome/.test(error.message)
        )
      ) {
        throw error;
      }
      await put(undefined);
    }
  }

  /**
   * Sends an event; `n` counts this wallet's events in the session from 1 (the dapp refuses replays).
   * Sealed once; transient failures are retried with the same body, which the relay takes as a repeat
   * of the same event (same seq), never as a second one.
   */
  async function sendEvent(
    session: WalletSession,
    event: WalletEvent,
    n: number,
    o: Signal = {},
  ): Promise<{ seq: number; id: string }> {
    if (!Number.isSafeInteger(n) || n < 1) throw new TypeError("n must be a positive integer");
    const id = crypto.randomUUID();
    const value = { ...event, n };
    const sealed = sealMessage({
      key: session.sendKey,
      sessionId: session.sessionId,
      kind: "event",
      id,
      value,
    });
    const http = httpFor(session);
    const reply = await retrying(o.signal, () =>
      http.call({
        method: "POST",
        path: `${sessionPath(session)}/events`,
        body: { id, sealed },
        signal: o.signal,
      }),
    );
    return { seq: http.expectBody(reply, PostEventResult).seq, id };
  }

  async function endSession(session: WalletSession, o: Signal = {}): Promise<void> {
    try {
      await httpFor(session).call({ method: "DELETE", path: sessionPath(session), signal: o.signal });
    } catch (error) {
      if (!(error instanceof RelayError && error.status === 404)) throw error;
    }
  }

  return { answerPairing, getRequest, pullRequests, respond, sendEvent, endSession };
}

export type WalletClient = ReturnType<typeof createWalletClient>;
