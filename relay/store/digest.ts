/**
 * Comparisons every store makes the same way, so a request or answer repeated through any store is
 * recognised alike: bodies by a SHA-256 digest (idempotent repeats vs conflicts), push targets by
 * their canonical JSON (sorted keys, undefined dropped), whatever their key order.
 */
import { createHash } from "node:crypto";

export const hash = (...parts: string[]) => createHash("sha256").update(parts.join("\n")).digest("base64url");

export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
