/**
 * Requests and responses (docs/PROTOCOL.md §3): the extension posts, the wallet is notified and
 * fetches (or pulls), the wallet responds, the extension long-polls for the response and acknowledges
 * (or cancels) with DELETE. The long-poll GETs live in polls.ts.
 */
import { REQUEST_TTL } from "../../protocol/constants.ts";
import { PostRequestBody, PutResponseBody } from "../../protocol/schemas.ts";
import { failure } from "../http/errors.ts";
import { sendEmpty, sendJson } from "../http/respond.ts";
import { checkTtl, parseBody } from "../http/validate.ts";
import {
  defineRoute,
  pollRoute,
  type RouteContext,
  type Routes,
  requestIdOf,
  sessionIdOf,
} from "./context.ts";

export function requestRoutes(
  router: Routes,
  { store, config, polls, json, notifyWallet, telemetry, expiries }: RouteContext,
): void {
  defineRoute(router, "/v1/sessions/:sessionId/requests", {
    post: [
      json,
      async (req, res) => {
        const sessionId = sessionIdOf(req);
        const body = parseBody(PostRequestBody, req.body);
        const ttl = checkTtl(body.ttl, REQUEST_TTL.default, config.maxRequestTtl);
        const out = await store.postRequest(sessionId, { id: body.id, sealed: body.sealed, ttl });
        if (!out.ok) throw failure(out);
        sendJson(res, out.created ? 201 : 200, { expiresAt: out.expiresAt });
        if (!out.created) return;
        telemetry.request("posted");
        expiries.request(sessionId, body.id, out.expiresAt);
        // After the answer: a slow or dead webhook never delays the extension.
        if (out.push) notifyWallet(out.push, sessionId, body.id, out.expiresAt);
      },
    ],
    get: pollRoute(polls.pending),
  });

  defineRoute(router, "/v1/sessions/:sessionId/requests/:id", {
    get: async (req, res) => {
      const out = await store.fetchRequest(sessionIdOf(req), requestIdOf(req));
      if (!out.ok) throw failure(out);
      sendJson(res, 200, out.request);
      telemetry.request("fetched");
    },
    delete: async (req, res) => {
      const out = await store.deleteRequest(sessionIdOf(req), requestIdOf(req));
      if (!out.ok) throw failure(out);
      sendEmpty(res, 204);
      if (out.action === "cancelled") telemetry.request("cancelled");
      expiries.settleRequest(sessionIdOf(req), requestIdOf(req));
    },
  });

  defineRoute(router, "/v1/sessions/:sessionId/requests/:id/response", {
    put: [
      json,
      async (req, res) => {
        const sessionId = sessionIdOf(req);
        const id = requestIdOf(req);
        const body = parseBody(PutResponseBody, req.body);
        const out = await store.putResponse(sessionId, id, body.sealed);
        if (!out.ok) throw failure(out);
        sendJson(res, out.repeated ? 200 : 201, {});
        if (out.repeated) return;
        telemetry.request("answered");
        expiries.settleRequest(sessionId, id);
        // The wallet's optional plaintext label: counted, never stored or checked against the sealed body.
        telemetry.response(body.outcome ?? "unlabelled");
        if (out.postedAt !== undefined) {
          telemetry.answered("request_answer_seconds", Date.now() / 1000 - out.postedAt);
        }
      },
    ],
    get: pollRoute(polls.response),
  });
}
