/** Shape checks on what a bridge posts on its port (the bridge runs in the page's renderer: check anyway). */
import type { BridgeToBackground } from "../shared/messages.ts";

const RID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const METHOD = /^[A-Za-z][A-Za-z0-9_]{0,99}$/;

export function parseBridgeMessage(data: unknown): BridgeToBackground | undefined {
  if (typeof data !== "object" || data === null) return undefined;
  const m = data as Record<string, unknown>;
  if (m.type === "ping") return { type: "ping" };
  if (typeof m.rid !== "string" || !RID.test(m.rid)) return undefined;
  if (m.type === "ack") return { type: "ack", rid: m.rid };
  if (m.type !== "request" || typeof m.method !== "string" || !METHOD.test(m.method)) return undefined;
  if (m.params !== undefined && (typeof m.params !== "object" || m.params === null)) return undefined;
  return m.params === undefined
    ? { type: "request", rid: m.rid, method: m.method }
    : { type: "request", rid: m.rid, method: m.method, params: m.params };
}
