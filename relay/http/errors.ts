/**
 * Errors on the wire: every failure is `{error: {code, message}}` with a stable code from
 * RELAY_ERRORS (protocol/errors.ts) and its HTTP status. One error handler, registered last, turns
 * anything thrown into that shape; only a bug can make it a 500, and no input can reach one.
 */
import type { ServerResponse } from "node:http";
import type { ErrorRequestHandler, RequestHandler } from "express";
import { RelayError, type RelayErrorCode } from "../../protocol/errors.ts";
import type { Logger } from "../log.ts";
import { StoreUnavailableError } from "../store/types.ts";
import { sendJson } from "./respond.ts";

const MESSAGES: Partial<Record<RelayErrorCode, string>> = {
  pairing_not_found: "no pairing with this token",
  pairing_exists: "a pairing with this token already exists",
  pairing_answered: "this pairing has already been answered",
  pairing_expired: "this pairing has expired",
  session_not_found: "no such session (never paired, deleted or idle too long)",
  session_exists: "a session with this id already exists",
  request_not_found: "no request with this id in this session",
  request_conflict: "a different request was already posted under this id",
  request_answered: "this request already has a different response",
  request_expired: "this request has expired",
  request_cancelled: "this request was cancelled",
  event_conflict: "a different event was already posted under this id",
  too_many_pending: "too many unanswered requests in this session",
  store_unavailable: "storage is unavailable, try again shortly",
  shutting_down: "the relay is shutting down, try again shortly",
};

export function httpError(code: RelayErrorCode, message?: string, retryAfter?: number): RelayError {
  return new RelayError(
    code,
    message ?? MESSAGES[code] ?? code.replaceAll("_", " "),
    retryAfter === undefined ? {} : { retryAfter },
  );
}

/** A store outcome's failure as the error to throw. */
export const failure = (outcome: { ok: false; error: RelayErrorCode }): RelayError =>
  httpError(outcome.error);

export function sendError(res: ServerResponse, error: RelayError): void {
  if (error.retryAfter !== undefined) {
    res.setHeader("Retry-After", String(Math.max(1, Math.ceil(error.retryAfter))));
  }
  sendJson(res, error.status, error.toJSON());
}

/** The Allow header of a path with these methods: HEAD wherever GET is, and OPTIONS (CORS preflights). */
export function allowHeader(allowed: readonly string[]): string {
  return [...allowed, ...(allowed.includes("GET") ? ["HEAD"] : []), "OPTIONS"].join(", ");
}

/** 405 for a known path with another method (RFC 9110 §15.5.6: the answer carries `Allow`). */
export function methodNotAllowedError(method: string | undefined, allowed: readonly string[]): RelayError {
  return httpError("method_not_allowed", `${method} is not allowed here; use ${allowed.join(" or ")}`);
}

/** Answers 405 with the Allow header, for an Express route. */
export function methodNotAllowed(allowed: string[]): RequestHandler {
  const allow = allowHeader(allowed);
  return (req, res) => {
    res.setHeader("Allow", allow);
    sendError(res, methodNotAllowedError(req.method, allowed));
  };
}

export const routeNotFound: RequestHandler = (_req, res) => {
  sendError(res, httpError("route_not_found", "no such route"));
};

/** Maps anything thrown to a relay error (the JSON body reader, `body.ts`, throws relay errors itself). */
export function toRelayError(error: unknown): RelayError {
  if (error instanceof RelayError) return error;
  if (error instanceof StoreUnavailableError) return httpError("store_unavailable", undefined, 2);
  // Express's router: an undecodable percent-encoded path parameter is an error with status 400.
  const status = (error as { status?: unknown } | undefined)?.status;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return httpError("invalid_field", "path: a parameter is not valid percent-encoding");
  }
  return httpError("internal_error", "internal error");
}

/** Answers `error` as a relay error; 5xx are logged (they mean the store or a bug, never the input). */
export function respondWithError(
  logger: Logger,
  error: unknown,
  res: ServerResponse,
  where: { method?: string | undefined; route?: string | undefined },
): void {
  const relayError = toRelayError(error);
  if (relayError.status >= 500) {
    const level = relayError.code === "internal_error" ? "error" : "warn";
    logger[level]({ err: error, method: where.method, route: where.route }, relayError.code);
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendError(res, relayError);
}

/** The one Express error handler, registered last. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    respondWithError(logger, error, res, { method: req.method, route: req.route?.path });
  };
}
