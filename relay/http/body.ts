/**
 * JSON bodies: `application/json` only (anything else is 415, RFC 9110 §15.5.16), at most `maxBytes`
 * (413, checked against Content-Length before reading and while reading), no Content-Encoding (a
 * compressed body could expand past the limit's intent), strict (top level object or array; zod then
 * requires an object). Parse failures reach the error handler as body-parser errors (→ 400 invalid_json).
 */
import express, { type RequestHandler } from "express";
import { httpError } from "./errors.ts";

export function jsonBody(maxBytes: number): RequestHandler {
  const parse = express.json({ limit: maxBytes, strict: true, inflate: false, type: () => true });
  return (req, res, next) => {
    if (req.is("application/json") !== "application/json") {
      next(httpError("unsupported_media_type", "Content-Type must be application/json"));
      return;
    }
    parse(req, res, next);
  };
}
