/**
 * The chains the wallet can act on: one per `--rpc <url>` (its chain id read from the node with
 * eth_chainId, never trusted from a dapp), plus `--chain-id` to pick the starting chain, or to declare
 * a chain for signing only when no RPC is given.
 */
import { type Chain, createPublicClient, defineChain, http, type PublicClient } from "viem";

export type ChainEntry = {
  /** 0x-hex, lower case, no leading zeros (the wire form). */
  chainId: string;
  id: number;
  /** Undefined for a signing-only chain (`--chain-id` without an RPC). */
  rpcUrl: string | undefined;
  chain: Chain;
  client: PublicClient | undefined;
};

export type ChainRegistry = {
  /** The chain a new session starts on. */
  readonly defaultChainId: string;
  get(chainId: string): ChainEntry | undefined;
  /** True when the wallet has an RPC for this chain (it can switch to it and send on it). */
  hasRpc(chainId: string): boolean;
  list(): ChainEntry[];
};

export class ChainConfigError extends Error {
  override name = "ChainConfigError";
}

/** Canonical wire form of a chain id given as a number, decimal string or 0x-hex string. */
export function toChainIdHex(value: string | number | bigint): string {
  let n: bigint;
  try {
    if (typeof value === "string") {
      const text = value.trim();
      if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(text)) throw new Error("not a number");
      n = BigInt(text);
    } else {
      n = BigInt(value);
    }
  } catch {
    throw new ChainConfigError(`"${String(value)}" is not a chain id (decimal or 0x-hex)`);
  }
  if (n <= 0n || n > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ChainConfigError(`chain id ${String(value)} is out of range`);
  }
  return `0x${n.toString(16)}`;
}

/** Same chain id, whatever the spelling ("0x7A69", "0x07a69", 31337…); false for non-ids. */
export function sameChainId(a: unknown, b: unknown): boolean {
  try {
    return (
      (typeof a === "string" || typeof a === "number") &&
      (typeof b === "string" || typeof b === "number") &&
      toChainIdHex(a) === toChainIdHex(b)
    );
  } catch {
    return false;
  }
}

function makeChain(id: number, rpcUrl: string | undefined): Chain {
  return defineChain({
    id,
    name: `Chain ${id}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: rpcUrl ? [rpcUrl] : [] } },
  });
}

function checkRpcUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ChainConfigError(`--rpc "${url}" is not a URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ChainConfigError(`--rpc "${url}" must be an http(s) URL`);
  }
  return url;
}

/** Asks each RPC for its chain id (in parallel) and builds the registry. */
export async function createChainRegistry(
  options: { rpcUrls?: string[]; chainId?: string | number | undefined; timeoutMs?: number } = {},
): Promise<ChainRegistry> {
  const rpcUrls = (options.rpcUrls ?? []).map(checkRpcUrl);
  const entries = new Map<string, ChainEntry>();
  const found = await Promise.all(
    rpcUrls.map(async (rpcUrl) => {
      const probe = createPublicClient({
        transport: http(rpcUrl, { timeout: options.timeoutMs ?? 10_000, retryCount: 1 }),
      });
      let id: number;
      try {
        id = await probe.getChainId();
      } catch (error) {
        const why = (error as { shortMessage?: string }).shortMessage ?? (error as Error).message;
        throw new ChainConfigError(`cannot read eth_chainId from --rpc ${rpcUrl}: ${why}`);
      }
      return { rpcUrl, id };
    }),
  );
  for (const { rpcUrl, id } of found) {
    const chainId = toChainIdHex(id);
    const existing = entries.get(chainId);
    if (existing) {
      throw new ChainConfigError(`--rpc ${rpcUrl} and ${existing.rpcUrl} are both chain ${id}; give one`);
    }
    const chain = makeChain(id, rpcUrl);
    const client = createPublicClient({ chain, transport: http(rpcUrl, { retryCount: 1 }) });
    entries.set(chainId, { chainId, id, rpcUrl, chain, client });
  }

  let defaultChainId: string;
  if (options.chainId !== undefined && options.chainId !== "") {
    defaultChainId = toChainIdHex(options.chainId);
    if (!entries.has(defaultChainId)) {
      if (entries.size > 0) {
        const known = [...entries.values()].map((e) => `${e.id}`).join(", ");
        throw new ChainConfigError(
          `--chain-id ${options.chainId} matches none of the --rpc nodes (they are chain ${known})`,
        );
      }
      const id = Number(BigInt(defaultChainId));
      entries.set(defaultChainId, {
        chainId: defaultChainId,
        id,
        rpcUrl: undefined,
        chain: makeChain(id, undefined),
        client: undefined,
      });
    }
  } else {
    const first = entries.values().next().value;
    if (!first) throw new ChainConfigError("no chain: pass --rpc <url> (or --chain-id <id> to sign only)");
    defaultChainId = first.chainId;
  }

  const get = (chainId: string) => {
    try {
      return entries.get(toChainIdHex(chainId));
    } catch {
      return undefined;
    }
  };
  return {
    defaultChainId,
    get,
    hasRpc: (chainId) => get(chainId)?.client !== undefined,
    list: () => [...entries.values()],
  };
}
