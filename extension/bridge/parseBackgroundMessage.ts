/** Shape checks on port messages from the background (our own code, but a bad value must not crash the bridge). */
import type { BackgroundToBridge } from "../shared/messages.ts";

export function parseBackgroundMessage(data: unknown): BackgroundToBridge | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const m = data as Record<string, unknown>;
  if (m.type === "state" && typeof m.state === "object" && m.state !== null) return m as BackgroundToBridge;
  if (m.type === "response" && typeof m.rid === "string" && ("result" in m || "error" in m)) {
    return m as BackgroundToBridge;
  }
  return undefined;
}
