import { describe, expect, it } from "vitest";
import { InvalidParamsRpcError, UnauthorizedError } from "../../protocol/errors.ts";
import { checkWalletParams } from "./checkWalletParams.ts";

const me = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const other = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

describe("checkWalletParams", () => {
  it("fills a missing `from` with the first account and accepts any case of a given one", () => {
    expect(checkWalletParams("eth_sendTransaction", [{ to: other }], [me])).toEqual([
      { to: other, from: me },
    ]);
    const params = [{ from: me.toLowerCase(), to: other }];
    expect(checkWalletParams("eth_sendTransaction", params, [me])).toBe(params);
  });

  it("refuses an account the origin was not given with 4100", () => {
    expect(() => checkWalletParams("eth_sendTransaction", [{ from: other }], [me])).toThrow(
      UnauthorizedError,
    );
    expect(() => checkWalletParams("personal_sign", ["0x68690a", other], [me])).toThrow(UnauthorizedError);
    expect(() => checkWalletParams("eth_signTypedData_v4", [other, "{}"], [me])).toThrow(UnauthorizedError);
  });

  it("accepts personal_sign in either order, as wallets do", () => {
    expect(checkWalletParams("personal_sign", ["0x68690a", me], [me])).toEqual(["0x68690a", me]);
    expect(checkWalletParams("personal_sign", [me, "0x68690a"], [me])).toEqual([me, "0x68690a"]);
  });

  it("refuses malformed params with -32602", () => {
    for (const [method, params] of [
      ["eth_sendTransaction", []],
      ["eth_sendTransaction", [{ from: "me" }]],
      ["personal_sign", ["0x68690a"]],
      ["eth_signTypedData_v4", [me, 5]],
      ["wallet_switchEthereumChain", [{}]],
      ["wallet_switchEthereumChain", [{ chainId: "1" }]],
      ["wallet_switchEthereumChain", [{ chainId: "0xzz" }]],
      ["wallet_addEthereumChain", "0x1"],
    ] as const) {
      expect(() => checkWalletParams(method, params, [me]), method).toThrow(InvalidParamsRpcError);
    }
  });
});
