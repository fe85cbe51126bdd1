/**
 * Input validation at the HTTP boundary: path parameters, bodies and query values are checked with the
 * protocol's zod schemas; a failure is 400 invalid_field whose message names the field.
 */
import type { z } from "zod";
import { WAIT } from "../../protocol/constants.ts";
import { describeIssues } from "../../protocol/schemas.ts";
import { httpError } from "./errors.ts";

export function parseParam<T>(schema: z.ZodType<T>, value: unknown, name: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw httpError("invalid_field", `${name}: ${issue?.message ?? "invalid"}`);
}

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body ?? {});
  if (result.success) return result.data;
  throw httpError("invalid_field", describeIssues(result.error).message);
}

function integerQuery(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^\d{1,15}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw httpError("invalid_field", `${name}: must be a whole number from ${min} to ${max}`);
  }
  return Number(value);
}

/** `?wait=N` seconds, 0..maxWait; default 25 (or maxWait if lower). Out of bounds is 400, never clamped. */
export function parseWait(query: Record<string, unknown>, maxWait: number): number {
  return integerQuery(query.wait, "wait", WAIT.min, maxWait) ?? Math.min(WAIT.default, maxWait);
}

/** `?after=<seq>` for the events long-poll; default 0 (from the first retained event). */
export function parseAfter(query: Record<string, unknown>): number {
  return integerQuery(query.after, "after", 0, Number.MAX_SAFE_INTEGER) ?? 0;
}

/** A body ttl within the operator's maximum (the schema already holds the protocol's bounds). */
export function checkTtl(ttl: number | undefined, fallback: number, max: number): number {
  if (ttl === undefined) return Math.min(fallback, max);
  if (ttl > max) throw httpError("invalid_field", `ttl: must be at most ${max} seconds on this relay`);
  return ttl;
}
