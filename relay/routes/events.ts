/**
 * Session events, wallet → extension (docs/PROTOCOL.md §4): accountsChanged, chainChanged, disconnect,
 * sealed like everything else. Sequence numbers let the extension resume with `?after=` (the
 * long-poll GET lives in polls.ts).
 */
import { PostEventBody } from "../../protocol/schemas.ts";
import type { ApiRoute } from "../http/apiRouter.ts";
import { failure } from "../http/errors.ts";
import { sendJson } from "../http/respond.ts";
import { parseBody } from "../http/validate.ts";
import { pollRoute, type RouteContext, sessionIdOf } from "./context.ts";

export function eventRoutes({ store, polls }: RouteContext): ApiRoute[] {
  return [
    {
      path: "/v1/sessions/:sessionId/events",
      guarded: true,
      methods: {
        POST: {
          body: true,
          async run({ res, params, body: raw }) {
            const sessionId = sessionIdOf(params);
            const body = parseBody(PostEventBody, raw);
            const out = await store.postEvent(sessionId, { id: body.id, sealed: body.sealed });
            if (!out.ok) throw failure(out);
            sendJson(res, out.created ? 201 : 200, { seq: out.seq });
          },
        },
        GET: pollRoute(polls.events),
      },
    },
  ];
}
