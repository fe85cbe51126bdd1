/**
 * Requests and responses (docs/PROTOCOL.md §3): the extension posts, the wallet is notified and
 * fetches (or pulls), the wallet responds, the extension long-polls for the response and acknowledges
 * (or cancels) with DELETE. The long-poll GETs live in polls.ts.
 */
import { REQUEST_TTL } from "../../protocol/constants.ts";
import { PostRequestBody, PutResponseBody } from "../../protocol/schemas.ts";
import type { ApiRoute } from "../http/apiRouter.ts";
import { failure } from "../http/errors.ts";
import { sendEmpty, sendJson } from "../http/respond.ts";
import { checkTtl, parseBody } from "../http/validate.ts";
import { pollRoute, type RouteContext, requestIdOf, sessionIdOf } from "./context.ts";

export function requestRoutes({
  store,
  config,
  polls,
  notifyWallet,
  telemetry,
  expiries,
}: RouteContext): ApiRoute[] {
  return [
    {
      path: "/v1/sessions/:sessionId/requests",
      guarded: true,
      methods: {
        POST: {
          body: true,
          async run({ res, params, body: raw }) {
            const sessionId = sessionIdOf(params);
            const body = parseBody(PostRequestBody, raw);
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
        },
        GET: pollRoute(polls.pending),
      },
    },
    {
      path: "/v1/sessions/:sessionId/requests/:id",
      guarded: true,
      methods: {
        GET: {
          async run({ res, params }) {
            const out = await store.fetchRequest(sessionIdOf(params), requestIdOf(params));
            if (!out.ok) throw failure(out);
            sendJson(res, 200, out.request);
            telemetry.request("fetched");
          },
        },
        DELETE: {
          async run({ res, params }) {
            const sessionId = sessionIdOf(params);
            const id = requestIdOf(params);
            const out = await store.deleteRequest(sessionId, id);
            if (!out.ok) throw failure(out);
            sendEmpty(res, 204);
            if (out.action === "cancelled") telemetry.request("cancelled");
            expiries.settleRequest(sessionId, id);
          },
        },
      },
    },
    {
      path: "/v1/sessions/:sessionId/requests/:id/response",
      guarded: true,
      methods: {
        PUT: {
          body: true,
          async run({ res, params, body: raw }) {
            const sessionId = sessionIdOf(params);
            const id = requestIdOf(params);
            const body = parseBody(PutResponseBody, raw);
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
        },
        GET: pollRoute(polls.response),
      },
    },
  ];
}
