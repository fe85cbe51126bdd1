/**
 * What each origin's provider may know (ProviderState), and pushing it to every live frame whenever
 * it changes. The page turns differences into EIP-1193 events (connect, disconnect, chainChanged,
 * accountsChanged), so one snapshot after a worker restart repairs anything it missed.
 */
import type { ProviderState } from "../shared/messages.ts";
import type { PairedWallet, Settings } from "../shared/storageTypes.ts";
import { allLinks, type BridgeLink, post } from "./links.ts";
import { getSettings } from "./settings.ts";
import { getSession } from "./storage.ts";

/** The chain the provider reports: the wallet's; unpaired, the first chain with an RPC URL, else mainnet. */
export function currentChainId(wallet: PairedWallet | undefined, settings: Settings): string {
  return wallet?.session.chainId ?? Object.keys(settings.rpcUrls)[0] ?? "0x1";
}

async function snapshot() {
  const [wallet, permissions, settings] = await Promise.all([
    getSession("wallet"),
    getSession("permissions"),
    getSettings(),
  ]);
  return (origin: string): ProviderState => ({
    chainId: currentChainId(wallet, settings),
    accounts: wallet && permissions && Object.hasOwn(permissions, origin) ? [...wallet.session.accounts] : [],
    connected: wallet !== undefined,
    takeOver: settings.takeOverWindowEthereum,
  });
}

export async function providerStateFor(origin: string): Promise<ProviderState> {
  return (await snapshot())(origin);
}

export async function sendState(link: BridgeLink): Promise<void> {
  post(link, { type: "state", state: await providerStateFor(link.origin) });
}

export async function broadcastState(): Promise<void> {
  const stateFor = await snapshot();
  for (const link of allLinks()) post(link, { type: "state", state: stateFor(link.origin) });
}
