/**
 * Read-only JSON-RPC (protocol/rpc.ts READ_ONLY_METHODS) goes straight to the chain's node, never to
 * the phone: the options page's RPC URL for the chain, else the one the wallet suggested at pairing
 * (`chains[].rpcUrl`). The host permissions let the worker fetch any http(s) node.
 */
import {
  ChainDisconnectedError,
  InvalidParamsRpcError,
  providerErrorFromJSON,
  ResourceUnavailableRpcError,
} from "../../protocol/errors.ts";
import type { PairedWallet, Settings } from "../shared/storageTypes.ts";

const RPC_TIMEOUT_MS = 30_000;

export function rpcUrlFor(
  chainId: string,
  settings: Settings,
  wallet: PairedWallet | undefined,
): string | undefined {
  return (
    settings.rpcUrls[chainId] ??
    wallet?.session.chains.find((c) => c.chainId.toLowerCase() === chainId)?.rpcUrl
  );
}

export async function readOnlyCall(
  url: string | undefined,
  chainId: string,
  method: string,
  params: unknown,
) {
  if (!url) {
    throw new ChainDisconnectedError(
      `No RPC node for chain ${chainId}: set one on the Balance Bridge options page.`,
    );
  }
  if (params !== undefined && !Array.isArray(params))
    throw new InvalidParamsRpcError(`${method} expects an array of params.`);
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: params ?? [] }),
      signal: AbortSignal.timeout(RPC_TIMEOUT_MS),
    });
  } catch (error) {
    throw new ResourceUnavailableRpcError(
      `The RPC node for chain ${chainId} is unreachable: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  let body: { result?: unknown; error?: unknown };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new ResourceUnavailableRpcError(
      `The RPC node for chain ${chainId} answered HTTP ${res.status} without JSON.`,
    );
  }
  if (body.error !== undefined) throw providerErrorFromJSON(body.error);
  if (!("result" in body))
    throw new ResourceUnavailableRpcError(`The RPC node for chain ${chainId} answered without a result.`);
  return body.result;
}
