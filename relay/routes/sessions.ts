/**
 * Ending a session (docs/PROTOCOL.md §4): either side's DELETE drops the session, its push target and
 * everything pending; open long-polls on it wake and answer 404 at once.
 */
import { failure } from "../http/errors.ts";
import { shortHash } from "../log.ts";
import { defineRoute, type RouteContext, type Routes, sessionIdOf } from "./context.ts";

export function sessionRoutes(router: Routes, { store, logger }: RouteContext): void {
  defineRoute(router, "/v1/sessions/:sessionId", {
    delete: async (req, res) => {
      const sessionId = sessionIdOf(req);
      const out = await store.deleteSession(sessionId);
      if (!out.ok) throw failure(out);
      res.status(204).end();
      logger.info({ session: shortHash(sessionId) }, "session deleted");
    },
  });
}
