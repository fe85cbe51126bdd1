/**
 * The dapp side of the protocol (docs/PROTOCOL.md §2–4): create a pairing, wait for the wallet's
 * answer, send requests, wait for responses with their delivery status, read events, end the session.
 *
 * Every piece of state it returns is a plain JSON value (keys as base64url) so an MV3 service worker
 * can keep it in `storage.session` and carry on after being stopped. Each network step is one call
 * (`pollPairing`, `postRequest`, `pollResponse`, …) that is safe to repeat; the `waitFor…` helpers
 * loop over them for callers that stay alive (tests, Node).
 */
import { fromBase64Url, toBase64Url } from "./base64url.ts";
import { bytesToUtf8 } from "./bytes.ts";
import {
  PAIRING_TTL,
  REQUEST_STATUS_HEADER,
  REQUEST_STATUSES,
  REQUEST_TTL,
  type RequestStatus,
  WAIT,
} from "./constants.ts";
import { EnvelopeError, openPairing } from "./envelope.ts";
import { RelayError } from "./errors.ts";
import { generateKeyPair, generateToken } from "./keys.ts";
import { openMessage, sealMessage } from "./messages.ts";
import { formatPairingUri } from "./pairingUri.ts";
import { createRelayHttp, enc, type FetchLike, retrying } from "./relayHttp.ts";

/** Re-exported: it used to live here. */
export { retrying } from "./relayHttp.ts";

import {
  CreatePairingResult,
  EventPayload,
  EventsPage,
  PairingAnswer,
  PairingPayload,
  PostRequestResult,
  ResponseAnswer,
  ResponsePayload,
} from "./schemas.ts";
import { deriveSession } from "./session.ts";

export type PendingPairing = {
  relayUrl: string;
  token: string;
  uri: string;
  /** The dapp's pairing secret key d, base64url. Lives only as long as the pairing. */
  secretKey: string;
  publicKey: string;
  expiresAt: number;
};

export type DappSession = {
  relayUrl: string;
  sessionId: string;
  sendKey: string;
  receiveKey: string;
  matchCode: string;
  deviceId: string;
  walletKey: string;
  accounts: string[];
  chainId: string;
  chains: { chainId: string; rpcUrl?: string | undefined }[];
  wallet: { name: string; icon?: string | undefined };
  pairedAt: number;
};

export type PreparedRequest = { id: string; sealed: string; ttl: number; expiresAt: number };

export type RequestInput = {
  method: string;
  params?: unknown;
  /** The origin as the browser reported it, never as the page claims. */
  origin: string;
  chainId: string;
  ttl?: number;
  id?: string;
};

export type ResponsePoll = { status: RequestStatus } | { response: ResponsePayload };

export type ReceivedEvent = { seq: number; id: string; event: EventPayload };
export type EventsPoll = {
  events: ReceivedEvent[];
  /** Cursor for the next poll. */
  next: number;
  /** Highest event counter `n` accepted so far; pass it back in. */
  lastN: number;
  /** Events refused: did not authenticate, malformed, or replayed / out of order. */
  rejected: { seq: number; reason: string }[];
};

type Wait = { wait?: number; signal?: AbortSignal };

export class PairingMismatchError extends Error {
  override name = "PairingMismatchError";
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export function createDappClient(options: { relayUrl: string; fetch?: FetchLike }) {
  const http = createRelayHttp(options);
  const sessionPath = (s: { sessionId: string }) => `/v1/sessions/${enc(s.sessionId)}`;

  async function createPairing(input: { ttl?: number } = {}): Promise<PendingPairing> {
    const ttl = input.ttl ?? PAIRING_TTL.default;
    for (let attempt = 0; ; attempt++) {
      const keys = generateKeyPair();
      const token = generateToken();
      try {
        const reply = await http.call({ method: "POST", path: "/v1/pairings", body: { token, ttl } });
        const { expiresAt } = http.expectBody(reply, CreatePairingResult);
        const publicKey = toBase64Url(keys.publicKey);
        return {
          relayUrl: http.relayUrl,
          token,
          uri: formatPairingUri({ token, relayUrl: http.relayUrl, publicKey, expiresAt }),
          secretKey: toBase64Url(keys.secretKey),
          publicKey,
          expiresAt,
        };
      } catch (error) {
        // A 409 on a fresh random token can only be a collision: draw another.
        if (!(error instanceof RelayError && error.code === "pairing_exists") || attempt >= 2) throw error;
      }
    }
  }

  /** One long-poll for the wallet's answer: the session once it answered, undefined when `wait` ran out. */
  async function pollPairing(pending: PendingPairing, o: Wait = {}): Promise<DappSession | undefined> {
    const wait = o.wait ?? WAIT.default;
    const reply = await http.call({
      method: "GET",
      path: `/v1/pairings/${enc(pending.token)}`,
      query: { wait },
      wait,
      signal: o.signal,
    });
    if (reply.status === 204) return undefined;
    const answer = http.expectBody(reply, PairingAnswer);
    const secretKey = fromBase64Url(pending.secretKey, "secretKey");
    const plaintext = openPairing({
      secretKey,
      token: pending.token,
      envelope: fromBase64Url(answer.sealed),
    });
    let payload: PairingPayload;
    try {
      payload = PairingPayload.parse(JSON.parse(bytesToUtf8(plaintext)));
    } catch {
      throw new EnvelopeError("pairing answer is malformed");
    }
    const keys = deriveSession({
      role: "dapp",
      secretKey,
      peerPublicKey: fromBase64Url(payload.walletKey),
      token: pending.token,
    });
    // The relay routes by the session id the wallet reported; it must be the one both keys give.
    if (keys.sessionId !== answer.sessionId)
      throw new PairingMismatchError("session id does not match the keys");
    return {
      relayUrl: http.relayUrl,
      sessionId: keys.sessionId,
      sendKey: toBase64Url(keys.sendKey),
      receiveKey: toBase64Url(keys.receiveKey),
      matchCode: keys.matchCode,
      deviceId: answer.deviceId,
      walletKey: payload.walletKey,
      accounts: payload.accounts,
      chainId: payload.chainId,
      chains: payload.chains ?? [],
      wallet: payload.wallet,
      pairedAt: nowSeconds(),
    };
  }

  /** Tells the relay the answer arrived, so it forgets the pairing (delete on acknowledge). */
  async function acknowledgePairing(pending: Pick<PendingPairing, "token">): Promise<void> {
    try {
      await http.call({ method: "DELETE", path: `/v1/pairings/${enc(pending.token)}` });
    } catch (error) {
      if (!(error instanceof RelayError && (error.status === 404 || error.status === 410))) throw error;
    }
  }

  async function waitForPairing(
    pending: PendingPairing,
    o: { signal?: AbortSignal } = {},
  ): Promise<DappSession> {
    const session = await retrying(o.signal, async () => {
      for (;;) {
        const s = await pollPairing(pending, o);
        if (s) return s;
      }
    });
    await acknowledgePairing(pending);
    return session;
  }

  function prepareRequest(session: DappSession, input: RequestInput): PreparedRequest {
    const ttl = input.ttl ?? REQUEST_TTL.default;
    const id = input.id ?? crypto.randomUUID();
    const expiresAt = nowSeconds() + ttl;
    const value = {
      method: input.method,
      params: input.params,
      origin: input.origin,
      chainId: input.chainId,
      expiresAt,
    };
    const sealed = sealMessage({
      key: session.sendKey,
      sessionId: session.sessionId,
      kind: "request",
      id,
      value,
    });
    return { id, sealed, ttl, expiresAt };
  }

  /** Posts a prepared request; repeating it is safe (the id is the idempotency key). */
  async function postRequest(
    session: DappSession,
    prepared: PreparedRequest,
  ): Promise<{ id: string; expiresAt: number }> {
    const { id, sealed, ttl } = prepared;
    const reply = await http.call({
      method: "POST",
      path: `${sessionPath(session)}/requests`,
      body: { id, sealed, ttl },
    });
    return { id, expiresAt: http.expectBody(reply, PostRequestResult).expiresAt };
  }

  async function sendRequest(session: DappSession, input: RequestInput, o: { signal?: AbortSignal } = {}) {
    const prepared = prepareRequest(session, input);
    return retrying(o.signal, () => postRequest(session, prepared));
  }

  /** One long-poll for a response: the decrypted response, or the delivery status so far. */
  async function pollResponse(session: DappSession, id: string, o: Wait = {}): Promise<ResponsePoll> {
    const wait = o.wait ?? WAIT.default;
    const reply = await http.call({
      method: "GET",
      path: `${sessionPath(session)}/requests/${enc(id)}/response`,
      query: { wait },
      wait,
      signal: o.signal,
    });
    if (reply.status === 204) {
      const header = reply.headers.get(REQUEST_STATUS_HEADER) ?? "queued";
      const status = (REQUEST_STATUSES as readonly string[]).includes(header)
        ? (header as RequestStatus)
        : "queued";
      return { status };
    }
    const { sealed } = http.expectBody(reply, ResponseAnswer);
    const key = session.receiveKey;
    const response = openMessage({
      key,
      sessionId: session.sessionId,
      kind: "response",
      id,
      sealed,
      schema: ResponsePayload,
    });
    return { response: response as ResponsePayload };
  }

  /** Acknowledges a response (the relay forgets request and response), or cancels an unanswered request. */
  async function deleteRequest(session: DappSession, id: string): Promise<void> {
    try {
      await http.call({ method: "DELETE", path: `${sessionPath(session)}/requests/${enc(id)}` });
    } catch (error) {
      if (!(error instanceof RelayError && (error.status === 404 || error.status === 410))) throw error;
    }
  }

  async function waitForResponse(
    session: DappSession,
    id: string,
    o: { signal?: AbortSignal; onStatus?: (status: RequestStatus) => void } = {},
  ): Promise<ResponsePayload> {
    let last: RequestStatus | undefined;
    const response = await retrying(o.signal, async () => {
      for (;;) {
        const poll = await pollResponse(session, id, o.signal ? { signal: o.signal } : {});
        if ("response" in poll) return poll.response;
        if (poll.status !== last) {
          last = poll.status;
          o.onStatus?.(last);
        }
      }
    });
    await deleteRequest(session, id);
    return response;
  }

  async function pollEvents(
    session: DappSession,
    o: Wait & { after?: number; lastN?: number } = {},
  ): Promise<EventsPoll> {
    const wait = o.wait ?? WAIT.default;
    const after = o.after ?? 0;
    const reply = await http.call({
      method: "GET",
      path: `${sessionPath(session)}/events`,
      query: { after, wait },
      wait,
      signal: o.signal,
    });
    const page = http.expectBody(reply, EventsPage);
    let lastN = o.lastN ?? 0;
    const events: ReceivedEvent[] = [];
    const rejected: EventsPoll["rejected"] = [];
    for (const { seq, id, sealed } of page.events) {
      try {
        const key = session.receiveKey;
        const event = openMessage({
          key,
          sessionId: session.sessionId,
          kind: "event",
          id,
          sealed,
          schema: EventPayload,
        });
        // `n` counts the wallet's events from 1: anything not above the last one is a replay or reordering.
        if (event.n <= lastN) {
          rejected.push({ seq, reason: `event n=${event.n} is not after ${lastN} (replayed or reordered)` });
          continue;
        }
        lastN = event.n;
        events.push({ seq, id, event });
      } catch (error) {
        rejected.push({ seq, reason: error instanceof Error ? error.message : String(error) });
      }
    }
    return { events, next: Math.max(page.next, after), lastN, rejected };
  }

  /** Ends the session for both sides; already gone counts as done. */
  async function endSession(session: Pick<DappSession, "sessionId">): Promise<void> {
    try {
      await http.call({ method: "DELETE", path: sessionPath(session) });
    } catch (error) {
      if (!(error instanceof RelayError && error.status === 404)) throw error;
    }
  }

  return {
    relayUrl: http.relayUrl,
    createPairing,
    pollPairing,
    acknowledgePairing,
    waitForPairing,
    prepareRequest,
    postRequest,
    sendRequest,
    pollResponse,
    deleteRequest,
    cancelRequest: deleteRequest,
    waitForResponse,
    pollEvents,
    endSession,
  };
}

export type DappClient = ReturnType<typeof createDappClient>;
