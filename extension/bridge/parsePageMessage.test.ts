import { describe, expect, it } from "vitest";
import { TO_BRIDGE, TO_PAGE } from "../shared/constants.ts";
import { MAX_PARAMS_CHARS, parsePageMessage } from "./parsePageMessage.ts";

const request = (extra: Record<string, unknown> = {}) => ({
  target: TO_BRIDGE,
  type: "request",
  id: "p-1",
  method: "eth_chainId",
  ...extra,
});

describe("parsePageMessage: only exact, tagged page messages pass", () => {
  it("accepts hello and well-formed requests", () => {
    expect(parsePageMessage({ target: TO_BRIDGE, type: "hello" })).toEqual({
      target: TO_BRIDGE,
      type: "hello",
    });
    expect(parsePageMessage(request())).toEqual(request());
    expect(parsePageMessage(request({ params: [{ to: "0x1" }] }))).toEqual(
      request({ params: [{ to: "0x1" }] }),
    );
  });

  it("drops other tags, other shapes and extra fields (a page never supplies its origin)", () => {
    for (const bad of [
      null,
      "eth_chainId",
      [request()],
      { ...request(), target: TO_PAGE },
      { ...request(), origin: "https://bank.example" },
      { target: TO_BRIDGE, type: "hello", tabId: 1 },
      { target: TO_BRIDGE, type: "response", id: "p-1", result: 1 },
      request({ id: "" }),
      request({ id: "x".repeat(129) }),
      request({ id: "a b" }),
      request({ method: "" }),
      request({ method: "eth call" }),
      request({ method: "__proto__x" }),
      request({ method: 7 }),
      request({ params: "0x1" }),
      request({ params: null }),
      request({ params: new Date() }),
      Object.assign(Object.create({ inherited: true }), request()),
    ]) {
      expect(parsePageMessage(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });

  it("re-serialises params as plain JSON and bounds their size", () => {
    const out = parsePageMessage(request({ params: [{ value: 1, nested: { a: [1, 2] } }] }));
    expect(out).toMatchObject({ params: [{ value: 1, nested: { a: [1, 2] } }] });
    expect(parsePageMessage(request({ params: ["x".repeat(MAX_PARAMS_CHARS)] }))).toBeUndefined();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(parsePageMessage(request({ params: cyclic }))).toBeUndefined();
  });
});
