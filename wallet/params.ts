/**
 * Strict parsing of the `params` of the methods the wallet signs for. A dapp's params are untrusted
 * input: anything malformed is an InvalidParamsRpcError (-32602) naming what is wrong, before anything
 * is shown to the user or signed.
 */
import { type Hex, isAddress, isHex, toHex } from "viem";
import { InvalidParamsRpcError } from "../protocol/errors.ts";
import { toChainIdHex } from "./chains.ts";

export type Address = `0x${string}`;

export type TransactionParams = {
  from: Address | undefined;
  to: Address | undefined;
  value: bigint | undefined;
  data: Hex | undefined;
  gas: bigint | undefined;
  gasPrice: bigint | undefined;
  maxFeePerGas: bigint | undefined;
  maxPriorityFeePerGas: bigint | undefined;
  nonce: number | undefined;
  chainId: string | undefined;
};

export type PersonalSignParams = {
  address: Address;
  /** The message bytes to sign (EIP-191 version 0x45), hex. */
  raw: Hex;
  /** True when the dapp sent a hex string (bytes), false when it sent text. */
  wasHex: boolean;
};

export type TypedData = {
  domain: Record<string, unknown>;
  types: Record<string, { name: string; type: string }[]>;
  primaryType: string;
  message: Record<string, unknown>;
};

export type TypedDataParams = { address: Address; typedData: TypedData };

export type AddChainParams = {
  chainId: string;
  chainName: string | undefined;
  rpcUrls: string[];
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function list(params: unknown, method: string, min: number): unknown[] {
  if (!Array.isArray(params) || params.length < min) {
    throw new InvalidParamsRpcError(`${method} expects an array of at least ${min} parameter(s)`);
  }
  return params;
}

function address(value: unknown, what: string): Address {
  if (typeof value !== "string" || !isAddress(value, { strict: false })) {
    throw new InvalidParamsRpcError(`${what} must be a 20-byte 0x address`);
  }
  return value as Address;
}

function quantity(value: unknown, what: string): bigint | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{1,64}$/.test(value)) {
    throw new InvalidParamsRpcError(`${what} must be a 0x-prefixed hex quantity`);
  }
  return BigInt(value);
}

function bytes(value: unknown, what: string): Hex | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || !isHex(value, { strict: true }) || value.length % 2 !== 0) {
    throw new InvalidParamsRpcError(`${what} must be 0x-prefixed hex bytes`);
  }
  return value.toLowerCase() as Hex;
}

export function parseTransactionParams(params: unknown): TransactionParams {
  const [tx] = list(params, "eth_sendTransaction", 1);
  if (!isObject(tx)) throw new InvalidParamsRpcError("eth_sendTransaction expects a transaction object");
  const data = bytes(tx.data, "data");
  const input = bytes(tx.input, "input");
  if (data !== undefined && input !== undefined && data !== input) {
    throw new InvalidParamsRpcError("data and input are both set and differ");
  }
  const nonce = quantity(tx.nonce, "nonce");
  if (nonce !== undefined && nonce > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InvalidParamsRpcError("nonce is out of range");
  }
  const gasPrice = quantity(tx.gasPrice, "gasPrice");
  const maxFeePerGas = quantity(tx.maxFeePerGas, "maxFeePerGas");
  const maxPriorityFeePerGas = quantity(tx.maxPriorityFeePerGas, "maxPriorityFeePerGas");
  if (gasPrice !== undefined && (maxFeePerGas !== undefined || maxPriorityFeePerGas !== undefined)) {
    throw new InvalidParamsRpcError("give gasPrice or maxFeePerGas/maxPriorityFeePerGas, not both");
  }
  let chainId: string | undefined;
  if (tx.chainId !== undefined && tx.chainId !== null) {
    try {
      chainId = toChainIdHex(tx.chainId as string);
    } catch {
      throw new InvalidParamsRpcError("chainId must be a 0x-prefixed hex quantity");
    }
  }
  const to = tx.to === undefined || tx.to === null ? undefined : address(tx.to, "to");
  if (to === undefined && (data ?? input) === undefined) {
    throw new InvalidParamsRpcError("a transaction without `to` (contract creation) needs data");
  }
  return {
    from: tx.from === undefined ? undefined : address(tx.from, "from"),
    to,
    value: quantity(tx.value, "value"),
    data: data ?? input,
    gas: quantity(tx.gas ?? tx.gasLimit, "gas"),
    gasPrice,
    maxFeePerGas,
    maxPriorityFeePerGas,
    nonce: nonce === undefined ? undefined : Number(nonce),
    chainId,
  };
}

const looksLikeAddress = (v: unknown) => typeof v === "string" && isAddress(v, { strict: false });

/**
 * personal_sign params are `[data, address]`. Some dapps send `[address, data]`; like MetaMask, the
 * wallet accepts that order when the first item is an address and the second is not.
 */
export function parsePersonalSignParams(params: unknown): PersonalSignParams {
  const [first, second] = list(params, "personal_sign", 2);
  const swapped = looksLikeAddress(first) && !looksLikeAddress(second);
  const data = swapped ? second : first;
  const who = swapped ? first : second;
  if (typeof data !== "string") throw new InvalidParamsRpcError("personal_sign data must be a string");
  const wasHex = isHex(data, { strict: true }) && data.length % 2 === 0;
  return {
    address: address(who, "personal_sign address"),
    raw: wasHex ? (data.toLowerCase() as Hex) : toHex(data),
    wasHex,
  };
}

/** eth_signTypedData_v4 params are `[address, typedData]`, typedData a JSON string (or an object). */
export function parseTypedDataParams(params: unknown): TypedDataParams {
  const [who, raw] = list(params, "eth_signTypedData_v4", 2);
  let value: unknown = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new InvalidParamsRpcError("typed data is not valid JSON");
    }
  }
  if (!isObject(value)) throw new InvalidParamsRpcError("typed data must be an object");
  const { domain, types, primaryType, message } = value;
  if (!isObject(types)) throw new InvalidParamsRpcError("typed data needs a types object");
  for (const [name, fields] of Object.entries(types)) {
    if (
      !Array.isArray(fields) ||
      !fields.every((f) => isObject(f) && typeof f.name === "string" && typeof f.type === "string")
    ) {
      throw new InvalidParamsRpcError(`typed data type ${name} must be a list of {name, type}`);
    }
  }
  if (typeof primaryType !== "string" || !Object.hasOwn(types, primaryType)) {
    throw new InvalidParamsRpcError("typed data primaryType must name one of its types");
  }
  if (domain !== undefined && !isObject(domain))
    throw new InvalidParamsRpcError("typed data domain must be an object");
  if (!isObject(message)) throw new InvalidParamsRpcError("typed data message must be an object");
  return {
    address: address(who, "eth_signTypedData_v4 address"),
    typedData: {
      domain: domain ?? {},
      types: types as TypedData["types"],
      primaryType,
      message,
    },
  };
}

export function parseSwitchChainParams(params: unknown): string {
  const [arg] = list(params, "wallet_switchEthereumChain", 1);
  if (!isObject(arg) || typeof arg.chainId !== "string" || !/^0x[0-9a-fA-F]+$/.test(arg.chainId)) {
    throw new InvalidParamsRpcError("wallet_switchEthereumChain expects [{chainId: 0x-hex}]");
  }
  try {
    return toChainIdHex(arg.chainId);
  } catch {
    throw new InvalidParamsRpcError(`chainId ${arg.chainId} is out of range`);
  }
}

export function parseAddChainParams(params: unknown): AddChainParams {
  const [arg] = list(params, "wallet_addEthereumChain", 1);
  if (!isObject(arg) || typeof arg.chainId !== "string" || !/^0x[0-9a-fA-F]+$/.test(arg.chainId)) {
    throw new InvalidParamsRpcError(
      "wallet_addEthereumChain expects [{chainId: 0x-hex, chainName, rpcUrls}]",
    );
  }
  let chainId: string;
  try {
    chainId = toChainIdHex(arg.chainId);
  } catch {
    throw new InvalidParamsRpcError(`chainId ${arg.chainId} is out of range`);
  }
  const rpcUrls = Array.isArray(arg.rpcUrls)
    ? arg.rpcUrls.filter((u): u is string => typeof u === "string")
    : [];
  return { chainId, chainName: typeof arg.chainName === "string" ? arg.chainName : undefined, rpcUrls };
}

export const sameAddress = (a: string | undefined, b: string | undefined) =>
  a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
