/**
 * Everything an e2e file starts: Chromium with the built extension, two dapp origins, the real relay
 * process (memory store, no rate limit), a Hardhat node, and the reference wallet on its first
 * account; the extension's options point at that relay and that node. `stop()` tears it down in order.
 */
import { type ExtensionBrowser, launchExtensionBrowser } from "./chromium.ts";
import { type DappServers, startDappServers } from "./extensionDapp.ts";
import { configureOptions } from "./extensionSetup.ts";
import { createTestWallet, type TestWallet } from "./extensionWallet.ts";
import { type HardhatNode, startHardhatNode } from "./hardhat.ts";
import { type RelayProcess, startRelayProcess } from "./relayProcess.ts";

export type E2eWorld = {
  browser: ExtensionBrowser;
  dapps: DappServers;
  relay: RelayProcess;
  chain: HardhatNode;
  wallet: TestWallet;
  stop(): Promise<void>;
};

export async function startE2eWorld(): Promise<E2eWorld> {
  const [browser, dapps, relay, chain] = await Promise.all([
    launchExtensionBrowser(),
    startDappServers(),
    startRelayProcess({ args: ["--store", "memory", "--rate-limit", "0"] }),
    startHardhatNode(),
  ]);
  const key = chain.accounts[0]?.privateKey;
  if (!key) throw new Error("no Hardhat account");
  const wallet = await createTestWallet({ privateKey: key, rpcUrl: chain.rpcUrl });
  await configureOptions(browser, { relayUrl: relay.url, rpc: [[String(chain.chainId), chain.rpcUrl]] });
  return {
    browser,
    dapps,
    relay,
    chain,
    wallet,
    async stop() {
      await wallet.stop();
      await browser.close();
      await Promise.all([dapps.close(), relay.stop(), chain.stop()]);
    },
  };
}
