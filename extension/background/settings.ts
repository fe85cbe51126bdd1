/**
 * The options page's settings: validated here (the background is the only writer), defaults filled in
 * on read so a fresh install works against the local relay of `npm start`.
 */
import { z } from "zod";
import { DEFAULT_RELAY_URL } from "../shared/constants.ts";
import type { Settings } from "../shared/storageTypes.ts";
import { getLocal, updateLocal } from "./storage.ts";

export const DEFAULT_SETTINGS: Settings = {
  relayUrl: DEFAULT_RELAY_URL,
  rpcUrls: {},
  takeOverWindowEthereum: false,
};

export class SettingsError extends Error {
  override name = "SettingsError";
}

/** An http(s) URL without credentials, query or fragment (docs/PROTOCOL.md §2.3), no trailing slash. */
function relayUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new SettingsError(`relay URL: "${text}" is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new SettingsError("relay URL: must be http or https");
  if (url.username || url.password || url.search || url.hash) {
    throw new SettingsError("relay URL: no credentials, query or fragment");
  }
  return url.href.replace(/\/+$/, "");
}

function rpcUrl(chainId: string, text: string): string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new SettingsError(`RPC URL for chain ${chainId}: "${text}" is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new SettingsError(`RPC URL for chain ${chainId}: must be http or https`);
  }
  return url.href;
}

/** A chain id given as decimal or 0x-hex → canonical 0x-hex (EIP-695: lower case, no leading zeros). */
export function normalizeChainId(value: string): string {
  const text = value.trim();
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(text))
    throw new SettingsError(`chain id: "${value}" is not a number`);
  const n = BigInt(text);
  if (n <= 0n || n > BigInt(Number.MAX_SAFE_INTEGER))
    throw new SettingsError(`chain id: ${value} is out of range`);
  return `0x${n.toString(16)}`;
}

const SettingsInput = z.object({
  relayUrl: z.string(),
  rpcUrls: z.record(z.string(), z.string()),
  takeOverWindowEthereum: z.boolean(),
});

export async function getSettings(): Promise<Settings> {
  return { ...DEFAULT_SETTINGS, ...(await getLocal("settings")) };
}

export async function saveSettings(input: unknown): Promise<Settings> {
  const parsed = SettingsInput.safeParse(input);
  if (!parsed.success)
    throw new SettingsError("settings: expected {relayUrl, rpcUrls, takeOverWindowEthereum}");
  const rpcUrls: Record<string, string> = {};
  for (const [chain, url] of Object.entries(parsed.data.rpcUrls)) {
    if (!chain.trim() && !url.trim()) continue;
    const chainId = normalizeChainId(chain);
    rpcUrls[chainId] = rpcUrl(chainId, url);
  }
  const settings: Settings = {
    relayUrl: relayUrl(parsed.data.relayUrl),
    rpcUrls,
    takeOverWindowEthereum: parsed.data.takeOverWindowEthereum,
  };
  await updateLocal("settings", () => settings);
  return settings;
}
