/**
 * What every route module gets, and the small helpers they share (path parameters, 405 answers).
 */
import type { Request, RequestHandler, Router } from "express";

/** Where routes are registered: the app itself (no nested routers: each one costs memory per open long-poll). */
export type Routes = Pick<Router, "route">;

import type { PushTarget } from "../../protocol/schemas.ts";
import { SessionId, UuidV4 } from "../../protocol/schemas.ts";
import type { RelayConfig } from "../config.ts";
import type { ExpiryWatch } from "../expiryWatch.ts";
import { methodNotAllowed } from "../http/errors.ts";
import { parseParam } from "../http/validate.ts";
import type { LockdownGuard } from "../lockdown.ts";
import type { Logger } from "../log.ts";
import type { LongPoll } from "../longPoll.ts";
import type { Push } from "../push/types.ts";
import type { Store } from "../store/types.ts";
import type { Telemetry } from "../telemetry.ts";
import type { PollHandler, PollHandlers } from "./polls.ts";

export type RouteContext = {
  store: Store;
  push: Push;
  config: RelayConfig;
  logger: Logger;
  longPoll: LongPoll;
  /** The long-poll GET handlers (shared with the fast path). */
  polls: PollHandlers;
  /** The JSON body parser (415/413/400 handling), for POST and PUT routes. */
  json: RequestHandler;
  /** Starts a push to the wallet in the background (never delays the answer to the caller). */
  notifyWallet(target: PushTarget, sessionId: string, requestId: string, expiresAt?: number): void;
  /** Metrics and daily statistics (operator tools). */
  telemetry: Telemetry;
  /** Operator lockdown checks. */
  lockdown: LockdownGuard;
  /** Counts pairings and requests that run out unanswered. */
  expiries: ExpiryWatch;
};

type Method = "get" | "post" | "put" | "delete";

/** Registers `path` with its handlers per method; any other method is 405 with an Allow header. */
export function defineRoute(
  router: Routes,
  path: string,
  handlers: Partial<Record<Method, RequestHandler | RequestHandler[]>>,
): void {
  const route = router.route(path);
  const methods = Object.keys(handlers) as Method[];
  for (const method of methods) {
    const h = handlers[method];
    if (h) route[method](...(Array.isArray(h) ? h : [h]));
  }
  route.all(methodNotAllowed(methods.map((m) => m.toUpperCase())));
}

export const sessionIdOf = (req: Request) => parseParam(SessionId, req.params.sessionId, "sessionId");
export const requestIdOf = (req: Request) => parseParam(UuidV4, req.params.id, "id");
export const queryOf = (req: Request) => req.query as Record<string, unknown>;
/** Adapts a long-poll handler (plain node:http) to an Express route. */
export const pollRoute =
  (handler: PollHandler): RequestHandler =>
  (req, res) =>
    handler(res, req.params as Record<string, string | undefined>, queryOf(req));
