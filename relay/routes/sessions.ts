/**
 * Ending a session (docs/PROTOCOL.md §4): either side's DELETE drops the session, its push target and
 * everything pending; open long-polls on it wake and answer 404 at once. Not guarded by the device
 * lockdown: ending a session only takes access away.
 */
import type { ApiRoute } from "../http/apiRouter.ts";
import { failure } from "../http/errors.ts";
import { sendEmpty } from "../http/respond.ts";
import { shortHash } from "../log.ts";
import { type RouteContext, sessionIdOf } from "./context.ts";

export function sessionRoutes({ store, logger }: RouteContext): ApiRoute[] {
  return [
    {
      path: "/v1/sessions/:sessionId",
      methods: {
        DELETE: {
          async run({ res, params }) {
            const sessionId = sessionIdOf(params);
            const out = await store.deleteSession(sessionId);
            if (!out.ok) throw failure(out);
            sendEmpty(res, 204);
            logger.info({ session: shortHash(sessionId) }, "session deleted");
          },
        },
      },
    },
  ];
}
