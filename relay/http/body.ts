/**
 * JSON request bodies, read straight off `node:http` (the protocol routes run before Express, see
 * apiRouter.ts; `jsonBody` adapts the same reader for the Express operator routes). The rules:
 *
 * - `Content-Type: application/json` only, else 415 (RFC 9110 §15.5.16); a request without any body
 *   (neither Content-Length nor Transfer-Encoding) is 415 as well;
 * - UTF-8 only (RFC 8259 §8.1: JSON exchanged between systems MUST be UTF-8): another charset is 415;
 * - no Content-Encoding: a compressed body could expand far past the size limit (415);
 * - at most `maxBytes`: 413, checked against Content-Length before reading and while reading;
 * - strict: the text must start with `{` or `[` (zod then requires an object), else 400 invalid_json;
 *   an empty body is `{}` (every required field is then reported missing by name).
 */
import type { IncomingMessage } from "node:http";
import type { RequestHandler } from "express";
import type { RelayError } from "../../protocol/errors.ts";
import { httpError } from "./errors.ts";

/** The first character after JSON whitespace (RFC 8259 §2: space, tab, line feed, carriage return). */
const FIRST_CHAR = /^[ \t\n\r]*(.)/s;

/** Reads and parses the body, or rejects with the relay error to answer. */
export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const refused = checkHeaders(req, maxBytes);
  if (refused) return Promise.reject(refused);
  // Already gone (the client left while a check before the body ran) or already read by someone else:
  // no event would ever come.
  if (req.destroyed || req.readableEnded) return Promise.reject(incomplete());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error: RelayError | undefined, value?: unknown) => {
      if (done) return;
      done = true;
      // The rest of a refused body is drained by node:http once the answer is sent.
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onAbort);
      req.off("close", onAbort);
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) finish(tooLarge(maxBytes));
      else chunks.push(chunk);
    };
    const onEnd = () => {
      const text =
        chunks.length === 1 ? (chunks[0] as Buffer).toString("utf8") : Buffer.concat(chunks).toString("utf8");
      try {
        finish(undefined, parseStrict(text));
      } catch {
        finish(httpError("invalid_json", "body: not valid JSON (an object is expected)"));
      }
    };
    const onAbort = () => finish(incomplete());
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onAbort);
    req.on("close", onAbort);
  });
}

/** The Express middleware form, for the operator routes: sets `req.body`. */
export function jsonBody(maxBytes: number): RequestHandler {
  return (req, _res, next) => {
    readJsonBody(req, maxBytes).then((body) => {
      req.body = body;
      next();
    }, next);
  };
}

function checkHeaders(req: IncomingMessage, maxBytes: number): RelayError | undefined {
  const { headers } = req;
  const length = headers["content-length"];
  if (length === undefined && headers["transfer-encoding"] === undefined) {
    return httpError("unsupported_media_type", "Content-Type must be application/json");
  }
  const [type = "", ...params] = (headers["content-type"] ?? "").split(";");
  if (type.trim().toLowerCase() !== "application/json") {
    return httpError("unsupported_media_type", "Content-Type must be application/json");
  }
  for (const param of params) {
    const eq = param.indexOf("=");
    if (param.slice(0, eq).trim().toLowerCase() !== "charset") continue;
    const charset = param
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, "$1")
      .toLowerCase();
    if (charset !== "utf-8" && charset !== "utf8") {
      return httpError("unsupported_media_type", "body: charset must be utf-8");
    }
  }
  const encoding = headers["content-encoding"];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== "identity") {
    return httpError(
      "unsupported_media_type",
      "Content-Encoding is not supported; send the body uncompressed",
    );
  }
  if (length !== undefined && Number(length) > maxBytes) return tooLarge(maxBytes);
  return undefined;
}

function parseStrict(text: string): unknown {
  if (text.length === 0) return {};
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // a UTF-8 byte order mark
  const first = FIRST_CHAR.exec(body)?.[1];
  if (first !== "{" && first !== "[") throw new SyntaxError("not an object or array");
  return JSON.parse(body);
}

const incomplete = () => httpError("invalid_json", "body: incomplete (the request was cut short)");
const tooLarge = (maxBytes: number) => httpError("payload_too_large", `body: larger than ${maxBytes} bytes`);
