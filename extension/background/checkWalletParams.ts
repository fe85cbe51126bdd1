/**
 * What the extension checks before bothering the phone with a WALLET_METHODS request (the wallet
 * checks again; this only spares the user a pointless prompt): the params' shape (else -32602), and
 * that the account named is one this origin was given (else EIP-1193 4100 Unauthorized).
 */
import { InvalidParamsRpcError, UnauthorizedError } from "../../protocol/errors.ts";
import type { WalletMethod } from "../../protocol/rpc.ts";

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const isAddress = (v: unknown): v is string => typeof v === "string" && ADDRESS.test(v);
const sameAddress = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Returns the params to send: eth_sendTransaction gets a default `from` (the first account), as wallets do. */
export function checkWalletParams(
  method: WalletMethod,
  params: unknown,
  accounts: readonly string[],
): unknown {
  const list = Array.isArray(params) ? params : undefined;
  const allowed = (who: string) => {
    if (!accounts.some((a) => sameAddress(a, who))) {
      throw new UnauthorizedError(`The account ${who} has not been authorized for this site.`);
    }
  };
  switch (method) {
    case "eth_sendTransaction": {
      const tx = list?.[0];
      if (!isObject(tx)) throw new InvalidParamsRpcError("eth_sendTransaction expects [transaction].");
      if (tx.from === undefined) {
        const from = accounts[0];
        if (!from) throw new UnauthorizedError();
        return [{ ...tx, from }, ...(list ?? []).slice(1)];
      }
      if (!isAddress(tx.from)) throw new InvalidParamsRpcError("transaction.from must be an address.");
      allowed(tx.from);
      return params;
    }
    case "personal_sign": {
      // [data, address]; some dapps swap them (the wallet accepts both, like MetaMask).
      const [first, second] = list ?? [];
      const who = isAddress(second) ? second : isAddress(first) ? first : undefined;
      if (!list || list.length < 2 || who === undefined) {
        throw new InvalidParamsRpcError("personal_sign expects [data, address].");
      }
      allowed(who);
      return params;
    }
    case "eth_signTypedData_v4": {
      const [who, data] = list ?? [];
      if (!isAddress(who) || (typeof data !== "string" && !isObject(data))) {
        throw new InvalidParamsRpcError("eth_signTypedData_v4 expects [address, typedData].");
      }
      allowed(who);
      return params;
    }
    case "wallet_switchEthereumChain":
    case "wallet_addEthereumChain": {
      const first = list?.[0];
      // EIP-3326 / EIP-3085: chainId is a 0x-prefixed hex string.
      if (
        !isObject(first) ||
        typeof first.chainId !== "string" ||
        !/^0x[0-9a-fA-F]{1,14}$/.test(first.chainId)
      ) {
        throw new InvalidParamsRpcError(`${method} expects [{chainId: 0x-hex, …}].`);
      }
      return params;
    }
  }
}
