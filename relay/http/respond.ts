/**
 * Writing answers on a plain `node:http` response, so the same code serves Express routes and the
 * long-poll fast path (Express's `res.json` is not available there). JSON is UTF-8 (RFC 8259 §8.1).
 */
import type { ServerResponse } from "node:http";

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Content-Length", Buffer.byteLength(text));
  res.end(text);
}

/** An answer without content (204). */
export function sendEmpty(res: ServerResponse, status: number): void {
  res.statusCode = status;
  res.end();
}
