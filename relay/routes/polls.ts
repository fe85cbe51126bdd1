/**
 * The four long-poll GETs of the protocol's routes (http/apiRouter.ts):
 *
 *   GET /v1/pairings/:token?wait=                          (extension waits for the wallet's answer)
 *   GET /v1/sessions/:sessionId/requests?wait=             (wallet's pull path)
 *   GET /v1/sessions/:sessionId/requests/:id/response?wait= (extension waits for the response)
 *   GET /v1/sessions/:sessionId/events?after=&wait=        (extension waits for wallet events)
 *
 * Each validates its parameters, then holds the poll (longPoll.ts) and answers. What each reads and
 * how it answers is one `PollKind`, made once: an idle poll holds only its parameters (`arg`), not a
 * promise chain or closures of its own (docs/BENCHMARKS.md, "Idle long-polls"). Errors are thrown as
 * relay errors for the router's error answer (`ApiDone.fail`).
 */
import type { ServerResponse } from "node:http";
import { REQUEST_STATUS_HEADER } from "../../protocol/constants.ts";
import { SessionId, Token, UuidV4 } from "../../protocol/schemas.ts";
import type { ApiCall, ApiDone } from "../http/apiRouter.ts";
import { failure } from "../http/errors.ts";
import { sendEmpty, sendJson } from "../http/respond.ts";
import { parseAfter, parseParam, parseWait } from "../http/validate.ts";
import type { LongPoll, PollKind } from "../longPoll.ts";
import {
  type FetchPendingOutcome,
  type ReadEventsOutcome,
  type ReadPairingOutcome,
  type ReadResponseOutcome,
  type Store,
  watchKeys,
} from "../store/types.ts";

/** Query values as Express's "simple" parser gives them: a string, or an array when repeated. */
export type PollQuery = Readonly<Record<string, unknown>>;
/** Validates the call and holds the poll; `done` hears when it is over. */
export type PollHandler = (call: ApiCall, done: ApiDone) => void;
export type PollHandlers = {
  pairing: PollHandler;
  pending: PollHandler;
  response: PollHandler;
  events: PollHandler;
};

type RequestArg = { sessionId: string; id: string };
type EventsArg = { sessionId: string; after: number };

export function createPollHandlers(deps: {
  store: Store;
  longPoll: LongPoll;
  /** Sets the common answer headers (CORS, caching) just before answering. */
  decorate(res: ServerResponse): void;
  maxWait: number;
  eventMax: number;
  /** Requests handed to the wallet for the first time by the pull path (statistics). */
  onFetched?: (n: number) => void;
}): PollHandlers {
  const { store, longPoll, decorate, maxWait, eventMax } = deps;

  const pairing: PollKind<string, ReadPairingOutcome> = {
    read: (token) => store.readPairing(token),
    woken: (state) => (state.kind === "pairing" ? state.outcome : undefined),
    ready: (r) => !r.ok || r.answer !== undefined,
    answer(res, out) {
      if (!out.ok) throw failure(out);
      decorate(res);
      if (!out.answer) return sendEmpty(res, 204);
      const { deviceId, sessionId, sealed } = out.answer;
      sendJson(res, 200, { deviceId, sessionId, sealed });
    },
  };
  const pending: PollKind<string, FetchPendingOutcome> = {
    read: (sessionId) => store.fetchPending(sessionId),
    // Hold while every pending request was already fetched: a wallet still deciding on one must not be
    // answered at once in a loop. The answer lists every pending request all the same.
    ready: (r) => !r.ok || r.fresh > 0,
    answer(res, out) {
      if (!out.ok) throw failure(out);
      if (out.fresh > 0) deps.onFetched?.(out.fresh);
      decorate(res);
      sendJson(res, 200, { requests: out.requests });
    },
  };
  const response: PollKind<RequestArg, ReadResponseOutcome> = {
    read: (a) => store.readResponse(a.sessionId, a.id),
    woken: (state) => (state.kind === "response" ? state.outcome : undefined),
    ready: (r) => !r.ok || r.sealed !== undefined,
    answer(res, out) {
      if (!out.ok) throw failure(out);
      decorate(res);
      if (out.sealed !== undefined) return sendJson(res, 200, { sealed: out.sealed });
      // No response yet: a delivery receipt for the popup, in a header because a 204 has no body.
      res.setHeader(REQUEST_STATUS_HEADER, out.status);
      sendEmpty(res, 204);
    },
  };
  const events: PollKind<EventsArg, ReadEventsOutcome> = {
    read: (a) => store.readEvents(a.sessionId, a.after, eventMax),
    ready: (r) => !r.ok || r.events.length > 0,
    answer(res, out, a) {
      if (!out.ok) throw failure(out);
      decorate(res);
      const last = out.events.at(-1);
      sendJson(res, 200, { events: out.events, next: last ? last.seq : a.after });
    },
  };

  return {
    pairing({ res, params, query }, done) {
      const token = parseParam(Token, params.token, "token");
      const waitSeconds = parseWait(query, maxWait);
      longPoll.hold(pairing, { res, keys: [watchKeys.pairing(token)], waitSeconds, arg: token }, done);
    },
    pending({ res, params, query }, done) {
      const sessionId = parseParam(SessionId, params.sessionId, "sessionId");
      const waitSeconds = parseWait(query, maxWait);
      const keys = [watchKeys.requests(sessionId), watchKeys.session(sessionId)];
      longPoll.hold(pending, { res, keys, waitSeconds, arg: sessionId }, done);
    },
    response({ res, params, query }, done) {
      const sessionId = parseParam(SessionId, params.sessionId, "sessionId");
      const id = parseParam(UuidV4, params.id, "id");
      const waitSeconds = parseWait(query, maxWait);
      const keys = [watchKeys.request(sessionId, id), watchKeys.session(sessionId)];
      longPoll.hold(response, { res, keys, waitSeconds, arg: { sessionId, id } }, done);
    },
    events({ res, params, query }, done) {
      const sessionId = parseParam(SessionId, params.sessionId, "sessionId");
      const after = parseAfter(query);
      const waitSeconds = parseWait(query, maxWait);
      const keys = [watchKeys.events(sessionId), watchKeys.session(sessionId)];
      longPoll.hold(events, { res, keys, waitSeconds, arg: { sessionId, after } }, done);
    },
  };
}
