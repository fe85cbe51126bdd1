import { describe, expect, it } from "vitest";
import { parseBridgeMessage } from "./parseBridgeMessage.ts";

const rid = "0b6e7f0a-7c1d-4e2f-9a3b-5c6d7e8f9a0b";

describe("parseBridgeMessage", () => {
  it("accepts requests, acks and pings", () => {
    expect(parseBridgeMessage({ type: "ping" })).toEqual({ type: "ping" });
    expect(parseBridgeMessage({ type: "ack", rid })).toEqual({ type: "ack", rid });
    expect(parseBridgeMessage({ type: "request", rid, method: "eth_accounts" })).toEqual({
      type: "request",
      rid,
      method: "eth_accounts",
    });
    expect(
      parseBridgeMessage({ type: "request", rid, method: "eth_call", params: [{}], origin: "x" }),
    ).toEqual({
      type: "request",
      rid,
      method: "eth_call",
      params: [{}],
    });
  });

  it("refuses request ids that are not lower-case UUID v4 (they become storage keys) and bad methods", () => {
    expect(parseBridgeMessage({ type: "ack", rid: "req:x" })).toBeUndefined();
    expect(
      parseBridgeMessage({ type: "request", rid: rid.toUpperCase(), method: "eth_accounts" }),
    ).toBeUndefined();
    expect(parseBridgeMessage({ type: "request", rid, method: "eth accounts" })).toBeUndefined();
    expect(parseBridgeMessage({ type: "request", rid, method: "eth_call", params: "0x" })).toBeUndefined();
    expect(parseBridgeMessage(undefined)).toBeUndefined();
  });
});
