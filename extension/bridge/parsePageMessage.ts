/**
 * Strict checks on what the page posts to the bridge. Everything from the page is untrusted: only a
 * plain object with our tag and exactly the expected fields gets through; anything else is dropped
 * without an answer. Nothing the page says about itself (origin, tab, account) is ever read.
 */
import { TO_BRIDGE } from "../shared/constants.ts";
import type { PageToBridge } from "../shared/messages.ts";

/** Largest JSON `params` a page may send (typed data can be large; a megabyte is plenty). */
export const MAX_PARAMS_CHARS = 1_048_576;
const ID = /^[A-Za-z0-9_-]{1,128}$/;
/** JSON-RPC method names: letters, digits and underscores (eth_…, wallet_…, personal_sign). */
const METHOD = /^[A-Za-z][A-Za-z0-9_]{0,99}$/;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;

const onlyKeys = (o: Record<string, unknown>, allowed: readonly string[]) =>
  Object.keys(o).every((k) => allowed.includes(k));

export function parsePageMessage(data: unknown): PageToBridge | undefined {
  if (!isPlainObject(data) || data.target !== TO_BRIDGE) return undefined;
  if (data.type === "hello")
    return onlyKeys(data, ["target", "type"]) ? { target: TO_BRIDGE, type: "hello" } : undefined;
  if (data.type !== "request" || !onlyKeys(data, ["target", "type", "id", "method", "params"]))
    return undefined;
  const { id, method, params } = data;
  if (typeof id !== "string" || !ID.test(id) || typeof method !== "string" || !METHOD.test(method))
    return undefined;
  if (params === undefined) return { target: TO_BRIDGE, type: "request", id, method };
  if (!Array.isArray(params) && !isPlainObject(params)) return undefined;
  let json: string;
  try {
    json = JSON.stringify(params);
  } catch {
    return undefined;
  }
  if (json.length > MAX_PARAMS_CHARS) return undefined;
  // Re-parse: what travels on is plain JSON, whatever getters or prototypes the page tried.
  return { target: TO_BRIDGE, type: "request", id, method, params: JSON.parse(json) as unknown };
}
