import { describe, expect, it } from "vitest";
import {
  ChainDisconnectedError,
  DisconnectedError,
  InternalRpcError,
  InvalidParamsRpcError,
  ProviderRpcError,
  providerErrorFromJSON,
  RELAY_ERRORS,
  RelayError,
  toProviderError,
  UnauthorizedError,
  UnrecognizedChainError,
  UnsupportedMethodError,
  UserRejectedRequestError,
} from "./errors.ts";

describe("provider errors (EIP-1193)", () => {
  it("carry their static code and name", () => {
    const table: Array<[new () => ProviderRpcError, number, string]> = [
      [UserRejectedRequestError, 4001, "UserRejectedRequestError"],
      [UnauthorizedError, 4100, "UnauthorizedError"],
      [UnsupportedMethodError, 4200, "UnsupportedMethodError"],
      [DisconnectedError, 4900, "DisconnectedError"],
      [ChainDisconnectedError, 4901, "ChainDisconnectedError"],
      [UnrecognizedChainError, 4902, "UnrecognizedChainError"],
      [InvalidParamsRpcError, -32602, "InvalidParamsRpcError"],
      [InternalRpcError, -32603, "InternalRpcError"],
    ];
    for (const [E, code, name] of table) {
      const e = new E();
      expect(e).toBeInstanceOf(ProviderRpcError);
      expect(e).toBeInstanceOf(Error);
      expect(e.code).toBe(code);
      expect((E as unknown as { code: number }).code).toBe(code);
      expect(e.name).toBe(name);
      expect(e.message.length).toBeGreaterThan(0);
    }
  });

  it("serialise to {code, message, data} and back to the same class", () => {
    const e = new UserRejectedRequestError("Declined on the phone", { by: "user" });
    const json = JSON.parse(JSON.stringify(e));
    expect(json).toEqual({ code: 4001, message: "Declined on the phone", data: { by: "user" } });
    const back = providerErrorFromJSON(json);
    expect(back).toBeInstanceOf(UserRejectedRequestError);
    expect(back.toJSON()).toEqual(json);
    expect(JSON.parse(JSON.stringify(new UnsupportedMethodError()))).not.toHaveProperty("data");
  });

  it("keeps unknown codes and makes anything else internal", () => {
    const unknown = providerErrorFromJSON({ code: 5555, message: "custom" });
    expect(unknown.code).toBe(5555);
    expect(providerErrorFromJSON("nonsense").code).toBe(-32603);
    expect(toProviderError(new TypeError("boom"))).toBeInstanceOf(InternalRpcError);
    expect(toProviderError({ code: 4100, message: "no" })).toBeInstanceOf(UnauthorizedError);
  });
});

describe("relay errors", () => {
  it("map stable codes to statuses and serialise as {error: {code, message}}", () => {
    const e = new RelayError("pairing_expired", "gone");
    expect(e.status).toBe(410);
    expect(e.toJSON()).toEqual({ error: { code: "pairing_expired", message: "gone" } });
    expect(new RelayError("rate_limited", "slow down", { retryAfter: 3 }).retryAfter).toBe(3);
    for (const status of Object.values(RELAY_ERRORS))
      expect([0, 400, 401, 403, 404, 405, 409, 410, 413, 415, 429, 500, 502, 503]).toContain(status);
  });
});
