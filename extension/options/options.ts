/**
 * The options page: relay URL, an RPC URL per chain, "take over window.ethereum". The background
 * validates and stores them (and tells open pages about the take-over setting).
 */
import { DEFAULT_RELAY_URL } from "../shared/constants.ts";
import type { PairedWallet, Settings } from "../shared/storageTypes.ts";
import { h } from "../ui/h.ts";
import { sendUiMessage } from "../ui/sendUiMessage.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>("form");
const rows = $<HTMLDivElement>("rpc-rows");
const status = $<HTMLParagraphElement>("status");

function addRow(chainId = "", url = "") {
  const chain = h("input", {
    type: "text",
    class: "rpc-chain",
    placeholder: "31337",
    "aria-label": "Chain id",
  });
  chain.value = chainId;
  const rpc = h("input", {
    type: "url",
    class: "rpc-url",
    placeholder: "http://127.0.0.1:8545",
    "aria-label": "RPC URL",
  });
  rpc.value = url;
  const row = h("div", { class: "rpc-row" }, chain, rpc);
  row.append(h("button", { type: "button", class: "remove-rpc", onclick: () => row.remove() }, "Remove"));
  rows.append(row);
}

async function load() {
  const [local, session] = await Promise.all([
    chrome.storage.local.get("settings"),
    chrome.storage.session.get("wallet"),
  ]);
  const settings = local.settings as Partial<Settings> | undefined;
  const wallet = session.wallet as PairedWallet | undefined;
  $<HTMLInputElement>("relay-url").value = settings?.relayUrl ?? DEFAULT_RELAY_URL;
  $<HTMLInputElement>("take-over").checked = settings?.takeOverWindowEthereum ?? false;
  rows.replaceChildren();
  const rpcUrls = settings?.rpcUrls ?? {};
  for (const [chainId, url] of Object.entries(rpcUrls)) addRow(String(Number.parseInt(chainId, 16)), url);
  // Offer the paired wallet's chains that have no entry yet.
  for (const c of wallet?.session.chains ?? [])
    if (!rpcUrls[c.chainId]) addRow(String(Number.parseInt(c.chainId, 16)), c.rpcUrl ?? "");
  if (rows.childElementCount === 0) addRow();
}

$<HTMLButtonElement>("add-rpc").addEventListener("click", () => addRow());

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const rpcUrls: Record<string, string> = {};
  for (const row of rows.querySelectorAll(".rpc-row")) {
    const chain = (row.querySelector(".rpc-chain") as HTMLInputElement).value.trim();
    const url = (row.querySelector(".rpc-url") as HTMLInputElement).value.trim();
    if (chain || url) rpcUrls[chain] = url;
  }
  const settings = {
    relayUrl: $<HTMLInputElement>("relay-url").value,
    rpcUrls,
    takeOverWindowEthereum: $<HTMLInputElement>("take-over").checked,
  };
  status.className = "small";
  status.textContent = "Saving…";
  sendUiMessage({ type: "ui:saveSettings", settings })
    .then(async () => {
      status.className = "small ok";
      status.textContent = "Saved.";
      await load();
    })
    .catch((error: unknown) => {
      status.className = "small error";
      status.textContent = error instanceof Error ? error.message : String(error);
    });
});

void load();
