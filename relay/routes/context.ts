/**
 * What every route module gets, and the small helpers they share. The protocol's routes are tables
 * for the lean router (`http/apiRouter.ts`); the operator routes (/healthz, /metrics, /admin) are
 * Express routes registered with `defineRoute`.
 */
import type { RequestHandler, Router } from "express";

/** Where Express routes are registered: the app itself. */
export type Routes = Pick<Router, "route">;

import type { PushTarget } from "../../protocol/schemas.ts";
import { SessionId, UuidV4 } from "../../protocol/schemas.ts";
import type { RelayConfig } from "../config.ts";
import type { ExpiryWatch } from "../expiryWatch.ts";
import type { ApiMethod, ApiParams } from "../http/apiRouter.ts";
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
  /** The long-poll GET handlers. */
  polls: PollHandlers;
  /** The JSON body parser (body.ts rules) for the Express operator routes. */
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

/** Registers an Express route with its handlers per method; any other method is 405 with an Allow header. */
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

export const sessionIdOf = (params: ApiParams) => parseParam(SessionId, params.sessionId, "sessionId");
export const requestIdOf = (params: ApiParams) => parseParam(UuidV4, params.id, "id");
/** A long-poll GET as a protocol route method (it holds the call, and sets the headers when it answers). */
export const pollRoute = (handler: PollHandler): ApiMethod => ({ hold: handler });
