/**
 * The extension's MV3 manifest (built into dist/manifest.json by @crxjs/vite-plugin).
 *
 * - `key` (extension/extensionId.ts): fixes the extension id, `fmnimmajkfnhflnjhbneacdkmogmgbpd`, so
 *   tests and docs can name it.
 * - Content scripts, both at document_start, in the top frame of http(s) pages: the bridge
 *   (ISOLATED world) first, then the provider (MAIN world, EIP-1193 + EIP-6963). Both are built as
 *   standalone IIFE files (vite.config.ts) so they run synchronously, not through a module loader.
 * - host_permissions: the content scripts' pages, and fetch from the worker to any relay and RPC node
 *   the user configures.
 */
import { defineManifest } from "@crxjs/vite-plugin";
import { EXTENSION_KEY, PAGES } from "./extension/extensionId.ts";
import pkg from "./package.json" with { type: "json" };

export const PROVIDER_SCRIPT = "extension/provider/provider.ts";
export const BRIDGE_SCRIPT = "extension/bridge/bridge.ts";

const pages = ["http://*/*", "https://*/*"];

export default defineManifest({
  manifest_version: 3,
  name: "Balance Bridge",
  description:
    "Use your phone wallet on any dapp: EIP-1193 / EIP-6963 provider, paired by QR code over an end-to-end encrypted relay.",
  version: pkg.version,
  key: EXTENSION_KEY,
  // world: "MAIN" content scripts in the manifest (111), port messages keep the worker alive (114),
  // 30 s alarms (120).
  minimum_chrome_version: "120",
  icons: {
    16: "icons/icon-16.png",
    32: "icons/icon-32.png",
    48: "icons/icon-48.png",
    128: "icons/icon-128.png",
  },
  action: {
    default_title: "Balance Bridge",
    default_popup: PAGES.popup,
    default_icon: { 16: "icons/icon-16.png", 32: "icons/icon-32.png" },
  },
  options_ui: { page: PAGES.options, open_in_tab: true },
  background: { service_worker: "extension/background/background.ts", type: "module" },
  content_scripts: [
    { matches: pages, js: [BRIDGE_SCRIPT], run_at: "document_start", world: "ISOLATED" },
    { matches: pages, js: [PROVIDER_SCRIPT], run_at: "document_start", world: "MAIN" },
  ],
  permissions: ["storage", "alarms", "notifications"],
  host_permissions: pages,
});
