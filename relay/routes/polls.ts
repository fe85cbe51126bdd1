/**
 * The four long-poll GETs, written against plain `node:http` objects so that one implementation
 * serves both the Express routes and the lean fast path (`http/fastPath.ts`) that idle polls take:
 *
 *   GET /v1/pairings/:token?wait=                          (extension waits for the wallet's answer)
 *   GET /v1/sessions/:sessionId/requests?wait=             (wallet's pull path)
 *   GET /v1/sessions/:sessionId/requests/:id/response?wait= (extension waits for the response)
 *   GET /v1/sessions/:sessionId/events?after=&wait=        (extension waits for wallet events)
 *
 * Each validates its parameters, then waits (longPoll.ts) and answers. Errors are thrown as relay
 * errors for the caller's error handler. The answer is chained with `.then`, not `await`ed: a
 * suspended async function would hold its frame, promise and await closures (≈ 0.5 KB) for the whole
 * wait of an idle poll. `read`/`ready` are methods, not arrow properties: under tsx
 * (esbuild keepNames) every named arrow created per request gets a 256-byte property table, and
 * these live as long as the poll.
 */
import type { ServerResponse } from "node:http";
import { REQUEST_STATUS_HEADER } from "../../protocol/constants.ts";
import { SessionId, Token, UuidV4 } from "../../protocol/schemas.ts";
import { failure } from "../http/errors.ts";
import { sendEmpty, sendJson } from "../http/respond.ts";
import { parseAfter, parseParam, parseWait } from "../http/validate.ts";
import type { LongPoll } from "../longPoll.ts";
import { type Store, watchKeys } from "../store/types.ts";

export type PollParams = Readonly<Record<string, string | undefined>>;
/** Query values as Express's "simple" parser gives them: a string, or an array when repeated. */
export type PollQuery = Readonly<Record<string, unknown>>;
export type PollHandler = (res: ServerResponse, params: PollParams, query: PollQuery) => Promise<void>;
export type PollHandlers = {
  pairing: PollHandler;
  pending: PollHandler;
  response: PollHandler;
  events: PollHandler;
};

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
  return {
    async pairing(res, params, query) {
      const token = parseParam(Token, params.token, "token");
      const waitSeconds = parseWait(query, maxWait);
      return longPoll
        .run({
          res,
          keys: [watchKeys.pairing(token)],
          waitSeconds,
          read() {
            return store.readPairing(token);
          },
          ready(r) {
            return !r.ok || r.answer !== undefined;
          },
        })
        .then((out) => {
          if (!out) return; // the client went away
          if (!out.ok) throw failure(out);
          decorate(res);
          if (!out.answer) return sendEmpty(res, 204);
          const { deviceId, sessionId, sealed } = out.answer;
          sendJson(res, 200, { deviceId, sessionId, sealed });
        });
    },

    async pending(res, params, query) {
      const sessionId = parseParam(SessionId, params.sessionId, "sessionId");
      const waitSeconds = parseWait(query, maxWait);
      return longPoll
        .run({
          res,
          keys: [watchKeys.requests(sessionId), watchKeys.session(sessionId)],
          waitSeconds,
          read() {
            return store.fetchPending(sessionId);
          },
          // Hold while every pending request was already fetched: a wallet still deciding on one must
          // not be answered at once in a loop. The answer lists every pending request all the same.
          ready(r) {
            return !r.ok || r.fresh > 0;
          },
        })
        .then((out) => {
          if (!out) return;
          if (!out.ok) throw failure(out);
          if (out.fresh > 0) deps.onFetched?.(out.fresh);
          decorate(res);
          sendJson(res, 200, { requests: out.requests });
        });
    },

    async response(res, params, query) {
      const sessionId = parseParam(SessionId, params.sessionId, "sessionId");
      const id = parseParam(UuidV4, params.id, "id");
      const waitSeconds = parseWait(query, maxWait);
      return longPoll
        .run({
          res,
          keys: [watchKeys.request(sessionId, id), watchKeys.session(sessionId)],
          waitSeconds,
          read() {
            return store.readResponse(sessionId, id);
          },
          ready(r) {
            return !r.ok || r.sealed !== undefined;
          },
        })
        .then((out) => {
          if (!out) return;
          if (!out.ok) throw failure(out);
          decorate(res);
          if (out.sealed !== undefined) return sendJson(res, 200, { sealed: out.sealed });
          // No response yet: a delivery receipt for the popup, in a header because a 204 has no body.
          res.setHeader(REQUEST_STATUS_HEADER, out.status);
          sendEmpty(res, 204);
        });
    },

    async events(res, params, query) {
      const sessionId = parseParam(SessionId, params.sessionId, "sessionId");
      const after = parseAfter(query);
      const waitSeconds = parseWait(query, maxWait);
      return longPoll
        .run({
          res,
          keys: [watchKeys.events(sessionId), watchKeys.session(sessionId)],
          waitSeconds,
          read() {
            return store.readEvents(sessionId, after, eventMax);
          },
          ready(r) {
            return !r.ok || r.events.length > 0;
          },
        })
        .then((out) => {
          if (!out) return;
          if (!out.ok) throw failure(out);
          decorate(res);
          const last = out.events.at(-1);
          sendJson(res, 200, { events: out.events, next: last ? last.seq : after });
        });
    },
  };
}
