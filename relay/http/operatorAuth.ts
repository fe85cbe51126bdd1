/**
 * The operator token (`--admin-token`) for /admin/… and, optionally, /metrics. Sent as
 * `Authorization: Bearer <token>` (RFC 6750 §2.1). Compared in constant time: both sides are hashed
 * to SHA-256 first, so `timingSafeEqual` always compares 32 equal-length bytes and neither the token's
 * content nor its length leaks through timing.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RelayError } from "../../protocol/errors.ts";
import { httpError } from "./errors.ts";

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

export type OperatorAuth = {
  /** An error to answer (401 with a Bearer challenge), or undefined when the token matches. */
  check(req: IncomingMessage, res: ServerResponse): RelayError | undefined;
};

export function createOperatorAuth(token: string): OperatorAuth {
  const expected = digest(token);
  return {
    check(req, res) {
      const header = req.headers.authorization ?? "";
      const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
      const presented = digest(match?.[1] ?? "");
      if (match && timingSafeEqual(presented, expected)) return undefined;
      // RFC 6750 §3: a 401 names the scheme the client should use.
      res.setHeader("WWW-Authenticate", 'Bearer realm="balance-bridge-relay"');
      return httpError("unauthorized", "the operator token is missing or wrong");
    },
  };
}
