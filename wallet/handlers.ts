/**
 * What the wallet does for each method, in two steps so nothing is signed before the user agreed:
 * `prepare` checks the request (params, account, chain) and either answers at once (eth_accounts,
 * eth_chainId, a switch to the current chain) or throws the typed provider error to send back, or
 * returns a `run` to call once the request is approved.
 *
 * | method                      | approval | result / refusal                                                |
 * |-----------------------------|----------|-----------------------------------------------------------------|
 * | eth_accounts, eth_requestAccounts, eth_chainId | no | answered locally                              |
 * | eth_sendTransaction         | yes      | tx hash; 4100 other `from`; 4901 other chain or no RPC          |
 * | personal_sign               | yes      | signature (EIP-191); 4100 other address                         |
 * | eth_signTypedData_v4        | yes      | signature (EIP-712); 4100 other address                         |
 * | wallet_switchEthereumChain  | yes      | null + chainChanged event; 4902 chain not configured            |
 * | wallet_addEthereumChain     | no       | null if the chain is configured locally; else 4902              |
 * | anything else               | no       | 4200 UnsupportedMethodError                                     |
 */
import type { Hex, LocalAccount, TransactionSerializable } from "viem";
import { prepareTransactionRequest, sendRawTransaction } from "viem/actions";
import {
  ChainDisconnectedError,
  InvalidParamsRpcError,
  ProviderRpcError,
  providerErrorFromJSON,
  TransactionRejectedRpcError,
  UnauthorizedError,
  UnrecognizedChainError,
  UnsupportedMethodError,
} from "../protocol/errors.ts";
import type { RequestPayload } from "../protocol/schemas.ts";
import { type ChainRegistry, sameChainId } from "./chains.ts";
import {
  parseAddChainParams,
  parsePersonalSignParams,
  parseSwitchChainParams,
  parseTransactionParams,
  parseTypedDataParams,
  sameAddress,
} from "./params.ts";

export type HandlerContext = {
  /** The session's accounts (the first one is the signer's). */
  accounts: string[];
  /** The session's current chain, 0x-hex. */
  chainId: string;
};

export type HandlerOutcome = {
  result: unknown;
  /** Set when the request moved the session to another chain (the wallet emits chainChanged). */
  chainChanged?: string;
};

export type PreparedRequest =
  | { kind: "local"; outcome: HandlerOutcome }
  | {
      kind: "approve";
      /** True when running it has effects beyond this wallet (a transaction is broadcast). */
      sideEffects: boolean;
      run(): Promise<HandlerOutcome>;
    };

export type Handlers = {
  /** Throws a ProviderRpcError when the request is refused outright. */
  prepare(payload: RequestPayload, ctx: HandlerContext): PreparedRequest;
};

/**
 * Turns a viem / RPC failure into a provider error: the node's JSON-RPC code when it gave one (e.g.
 * -32000 for "insufficient funds"), with the node's own words, which say more than viem's summary.
 */
export function rpcFailure(error: unknown, fallback = "Transaction failed"): ProviderRpcError {
  if (error instanceof ProviderRpcError) return error;
  type ViemLike = { shortMessage?: string; message?: string; details?: string; code?: unknown };
  const e = error as ViemLike & { walk?: (fn: (e: unknown) => boolean) => unknown };
  const inner = e?.walk?.(
    (x) => Number.isInteger((x as ViemLike).code) && ((x as ViemLike).code as number) < 0,
  ) as ViemLike | undefined;
  const summary = (e?.shortMessage ?? e?.message ?? fallback).split("\n")[0] ?? fallback;
  const details = inner?.details ?? e?.details;
  const message = details && !summary.includes(details) ? `${summary} ${details}` : summary;
  if (inner && typeof inner.code === "number") return providerErrorFromJSON({ code: inner.code, message });
  return new TransactionRejectedRpcError(message);
}

export function createHandlers(options: { signer: LocalAccount; chains: ChainRegistry }): Handlers {
  const { signer, chains } = options;

  const requireOwn = (who: string) => {
    if (!sameAddress(who, signer.address)) {
      throw new UnauthorizedError(`${who} is not an account of this wallet`);
    }
  };

  function sendTransaction(payload: RequestPayload, ctx: HandlerContext): PreparedRequest {
    const tx = parseTransactionParams(payload.params);
    if (tx.from !== undefined) requireOwn(tx.from);
    if (!sameChainId(payload.chainId, ctx.chainId)) {
      throw new ChainDisconnectedError(
        `the wallet is on chain ${BigInt(ctx.chainId)}, not ${BigInt(payload.chainId)}; switch chains first`,
      );
    }
    if (tx.chainId !== undefined && !sameChainId(tx.chainId, ctx.chainId)) {
      throw new ChainDisconnectedError(`the transaction's chainId ${tx.chainId} is not the wallet's chain`);
    }
    const entry = chains.get(ctx.chainId);
    const client = entry?.client;
    if (!entry || !client) {
      throw new ChainDisconnectedError(`this wallet has no RPC for chain ${BigInt(ctx.chainId)}`);
    }
    return {
      kind: "approve",
      sideEffects: true,
      async run() {
        const request: Record<string, unknown> = {
          account: signer,
          chain: entry.chain,
          to: tx.to,
          value: tx.value,
          data: tx.data,
          gas: tx.gas,
          nonce: tx.nonce,
          gasPrice: tx.gasPrice,
          maxFeePerGas: tx.maxFeePerGas,
          maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
        };
        for (const key of Object.keys(request)) if (request[key] === undefined) delete request[key];
        let serializedTransaction: Hex;
        try {
          const prepared = await prepareTransactionRequest(
            client,
            request as unknown as Parameters<typeof prepareTransactionRequest>[1],
          );
          serializedTransaction = await signer.signTransaction(
            prepared as unknown as TransactionSerializable,
          );
        } catch (error) {
          throw rpcFailure(error, "Could not prepare the transaction");
        }
        try {
          const hash = await sendRawTransaction(client, { serializedTransaction });
          return { result: hash };
        } catch (error) {
          throw rpcFailure(error, "The node refused the transaction");
        }
      },
    };
  }

  function personalSign(payload: RequestPayload): PreparedRequest {
    const p = parsePersonalSignParams(payload.params);
    requireOwn(p.address);
    return {
      kind: "approve",
      sideEffects: false,
      run: async () => ({ result: await signer.signMessage({ message: { raw: p.raw } }) }),
    };
  }

  function signTypedData(payload: RequestPayload, ctx: HandlerContext): PreparedRequest {
    const p = parseTypedDataParams(payload.params);
    requireOwn(p.address);
    const domainChain = p.typedData.domain.chainId;
    if (domainChain !== undefined && !sameChainId(String(domainChain), ctx.chainId)) {
      throw new InvalidParamsRpcError(
        `the typed data's domain chainId ${String(domainChain)} must be the active chain ${ctx.chainId}`,
      );
    }
    return {
      kind: "approve",
      sideEffects: false,
      async run() {
        try {
          const signature = await signer.signTypedData(
            p.typedData as unknown as Parameters<LocalAccount["signTypedData"]>[0],
          );
          return { result: signature };
        } catch (error) {
          const message = (error as { shortMessage?: string }).shortMessage ?? (error as Error).message;
          throw new InvalidParamsRpcError(`cannot sign this typed data: ${message}`);
        }
      },
    };
  }

  function switchChain(payload: RequestPayload, ctx: HandlerContext): PreparedRequest {
    const target = parseSwitchChainParams(payload.params);
    if (sameChainId(target, ctx.chainId)) return { kind: "local", outcome: { result: null } };
    const entry = chains.get(target);
    if (!entry) {
      throw new UnrecognizedChainError(
        `Unrecognized chain ID ${target}: this wallet has no RPC configured for it (start it with --rpc <url>).`,
      );
    }
    return {
      kind: "approve",
      sideEffects: false,
      run: async () => ({ result: null, chainChanged: entry.chainId }),
    };
  }

  function addChain(payload: RequestPayload): PreparedRequest {
    const p = parseAddChainParams(payload.params);
    // The wallet never takes an RPC URL from a dapp (it would decide what the user sees as balances and
    // could front-run): a chain is "added" only if the operator configured it with --rpc already.
    if (chains.get(p.chainId)) return { kind: "local", outcome: { result: null } };
    throw new UnrecognizedChainError(
      `Chain ${p.chainId} is not configured in this wallet, and it does not accept RPC URLs from dapps; the operator can add it with --rpc <url>.`,
    );
  }

  return {
    prepare(payload, ctx) {
      switch (payload.method) {
        case "eth_accounts":
        case "eth_requestAccounts":
          return { kind: "local", outcome: { result: [...ctx.accounts] } };
        case "eth_chainId":
          return { kind: "local", outcome: { result: ctx.chainId } };
        case "eth_sendTransaction":
          return sendTransaction(payload, ctx);
        case "personal_sign":
          return personalSign(payload);
        case "eth_signTypedData_v4":
          return signTypedData(payload, ctx);
        case "wallet_switchEthereumChain":
          return switchChain(payload, ctx);
        case "wallet_addEthereumChain":
          return addChain(payload);
        default:
          throw new UnsupportedMethodError(`The wallet does not support ${payload.method.slice(0, 100)}.`);
      }
    },
  };
}
