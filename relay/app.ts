/**
 * The relay's HTTP application, without `listen`: tests mount it on an ephemeral port, `server.ts` on
 * the configured one. It is an Express 5 app whose `handle` first offers each request to the lean
 * protocol router (`http/apiRouter.ts`: pairings, sessions, requests, events); the operator surface
 * and everything else is Express routing. Either way a request meets the same front, in this order:
 *
 *   count + common headers + CORS → preflight → shutdown gate → /healthz, /metrics → rate limit →
 *   lockdown (sessions of blocked devices) → route → 404 / 405 → errors
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import express, { type Express } from "express";
import type { RelayError } from "../protocol/errors.ts";
import type { PushTarget } from "../protocol/schemas.ts";
import type { RelayConfig } from "./config.ts";
import { createExpiryWatch } from "./expiryWatch.ts";
import { createApiRouter } from "./http/apiRouter.ts";
import { jsonBody } from "./http/body.ts";
import { clientIp, type TrustFn } from "./http/clientIp.ts";
import { createCors } from "./http/cors.ts";
import { errorHandler, httpError, respondWithError, routeNotFound } from "./http/errors.ts";
import { createRateLimiter } from "./http/rateLimit.ts";
import { createLockdownGuard } from "./lockdown.ts";
import { type Logger, shortHash, silentLogger } from "./log.ts";
import { createLongPoll } from "./longPoll.ts";
import type { Push } from "./push/types.ts";
import { adminRoutes, metricsRoutes } from "./routes/admin.ts";
import type { RouteContext } from "./routes/context.ts";
import { eventRoutes } from "./routes/events.ts";
import { healthRoutes } from "./routes/health.ts";
import { pairingRoutes } from "./routes/pairings.ts";
import { createPollHandlers } from "./routes/polls.ts";
import { requestRoutes } from "./routes/requests.ts";
import { sessionRoutes } from "./routes/sessions.ts";
import type { Store } from "./store/types.ts";
import { createTelemetry, instrumentStore } from "./telemetry.ts";

export type AppDeps = { store: Store; push: Push; config: RelayConfig; logger?: Logger };

export type RelayApp = Express & {
  /**
   * Graceful shutdown: refuse new requests (503 shutting_down), wake every open long-poll so it answers
   * now, abort push retries and wait for them to settle. The store stays open (the caller closes it).
   */
  shutdown(): Promise<void>;
  /** Open long-polls (for tests and benchmarks). */
  openLongPolls(): number;
  /** Requests being handled right now (graceful close waits for them, then cuts idle connections). */
  inFlight(): number;
  /** After the last request: writes the pending daily statistics (the store must still be open). */
  flushStats(): Promise<void>;
};

type Handle = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void;

export function createApp({ store: rawStore, push, config, logger = silentLogger() }: AppDeps): RelayApp {
  const app = express();
  let openLongPolls = () => 0;
  const telemetry = createTelemetry({
    store: rawStore,
    logger,
    flushInterval: config.statsInterval,
    openLongPolls: () => openLongPolls(),
  });
  const store = instrumentStore(rawStore, telemetry);
  const expiries = createExpiryWatch({
    store,
    logger,
    onExpired: (kind) => (kind === "pairing" ? telemetry.pairing("expired") : telemetry.request("expired")),
  });
  const lockdown = createLockdownGuard({ store, onRefused: (code) => telemetry.lockdownRefused(code) });
  const longPoll = createLongPoll(store);
  openLongPolls = () => longPoll.size();
  const cors = createCors(config.corsOrigins);
  const limiter =
    config.rateLimit > 0 ? createRateLimiter({ rate: config.rateLimit, burst: config.rateBurst }) : undefined;
  const pushes = new Set<Promise<void>>();
  const aborter = new AbortController();
  let closing = false;
  let inFlight = 0;
  const settled = () => {
    inFlight--;
  };

  app.disable("x-powered-by");
  // No ETags: a long-poll GET must never be answered 304 from a cache validator.
  app.set("etag", false);
  app.set("trust proxy", config.trustProxy);
  const trust = () => app.get("trust proxy fn") as TrustFn;

  /** Every request, either path: count it and optionally log it (`route`: the pattern, or how to find it). */
  function begin(
    req: IncomingMessage,
    res: ServerResponse,
    route: string | (() => string | undefined),
  ): void {
    inFlight++;
    if (logger.isLevelEnabled("debug")) {
      const start = performance.now();
      res.once("finish", () => {
        // The route pattern, never the path: paths carry tokens and session ids.
        const ms = Math.round(performance.now() - start);
        const pattern = typeof route === "string" ? route : route();
        logger.debug({ method: req.method, route: pattern ?? "-", status: res.statusCode, ms }, "request");
      });
    }
  }
  /**
   * Headers on every answer (errors too, so a browser can read them). Set when answering rather than
   * on arrival on the fast path: an idle long-poll then holds no header state for 30 s.
   */
  function decorate(res: ServerResponse): void {
    res.setHeader("Cache-Control", "no-store");
    res.setHeader("X-Content-Type-Options", "nosniff");
    cors.apply(res.req, res);
  }
  function gate(res: ServerResponse): RelayError | undefined {
    if (!closing) return undefined;
    res.setHeader("Connection", "close");
    return httpError("shutting_down", undefined, 1);
  }
  function limit(req: IncomingMessage): RelayError | undefined {
    const verdict = limiter?.take(clientIp(req, trust()));
    if (!verdict || verdict.ok) return undefined;
    telemetry.rateLimited();
    return httpError("rate_limited", "too many requests from this address; retry later", verdict.retryAfter);
  }

  function notifyWallet(target: PushTarget, sessionId: string, requestId: string, expiresAt?: number): void {
    if (closing) return;
    const log = { session: shortHash(sessionId), request: requestId, push: target.type };
    const job = (async () => {
      const message = { sessionId, requestId, ...(expiresAt !== undefined ? { expiresAt } : {}) };
      const result = await push.notify(target, message, aborter.signal);
      telemetry.push(target.type, "retried", result.attempts - 1);
      if (result.ok) {
        telemetry.push(target.type, "delivered");
        await store.markNotified(sessionId, requestId);
        logger.debug({ ...log, attempts: result.attempts }, "push delivered");
      } else if (result.gone) {
        // The push service no longer knows the subscription: stop pushing to it; the wallet pulls.
        telemetry.push(target.type, "gone");
        const dropped = await store.dropPush(sessionId, target);
        logger.info(
          { ...log, attempts: result.attempts, reason: result.reason, dropped },
          "push target gone",
        );
      } else {
        // Not fatal: the wallet's pull path still returns the request.
        telemetry.push(target.type, result.refused ? "refused" : "failed");
        logger.warn({ ...log, attempts: result.attempts, reason: result.reason }, "push failed");
      }
    })()
      .catch((error: unknown) => logger.warn({ ...log, err: error }, "push bookkeeping failed"))
      .finally(() => pushes.delete(job));
    pushes.add(job);
  }

  const polls = createPollHandlers({
    store,
    longPoll,
    decorate,
    maxWait: config.maxWait,
    eventMax: config.eventMax,
    onFetched: (n) => telemetry.request("fetched", n),
  });
  const ctx: RouteContext = {
    store,
    push,
    config,
    logger,
    longPoll,
    polls,
    json: jsonBody(config.maxBodyBytes),
    notifyWallet,
    telemetry,
    lockdown,
    expiries,
  };

  app.use((req, res, next) => {
    begin(req, res, () => req.route?.path);
    res.on("close", settled);
    decorate(res);
    if (req.method === "OPTIONS") return cors.preflight(req, res);
    next(gate(res));
  });
  healthRoutes(app, ctx); // before the rate limit: monitoring must not be throttled
  metricsRoutes(app, ctx, { telemetry, lockdown });
  app.use((req, _res, next) => next(limit(req)));
  adminRoutes(app, ctx, { telemetry, lockdown });
  app.use(routeNotFound);
  app.use(errorHandler(logger));

  const api = createApiRouter({
    routes: [...pairingRoutes(ctx), ...requestRoutes(ctx), ...eventRoutes(ctx), ...sessionRoutes(ctx)],
    maxBodyBytes: config.maxBodyBytes,
    begin,
    end: settled,
    admit: (req, res) => gate(res) ?? limit(req),
    // A blocked device's sessions are refused (routes marked `guarded`: all but ending a session).
    guard: (params) => lockdown.checkSession(params.sessionId),
    decorate,
    fail: (error, req, res, route) => {
      if (!res.headersSent) decorate(res);
      respondWithError(logger, error, res, { method: req.method, route });
    },
  });
  // `app(req, res)` (how node:http and a parent app call it) delegates to `app.handle`: the protocol's
  // routes are taken off there, before Express dresses the request up.
  const expressHandle = (app as unknown as { handle: Handle }).handle;
  (app as unknown as { handle: Handle }).handle = function handle(this: unknown, req, res, next) {
    if (!api(req, res)) expressHandle.call(this, req, res, next);
  };

  return Object.assign(app, {
    async shutdown() {
      closing = true;
      longPoll.shutdown();
      aborter.abort();
      expiries.close();
      await Promise.allSettled([...pushes]);
    },
    openLongPolls: () => longPoll.size(),
    inFlight: () => inFlight,
    flushStats: () => telemetry.close(),
  });
}
