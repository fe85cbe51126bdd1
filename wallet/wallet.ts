/**
 * The reference wallet: pairs with a dapp from its pairing URI, then serves its requests.
 *
 * Delivery: the relay pushes `{sessionId, requestId}` to the wallet's webhook, late, twice or never; so
 * `serve` runs the webhook receiver AND a long-poll pull loop per session, and takes each request id
 * once (in memory while running, in the state file across restarts).
 *
 * Per request: open and validate (done by the protocol client) → refuse if expired → describe →
 * check (params, account, chain) → approve → execute → respond. Requests are handled one at a time, in
 * arrival order, so prompts never interleave and transactions get consecutive nonces.
 *
 * Crash safety: the state records `executing` before anything is signed or broadcast and the response
 * before it is sent, so a restarted wallet re-sends a response it had but never executes a request twice
 * (an interrupted one is answered with an error telling the dapp to check the chain).
 */
import type { LocalAccount } from "viem";
import { EnvelopeError } from "../protocol/envelope.ts";
import {
  InternalRpcError,
  InvalidRequestRpcError,
  RelayError,
  toProviderError,
  UserRejectedRequestError,
} from "../protocol/errors.ts";
import {
  isPairingUriExpired,
  type PairingUri,
  PairingUriError,
  parsePairingUri,
} from "../protocol/pairingUri.ts";
import { retrying, sleep } from "../protocol/relayHttp.ts";

import { describeIssues, PushTarget, type ResponsePayload } from "../protocol/schemas.ts";
import {
  createWalletClient,
  responseOutcome,
  type WalletClient,
  type WalletEvent,
  type WalletRequest,
  type WalletSession,
} from "../protocol/walletClient.ts";
import type { Approver } from "./approval.ts";
import { type ChainRegistry, sameChainId, toChainIdHex } from "./chains.ts";
import { describeRequest, formatDescription, printable, type RequestDescription } from "./describe.ts";
import { createHandlers, type Handlers } from "./handlers.ts";
import type { SessionRecord, StateStore } from "./state.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./webhook.ts";

export type WalletLogger = {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
};

export const silentLogger: WalletLogger = { info() {}, warn() {}, error() {} };

export type Delivery = "push" | "pull" | "recovery";

export type RequestDecision =
  /** Approved and executed (the response may still be an error, e.g. the node refused the tx). */
  | "approved"
  /** Declined by the approval step: 4001. */
  | "declined"
  /** Answered without approval (eth_chainId, eth_accounts, …). */
  | "local"
  /** Refused by the checks before approval (unsupported method, wrong account, unknown chain…). */
  | "refused"
  /** Past its expiry: not acted on, not answered. */
  | "expired"
  /** Cancelled by the dapp before the wallet answered. */
  | "cancelled"
  /** Did not open or validate: answered with -32600. */
  | "invalid"
  /** Found `executing` after a restart: answered with an error, not re-executed. */
  | "interrupted";

export type RequestOutcome = {
  sessionId: string;
  id: string;
  via: Delivery;
  method?: string;
  origin?: string;
  description?: RequestDescription;
  decision: RequestDecision;
  response?: ResponsePayload;
  /** True once the relay accepted the response. */
  delivered: boolean;
};

export type PairResult = {
  sessionId: string;
  matchCode: string;
  relayUrl: string;
  accounts: string[];
  chainId: string;
  push: PushTarget | undefined;
};

export type SessionSummary = {
  sessionId: string;
  relayUrl: string;
  matchCode: string;
  pairedAt: number;
  chainId: string;
  accounts: string[];
  eventCount: number;
  pushUrl: string | undefined;
};

export type WalletStatus = {
  statePath: string;
  deviceId: string;
  account: string | undefined;
  chains: { chainId: string; rpcUrl: string | undefined }[];
  sessions: SessionSummary[];
};

export type ServeOptions = {
  /** Start the webhook receiver on this port (0: any free port). No receiver when undefined. */
  webhookPort?: number | undefined;
  /** Address the receiver binds (default 127.0.0.1). */
  webhookHost?: string | undefined;
  /** Run the pull long-poll loop (default true). */
  pull?: boolean;
  /** Seconds each pull long-poll may wait at the relay (default 25, at most 30). */
  pullWait?: number;
  signal?: AbortSignal;
};

export type ServeHandle = {
  /** The receiver's URL (e.g. http://127.0.0.1:8645/), when one runs. */
  webhookUrl: string | undefined;
  /** Resolves once everything has stopped. */
  done: Promise<void>;
  stop(): Promise<void>;
};

export type WalletOptions = {
  state: StateStore;
  /** Needed to pair and to serve; `status` and `disconnect` work without it. */
  signer?: LocalAccount | undefined;
  chains?: ChainRegistry | undefined;
  approve?: Approver | undefined;
  client?: WalletClient;
  logger?: WalletLogger;
  /** Shown to the dapp at pairing. */
  walletInfo?: { name: string; icon?: string };
  /** Relay base URLs this wallet will pair with; any when empty or undefined. */
  allowedRelays?: string[] | undefined;
  /** Called after each request is handled (tests, UIs). */
  onRequest?: (outcome: RequestOutcome) => void;
};

export class WalletError extends Error {
  override name = "WalletError";
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A Push API subscription as `PushSubscription.toJSON()` gives it (endpoint, keys.p256dh, keys.auth). */
function parseWebPushSubscription(input: string | object): PushTarget {
  let value: unknown = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input);
    } catch {
      throw new WalletError("bad_push", "--webpush-subscription is not JSON (PushSubscription.toJSON())");
    }
  }
  const parsed = PushTarget.safeParse({ type: "webpush", subscription: value });
  if (!parsed.success) {
    throw new WalletError(
      "bad_push",
      `--webpush-subscription is not a Push API subscription: ${describeIssues(parsed.error).message}`,
    );
  }
  return parsed.data;
}
const short = (id: string) => id.slice(0, 8);
const SESSION_SYNC_MS = 1_000;
const CANCEL_CHECK_MS = 3_000;

export function createWallet(options: WalletOptions) {
  const { state } = options;
  const client = options.client ?? createWalletClient();
  const log = options.logger ?? silentLogger;
  const walletInfo = options.walletInfo ?? { name: "Balance Bridge reference wallet" };

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new WalletError("not_configured", `this command needs ${what}`);
    return value;
  };
  let handlers: Handlers | undefined;
  const getHandlers = () => {
    handlers ??= createHandlers({
      signer: need(options.signer, "an account"),
      chains: need(options.chains, "a chain"),
    });
    return handlers;
  };

  // ── Pairing ─────────────────────────────────────────────────────────────────────────────────────

  async function pair(
    uriOrText: string | PairingUri,
    o: {
      webhookUrl?: string | undefined;
      /** A W3C Push API subscription (JSON text or object): the relay notifies it by Web Push. */
      webPushSubscription?: string | object | undefined;
    } = {},
  ): Promise<PairResult> {
    const uri = typeof uriOrText === "string" ? parsePairingUri(uriOrText) : uriOrText;
    if (isPairingUriExpired(uri)) {
      throw new PairingUriError(
        "exp",
        `this pairing code expired at ${new Date(uri.expiresAt * 1000).toISOString()}; ask the dapp for a new one`,
      );
    }
    const allowed = (options.allowedRelays ?? []).map((u) => u.replace(/\/+$/, ""));
    if (allowed.length > 0 && !allowed.includes(uri.relayUrl)) {
      throw new WalletError(
        "unknown_relay",
        `the pairing code points at relay ${uri.relayUrl}, which is not in this wallet's allowed relays (${allowed.join(", ")})`,
      );
    }
    const signer = need(options.signer, "an account (BB_WALLET_PRIVATE_KEY or BB_WALLET_MNEMONIC)");
    const chains = need(options.chains, "a chain (--rpc <url> or --chain-id <id>)");
    const accounts = [signer.address];
    const chainId = chains.defaultChainId;
    let push: PushTarget | undefined;
    if (o.webhookUrl) {
      let url: URL;
      try {
        url = new URL(o.webhookUrl);
      } catch {
        throw new WalletError("bad_webhook_url", `--webhook-url "${o.webhookUrl}" is not a URL`);
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new WalletError("bad_webhook_url", `--webhook-url must be http(s), got ${url.protocol}`);
      }
      push = { type: "webhook", url: url.href };
    }
    if (o.webPushSubscription !== undefined) {
      if (push) {
        throw new WalletError("bad_push", "choose one push target: --webhook-url or --webpush-subscription");
      }
      push = parseWebPushSubscription(o.webPushSubscription);
    }
    const deviceId = state.read().deviceId;
    let session: WalletSession;
    try {
      session = await client.answerPairing({
        uri,
        deviceId,
        accounts,
        chainId,
        // The RPC URLs go to the dapp side (sealed) so it answers read-only calls without asking the phone.
        chains: chains
          .list()
          .map((c) => (c.rpcUrl ? { chainId: c.chainId, rpcUrl: c.rpcUrl } : { chainId: c.chainId })),
        wallet: walletInfo,
        ...(push ? { push } : {}),
      });
    } catch (error) {
      throw pairingFailure(error, uri.relayUrl);
    }
    const record: SessionRecord = {
      session,
      accounts,
      chainId,
      eventCount: 0,
      ...(push ? { pushUrl: push.type === "webhook" ? push.url : "webpush" } : {}),
    };
    state.update((draft) => {
      draft.sessions[session.sessionId] = record;
    });
    for (const listener of pairedListeners) listener(session.sessionId);
    log.info(
      `paired: session ${short(session.sessionId)} on ${session.relayUrl}, match code ${session.matchCode}`,
    );
    return {
      sessionId: session.sessionId,
      matchCode: session.matchCode,
      relayUrl: session.relayUrl,
      accounts,
      chainId,
      push,
    };
  }

  function pairingFailure(error: unknown, relayUrl: string): Error {
    if (error instanceof PairingUriError) return error;
    if (!(error instanceof RelayError)) {
      const message = error instanceof Error ? error.message : String(error);
      // noble refuses a low-order point (e.g. all zeros): the URI's key cannot be a real dapp key.
      if (/public key/i.test(message)) {
        return new PairingUriError("key", "the key is not a usable X25519 public key");
      }
      return new WalletError("pairing_failed", `cannot answer this pairing code: ${message}`);
    }
    const messages: Record<string, string> = {
      network_error: `cannot reach the relay ${relayUrl} (${error.message}); check the pairing code's relay and your network`,
      bad_reply: `${relayUrl} does not answer like a Balance Bridge relay (${error.message})`,
      route_not_found: `${relayUrl} does not answer like a Balance Bridge relay (no pairing route)`,
      pairing_not_found: `the relay ${relayUrl} does not know this pairing code: it was never created there, or the dapp already finished with it`,
      pairing_expired: "this pairing code has expired at the relay; ask the dapp for a new one",
      pairing_answered: "this pairing code was already used by a wallet; ask the dapp for a new one",
      push_target_refused: `the relay refused the push target (${error.message}); pair without it, or use one the relay allows`,
    };
    const message = messages[error.code] ?? `the relay refused the pairing: ${error.message} (${error.code})`;
    return new WalletError(error.code, message);
  }

  // ── Sessions, status, events, disconnect ───────────────────────────────────────────────────────

  function sessionRecords(): SessionRecord[] {
    return Object.values(state.read().sessions);
  }

  function findSessions(sessionId?: string): SessionRecord[] {
    const all = sessionRecords();
    if (sessionId === undefined) return all;
    const exact = all.filter((r) => r.session.sessionId === sessionId);
    if (exact.length) return exact;
    const prefixed = all.filter((r) => r.session.sessionId.startsWith(sessionId));
    if (prefixed.length === 1) return prefixed;
    if (prefixed.length > 1)
      throw new WalletError("ambiguous_session", `"${sessionId}" matches several sessions`);
    throw new WalletError("unknown_session", `no session ${sessionId} in ${state.path}`);
  }

  function status(): WalletStatus {
    const data = state.read();
    return {
      statePath: state.path,
      deviceId: data.deviceId,
      account: options.signer?.address,
      chains: (options.chains?.list() ?? []).map((c) => ({ chainId: c.chainId, rpcUrl: c.rpcUrl })),
      sessions: Object.values(data.sessions).map((r) => ({
        sessionId: r.session.sessionId,
        relayUrl: r.session.relayUrl,
        matchCode: r.session.matchCode,
        pairedAt: r.session.pairedAt,
        chainId: r.chainId,
        accounts: r.accounts,
        eventCount: r.eventCount,
        pushUrl: r.pushUrl,
      })),
    };
  }

  /** `serve` starts pulling a session paired in this process at once (others within a second). */
  const pairedListeners = new Set<(sessionId: string) => void>();
  /** Stops serving a session that no longer exists at the relay. */
  const goneListeners = new Set<(sessionId: string) => void>();
  function forgetSession(sessionId: string, why: string) {
    const existed = state.update((draft) => {
      const had = Boolean(draft.sessions[sessionId]);
      delete draft.sessions[sessionId];
      return had;
    });
    if (existed) log.warn(`session ${short(sessionId)} ended: ${why}`);
    for (const listener of goneListeners) listener(sessionId);
  }

  /**
   * Sends one event on one session. `n` is taken (and saved) before sending, so a crash can skip a
   * number but never reuse one (the dapp refuses an `n` it has seen).
   */
  async function sendEvent(sessionId: string, event: WalletEvent): Promise<{ seq: number; n: number }> {
    const { n, session } = state.update((draft) => {
      const record = draft.sessions[sessionId];
      if (!record) throw new WalletError("unknown_session", `no session ${sessionId}`);
      record.eventCount += 1;
      if (event.type === "accountsChanged") record.accounts = [...event.data];
      if (event.type === "chainChanged") record.chainId = event.data;
      return { n: record.eventCount, session: record.session };
    });
    try {
      const { seq } = await client.sendEvent(session, event, n);
      log.info(`event ${event.type} #${n} sent on session ${short(sessionId)} (seq ${seq})`);
      return { seq, n };
    } catch (error) {
      if (error instanceof RelayError && error.code === "session_not_found") {
        forgetSession(sessionId, "the relay no longer knows it (the dapp disconnected)");
      }
      throw error;
    }
  }

  async function emitAccountsChanged(accounts: string[], sessionId?: string) {
    const results = [];
    for (const record of findSessions(sessionId)) {
      results.push({
        sessionId: record.session.sessionId,
        ...(await sendEvent(record.session.sessionId, { type: "accountsChanged", data: accounts })),
      });
    }
    return results;
  }

  async function emitChainChanged(chainId: string | number, sessionId?: string) {
    const id = toChainIdHex(chainId);
    if (options.chains && !options.chains.get(id)) {
      throw new WalletError("unknown_chain", `chain ${id} is not configured in this wallet`);
    }
    const results = [];
    for (const record of findSessions(sessionId)) {
      results.push({
        sessionId: record.session.sessionId,
        ...(await sendEvent(record.session.sessionId, { type: "chainChanged", data: id })),
      });
    }
    return results;
  }

  /** Tells the dapp (a `disconnect` event), ends the session at the relay, and forgets it. */
  async function disconnect(sessionId?: string, reason = "The wallet disconnected.") {
    const ended: string[] = [];
    for (const record of findSessions(sessionId)) {
      const sid = record.session.sessionId;
      try {
        await sendEvent(sid, { type: "disconnect", data: { reason } });
      } catch (error) {
        log.warn(`session ${short(sid)}: could not send the disconnect event (${(error as Error).message})`);
      }
      try {
        await client.endSession(record.session);
      } catch (error) {
        log.warn(`session ${short(sid)}: the relay did not confirm the end (${(error as Error).message})`);
      }
      state.update((draft) => {
        delete draft.sessions[sid];
      });
      for (const listener of goneListeners) listener(sid);
      log.info(`disconnected session ${short(sid)} (${record.session.relayUrl})`);
      ended.push(sid);
    }
    return ended;
  }

  // ── Serving requests ───────────────────────────────────────────────────────────────────────────

  async function serve(o: ServeOptions = {}): Promise<ServeHandle> {
    const signer = need(options.signer, "an account (BB_WALLET_PRIVATE_KEY or BB_WALLET_MNEMONIC)");
    const chains = need(options.chains, "a chain (--rpc <url> or --chain-id <id>)");
    const approver = need(options.approve, "an approval mode");
    const handlers = getHandlers();
    const stopper = new AbortController();
    const stopSignal = o.signal ? AbortSignal.any([o.signal, stopper.signal]) : stopper.signal;
    const pullWait = o.pullWait ?? 25;

    /** Request ids taken in this run → when they can be forgotten (unix seconds). */
    const taken = new Map<string, number>();
    let queue: Promise<void> = Promise.resolve();
    /** Woken each time a queued task finishes (the pull loops wait on it instead of spinning). */
    let progressWaiters: (() => void)[] = [];
    const progressed = () => {
      const waiters = progressWaiters;
      progressWaiters = [];
      for (const wake of waiters) wake();
    };
    const nextProgress = (ms: number, signal: AbortSignal) =>
      new Promise<void>((resolveWait) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          resolveWait();
        };
        const timer = setTimeout(done, ms);
        signal.addEventListener("abort", done, { once: true });
        progressWaiters.push(done);
      });
    const enqueue = (task: () => Promise<void>) => {
      const next = queue
        .then(task)
        .catch((error) => log.error(`internal error: ${(error as Error).stack ?? error}`))
        .finally(progressed);
      queue = next;
      return next;
    };
    const take = (id: string, expiresAt: number) => {
      if (taken.has(id)) return false;
      taken.set(id, expiresAt);
      return true;
    };

    const report = (outcome: RequestOutcome) => {
      try {
        options.onRequest?.(outcome);
      } catch (error) {
        log.error(`onRequest hook failed: ${(error as Error).message}`);
      }
    };

    const markProcessed = (
      sessionId: string,
      id: string,
      expiresAt: number,
      status: "executing" | "responding" | "done",
      response?: ResponsePayload,
    ) => {
      state.update((draft) => {
        if (!draft.sessions[sessionId]) return;
        draft.processed[id] = {
          sessionId,
          expiresAt,
          status,
          updatedAt: nowSeconds(),
          ...(response ? { response } : {}),
        };
      });
    };

    /**
     * Sends the response, retrying transient failures. "delivered": the relay has it (or already had an
     * answer); "gone": the relay will never take it (cancelled, expired, session ended); "failed": the relay
     * could not be reached: the response stays saved and is sent again by the next pull or run.
     */
    const deliver = async (
      session: WalletSession,
      request: { id: string; expiresAt: number },
      response: ResponsePayload,
    ): Promise<"delivered" | "gone" | "failed"> => {
      try {
        // The outcome label lets the relay operator count approvals and rejections (metadata only).
        const outcome = responseOutcome(response);
        await retrying(stopSignal, () =>
          client.respond(session, request, response, { signal: stopSignal, outcome }),
        );
        return "delivered";
      } catch (error) {
        if (error instanceof RelayError && error.status >= 400 && error.status < 500) {
          const why: Record<string, string> = {
            request_answered: "the request was already answered",
            request_cancelled: "the dapp cancelled the request",
            request_expired: "the request expired before the response reached the relay",
            request_not_found: "the relay no longer has the request",
          };
          if (error.code === "session_not_found") {
            forgetSession(session.sessionId, "the relay no longer knows it (the dapp disconnected)");
          } else if (error.code !== "request_answered") {
            log.warn(`  response not delivered: ${why[error.code] ?? printable(error.message, 300)}`);
          }
          return error.code === "request_answered" ? "delivered" : "gone";
        }
        if (!stopSignal.aborted) {
          log.warn(`  response not delivered yet (${printable((error as Error).message, 300)}); will retry`);
        }
        return "failed";
      }
    };

    /** Saves the response, sends it, and records the request done unless it must be sent again later. */
    const finish = async (
      session: WalletSession,
      request: { id: string; expiresAt: number },
      response: ResponsePayload,
    ): Promise<boolean> => {
      const sessionId = session.sessionId;
      markProcessed(sessionId, request.id, request.expiresAt, "responding", response);
      const result = await deliver(session, request, response);
      if (result === "failed") {
        taken.delete(request.id); // the pull loop brings it back; `handle` then re-sends the saved response
        return false;
      }
      markProcessed(sessionId, request.id, request.expiresAt, "done");
      return result === "delivered";
    };

    const logResponse = (response: ResponsePayload) => {
      if ("result" in response) log.info(`  result    ${JSON.stringify(response.result)}`);
      else log.info(`  error     ${response.error.code} ${response.error.message}`);
    };

    /** The life of one request, from its decrypted payload to the delivered response. */
    const handle = async (sessionId: string, request: WalletRequest, via: Delivery) => {
      const record = state.read().sessions[sessionId];
      if (!record) return;
      const { id, payload } = request;
      const base = { sessionId, id, via, method: payload.method, origin: payload.origin };
      const previous = state.read().processed[id];
      if (previous) {
        if (previous.status === "done") return;
        return recover(record, id, previous.expiresAt, previous.response, via);
      }
      log.info(`\nrequest ${short(id)} on session ${short(sessionId)} (via ${via})`);
      if (request.expiresAt <= nowSeconds()) {
        log.info(
          `  ${printable(payload.method, 200)} from ${printable(payload.origin, 300)}\n  decision  refused: expired at ${new Date(request.expiresAt * 1000).toISOString()}`,
        );
        markProcessed(sessionId, id, request.expiresAt, "done");
        return report({ ...base, decision: "expired", delivered: false });
      }
      const ctx = { accounts: record.accounts, chainId: record.chainId };
      const description = describeRequest(payload, {
        account: signer.address,
        chainId: record.chainId,
        chains,
      });
      log.info(formatDescription(description));

      let decision: RequestDecision = "refused";
      let response: ResponsePayload | undefined;
      let prepared: ReturnType<Handlers["prepare"]> | undefined;
      try {
        prepared = handlers.prepare(payload, ctx);
      } catch (error) {
        response = { error: toProviderError(error).toJSON() };
        decision = "refused";
      }
      if (prepared?.kind === "local") {
        response = { result: prepared.outcome.result };
        decision = "local";
      } else if (prepared?.kind === "approve") {
        // Ask, but withdraw the question when the request expires, the dapp cancels it, or we stop.
        const withdraw = new AbortController();
        const expiry = setTimeout(
          () => withdraw.abort("request expired"),
          Math.max(0, request.expiresAt * 1000 - Date.now()),
        );
        const cancelCheck = setInterval(() => {
          client.getRequest(record.session, id).catch((error) => {
            if (error instanceof RelayError && (error.status === 410 || error.status === 404)) {
              withdraw.abort(error.code === "request_expired" ? "request expired" : "cancelled by the dapp");
            }
          });
        }, CANCEL_CHECK_MS);
        let verdict: { approved: boolean; reason: string };
        try {
          verdict = await approver.decide(description, {
            signal: AbortSignal.any([withdraw.signal, stopSignal]),
          });
        } finally {
          clearTimeout(expiry);
          clearInterval(cancelCheck);
        }
        if (stopSignal.aborted) {
          taken.delete(id); // left pending at the relay for the next run
          return;
        }
        if (withdraw.signal.aborted || request.expiresAt <= nowSeconds()) {
          const why = withdraw.signal.aborted ? String(withdraw.signal.reason) : "request expired";
          log.info(`  decision  withdrawn: ${why}`);
          markProcessed(sessionId, id, request.expiresAt, "done");
          return report({
            ...base,
            description,
            decision: why.includes("cancel") ? "cancelled" : "expired",
            delivered: false,
          });
        }
        log.info(`  decision  ${verdict.reason}`);
        if (!verdict.approved) {
          response = { error: new UserRejectedRequestError().toJSON() };
          decision = "declined";
        } else {
          if (prepared.sideEffects) {
            // Last look before broadcasting: the dapp may have cancelled while we were asking.
            try {
              await client.getRequest(record.session, id);
            } catch (error) {
              if (error instanceof RelayError && (error.status === 410 || error.status === 404)) {
                log.info(
                  `  not executed: ${error.code === "request_expired" ? "the request expired" : "the dapp cancelled it"}`,
                );
                markProcessed(sessionId, id, request.expiresAt, "done");
                return report({
                  ...base,
                  description,
                  decision: error.code === "request_expired" ? "expired" : "cancelled",
                  delivered: false,
                });
              }
              // The relay being briefly unreachable is no reason to refuse: carry on.
            }
          }
          markProcessed(sessionId, id, request.expiresAt, "executing");
          decision = "approved";
          try {
            const outcome = await prepared.run();
            response = { result: outcome.result };
            if (outcome.chainChanged && !sameChainId(outcome.chainChanged, record.chainId)) {
              try {
                await sendEvent(sessionId, { type: "chainChanged", data: outcome.chainChanged });
              } catch (error) {
                log.warn(`  chainChanged event not sent: ${(error as Error).message}`);
              }
            }
          } catch (error) {
            response = { error: toProviderError(error).toJSON() };
          }
        }
      }
      const finalResponse: ResponsePayload = response ?? {
        error: new InternalRpcError("The wallet produced no response.").toJSON(),
      };
      logResponse(finalResponse);
      const delivered = await finish(record.session, request, finalResponse);
      report({ ...base, description, decision, response: finalResponse, delivered });
    };

    /** A request this wallet took on in an earlier run: re-send its response, never re-execute it. */
    const recover = async (
      record: SessionRecord,
      id: string,
      expiresAt: number,
      saved: ResponsePayload | undefined,
      via: Delivery,
    ) => {
      const sessionId = record.session.sessionId;
      const response: ResponsePayload = saved ?? {
        error: new InternalRpcError(
          "The wallet stopped while executing this request and did not retry it; check the account's history before sending it again.",
        ).toJSON(),
      };
      log.info(
        `\nrequest ${short(id)} on session ${short(sessionId)}: ${saved ? "re-sending the response saved before a restart" : "interrupted by a restart; answering with an error"}`,
      );
      logResponse(response);
      const delivered = await finish(record.session, { id, expiresAt }, response);
      report({ sessionId, id, via, decision: saved ? "approved" : "interrupted", response, delivered });
    };

    /** A request that did not open or validate: say so to the dapp rather than leave it hanging. */
    const refuseInvalid = async (record: SessionRecord, id: string, reason: string, via: Delivery) => {
      const sessionId = record.session.sessionId;
      log.warn(
        `\nrequest ${short(id)} on session ${short(sessionId)} (via ${via}) is invalid: ${printable(reason, 300)}`,
      );
      const response: ResponsePayload = {
        error: new InvalidRequestRpcError(
          `The wallet could not open or read this request: ${reason}`,
        ).toJSON(),
      };
      const delivered = await finish(record.session, { id, expiresAt: nowSeconds() + 3600 }, response);
      report({ sessionId, id, via, decision: "invalid", response, delivered });
    };

    /** The push path: fetch the request named by a webhook, then handle it. */
    const fetchAndHandle = async (sessionId: string, id: string) => {
      const record = state.read().sessions[sessionId];
      if (!record) return;
      let request: WalletRequest;
      try {
        request = await retrying(stopSignal, () => client.getRequest(record.session, id));
      } catch (error) {
        if (error instanceof EnvelopeError) return refuseInvalid(record, id, error.message, "push");
        if (error instanceof RelayError) {
          if (error.code === "session_not_found") {
            return forgetSession(sessionId, "the relay no longer knows it (the dapp disconnected)");
          }
          if (error.status === 410 || error.status === 404) {
            log.info(
              `\nrequest ${short(id)} (via push): ${printable(error.code, 60).replaceAll("_", " ")}; nothing to do`,
            );
            return;
          }
        }
        taken.delete(id); // transient: let the pull loop (or a repeated push) pick it up
        if (!stopSignal.aborted)
          log.warn(`request ${short(id)} (via push): could not fetch it (${(error as Error).message})`);
        return;
      }
      await handle(sessionId, request, "push");
    };

    // Webhook receiver (push): unknown sessions are ignored quietly; each request id is taken once.
    let receiver: WebhookReceiver | undefined;
    if (o.webhookPort !== undefined) {
      receiver = await startWebhookReceiver({
        port: o.webhookPort,
        host: o.webhookHost,
        onPush: ({ sessionId, requestId }) => {
          if (!state.read().sessions[sessionId]) return;
          if (!take(requestId, nowSeconds() + 3600)) return;
          void enqueue(() => fetchAndHandle(sessionId, requestId));
        },
      });
      log.info(`webhook receiver listening on ${receiver.url}`);
    }

    // Pull loops, one per session; sessions paired or removed meanwhile are picked up by the sync timer.
    const loops = new Map<string, { abort: AbortController; done: Promise<void> }>();
    const pullLoop = async (sessionId: string, signal: AbortSignal) => {
      let failures = 0;
      // The first pull does not wait: it returns every pending request at once, including ones fetched
      // before a restart (the relay holds a waiting pull until a request it has not handed out arrives).
      let wait = 0;
      while (!signal.aborted) {
        const record = state.read().sessions[sessionId];
        if (!record) return;
        try {
          const { requests, rejected } = await client.pullRequests(record.session, { wait, signal });
          wait = pullWait;
          if (failures > 0) log.info(`relay ${record.session.relayUrl} reachable again`);
          failures = 0;
          let fresh = 0;
          for (const r of requests) {
            if (!take(r.id, r.expiresAt)) continue;
            fresh++;
            void enqueue(() => handle(sessionId, r, "pull"));
          }
          for (const r of rejected) {
            if (!take(r.id, nowSeconds() + 3600)) continue;
            fresh++;
            void enqueue(() => refuseInvalid(record, r.id, r.reason, "pull"));
          }
          // The relay lists requests until they are answered, so an answer (after `wait` ran out, or the
          // first pull) can hold only ones we are still handling: wait for progress rather than spin.
          if (fresh === 0 && requests.length + rejected.length > 0) await nextProgress(5_000, signal);
        } catch (error) {
          if (signal.aborted) return;
          if (error instanceof RelayError && error.code === "session_not_found") {
            return forgetSession(sessionId, "the relay no longer knows it (the dapp disconnected)");
          }
          failures++;
          if (failures === 1 || failures % 10 === 0) {
            log.warn(`pull from ${record.session.relayUrl} failed (${(error as Error).message}); retrying`);
          }
          const delay =
            error instanceof RelayError && error.retryAfter
              ? error.retryAfter * 1000
              : Math.min(15_000, 500 * 2 ** failures);
          await sleep(delay, signal).catch(() => undefined);
        }
      }
    };
    const stopLoop = (sessionId: string) => {
      loops.get(sessionId)?.abort.abort();
      loops.delete(sessionId);
    };
    const syncSessions = () => {
      const current = state.read().sessions;
      if (o.pull !== false) {
        for (const sessionId of Object.keys(current)) {
          if (loops.has(sessionId)) continue;
          const abort = new AbortController();
          const signal = AbortSignal.any([abort.signal, stopSignal]);
          loops.set(sessionId, { abort, done: pullLoop(sessionId, signal).catch(() => undefined) });
        }
      }
      for (const sessionId of loops.keys()) if (!current[sessionId]) stopLoop(sessionId);
      const now = nowSeconds();
      for (const [id, until] of taken) if (until + 600 < now) taken.delete(id);
    };
    const onGone = (sessionId: string) => stopLoop(sessionId);
    goneListeners.add(onGone);
    pairedListeners.add(syncSessions);

    // Requests a previous run took on but did not finish.
    const data = state.read();
    for (const [id, entry] of Object.entries(data.processed)) {
      const record = data.sessions[entry.sessionId];
      if (!record || entry.status === "done") continue;
      take(id, entry.expiresAt);
      void enqueue(() => recover(record, id, entry.expiresAt, entry.response, "recovery"));
    }
    // A session paired with another account (the wallet restarted with another key): tell the dapp.
    for (const record of Object.values(data.sessions)) {
      const accounts = [signer.address];
      if (
        record.accounts.length !== 1 ||
        record.accounts[0]?.toLowerCase() !== signer.address.toLowerCase()
      ) {
        void enqueue(async () => {
          try {
            await sendEvent(record.session.sessionId, { type: "accountsChanged", data: accounts });
          } catch (error) {
            log.warn(
              `session ${short(record.session.sessionId)}: accountsChanged not sent (${(error as Error).message})`,
            );
          }
        });
      }
    }
    syncSessions();
    const syncTimer = setInterval(() => {
      try {
        syncSessions();
      } catch (error) {
        log.error(`cannot read the state: ${(error as Error).message}`);
      }
    }, SESSION_SYNC_MS);
    const sessionCount = Object.keys(data.sessions).length;
    log.info(
      `serving ${sessionCount} session(s) as ${signer.address} (approval: ${approver.mode}${o.pull === false ? ", push only" : ""})`,
    );

    const done = new Promise<void>((resolveDone) => {
      const shutdown = async () => {
        clearInterval(syncTimer);
        goneListeners.delete(onGone);
        pairedListeners.delete(syncSessions);
        for (const sessionId of [...loops.keys()]) stopLoop(sessionId);
        await receiver?.close();
        await queue;
        resolveDone();
      };
      if (stopSignal.aborted) void shutdown();
      else stopSignal.addEventListener("abort", () => void shutdown(), { once: true });
    });

    return {
      webhookUrl: receiver?.url,
      done,
      async stop() {
        stopper.abort("stopped");
        await done;
      },
    };
  }

  return {
    pair,
    serve,
    status,
    disconnect,
    emitAccountsChanged,
    emitChainChanged,
    sendEvent,
    /** The state store this wallet uses. */
    state,
  };
}

export type Wallet = ReturnType<typeof createWallet>;
