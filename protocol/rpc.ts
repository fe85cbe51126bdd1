/**
 * The methods the connector knows, as one table of {Method, Parameters, ReturnType} (viem's style),
 * and where each one is answered: by the wallet through the relay, by the chain's RPC node, or by
 * the extension itself.
 */

type Hex = `0x${string}`;
type Address = `0x${string}`;

export type TransactionRequest = {
  from: Address;
  to?: Address;
  value?: Hex;
  data?: Hex;
  gas?: Hex;
  gasPrice?: Hex;
  maxFeePerGas?: Hex;
  maxPriorityFeePerGas?: Hex;
  nonce?: Hex;
  chainId?: Hex;
};

export type AddEthereumChainParameter = {
  chainId: Hex;
  chainName: string;
  rpcUrls: string[];
  nativeCurrency?: { name: string; symbol: string; decimals: number };
  blockExplorerUrls?: string[];
};

/** EIP-2255 permission object. */
export type Permission = {
  parentCapability: string;
  invoker: string;
  caveats?: { type: string; value: unknown }[];
};

export type WalletRpcSchema = [
  { Method: "eth_requestAccounts"; Parameters?: undefined; ReturnType: Address[] },
  { Method: "eth_accounts"; Parameters?: undefined; ReturnType: Address[] },
  { Method: "eth_chainId"; Parameters?: undefined; ReturnType: Hex },
  { Method: "eth_sendTransaction"; Parameters: [TransactionRequest]; ReturnType: Hex },
  { Method: "personal_sign"; Parameters: [data: Hex, address: Address]; ReturnType: Hex },
  { Method: "eth_signTypedData_v4"; Parameters: [address: Address, typedData: string]; ReturnType: Hex },
  { Method: "wallet_switchEthereumChain"; Parameters: [{ chainId: Hex }]; ReturnType: null },
  { Method: "wallet_addEthereumChain"; Parameters: [AddEthereumChainParameter]; ReturnType: null },
  { Method: "wallet_getPermissions"; Parameters?: undefined; ReturnType: Permission[] },
  { Method: "wallet_requestPermissions"; Parameters: [Record<string, unknown>]; ReturnType: Permission[] },
  { Method: "wallet_revokePermissions"; Parameters: [Record<string, unknown>]; ReturnType: null },
];

export type RpcMethod = WalletRpcSchema[number]["Method"];

/** Methods that need the user's key or consent: sealed and sent to the wallet through the relay. */
export const WALLET_METHODS = [
  "eth_sendTransaction",
  "personal_sign",
  "eth_signTypedData_v4",
  "wallet_switchEthereumChain",
  "wallet_addEthereumChain",
] as const;
export type WalletMethod = (typeof WALLET_METHODS)[number];

/** Read-only JSON-RPC answered by the chain's node, never the phone. */
export const READ_ONLY_METHODS = [
  "eth_blockNumber",
  "eth_call",
  "eth_estimateGas",
  "eth_feeHistory",
  "eth_gasPrice",
  "eth_getBalance",
  "eth_getBlockByHash",
  "eth_getBlockByNumber",
  "eth_getBlockTransactionCountByHash",
  "eth_getBlockTransactionCountByNumber",
  "eth_getCode",
  "eth_getLogs",
  "eth_getStorageAt",
  "eth_getTransactionByHash",
  "eth_getTransactionCount",
  "eth_getTransactionReceipt",
  "eth_maxPriorityFeePerGas",
  "eth_syncing",
  "net_version",
  "web3_clientVersion",
] as const;

export function isWalletMethod(method: string): method is WalletMethod {
  return (WALLET_METHODS as readonly string[]).includes(method);
}

export function isReadOnlyMethod(method: string): boolean {
  return (READ_ONLY_METHODS as readonly string[]).includes(method);
}
