/**
 * Session events, wallet → extension (docs/PROTOCOL.md §4): accountsChanged, chainChanged, disconnect,
 * sealed like everything else. Sequence numbers let the extension resume with `?after=` (the
 * long-poll GET lives in polls.ts).
 */
import { PostEventBody } from "../../protocol/schemas.ts";
import { failure } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import { parseBody } from "../http/validate.ts";
import { defineRoute, pollRoute, type RouteContext, type Routes, sessionIdOf } from "./context.ts";

export function eventRoutes(router: Routes, { store, polls, json }: RouteContext): void {
  defineRoute(router, "/v1/sessions/:sessionId/events", {
    post: [
      json,
      async (req, res) => {
        const sessionId = sessionIdOf(req);
        const body = parseBody(PostEventBody, req.body);
        const out = await store.postEvent(sessionId, { id: body.id, sealed: body.sealed });
        if (!out.ok) throw failure(out);
        sendJson(res, out.created ? 201 : 200, { seq: out.seq });
      },
    ],
    get: pollRoute(polls.events),
  });
}
