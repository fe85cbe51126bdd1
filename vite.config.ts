/**
 * `npm run build` (vite build) → dist/, the unpacked extension (chrome://extensions → Load unpacked).
 *
 * @crxjs/vite-plugin builds the manifest's entries; the two content scripts are "standalone" files,
 * i.e. self-contained IIFE bundles with no loader, which is what a MAIN-world script at
 * document_start must be. The connect window's page is not in the manifest, so it is an extra input.
 * After the build, the provider's size is printed and held to its 10 KB budget: the page downloads
 * and parses it on every http(s) page.
 */
import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { crx } from "@crxjs/vite-plugin";
import { defineConfig, type Plugin } from "vite";
import { PAGES } from "./extension/extensionId.ts";
import manifest, { BRIDGE_SCRIPT, PROVIDER_SCRIPT } from "./manifest.config.ts";

const PROVIDER_BUDGET_BYTES = 10 * 1024;

function providerSizeReport(): Plugin {
  return {
    name: "balance-bridge:provider-size",
    apply: "build",
    closeBundle() {
      const built = JSON.parse(readFileSync(resolve("dist/manifest.json"), "utf8")) as {
        content_scripts?: { js?: string[]; world?: string }[];
      };
      const file = built.content_scripts?.find((s) => s.world === "MAIN")?.js?.[0];
      if (!file) throw new Error("provider size: no MAIN-world content script in dist/manifest.json");
      const bytes = statSync(resolve("dist", file)).size;
      const gzip = gzipSync(readFileSync(resolve("dist", file))).length;
      console.log(
        `\nprovider (MAIN world) dist/${file}: ${bytes} bytes minified, ${gzip} bytes gzip (budget ${PROVIDER_BUDGET_BYTES})`,
      );
      if (bytes > PROVIDER_BUDGET_BYTES) {
        throw new Error(`provider script is ${bytes} bytes, over its ${PROVIDER_BUDGET_BYTES}-byte budget`);
      }
    },
  };
}

export default defineConfig({
  publicDir: "extension/public",
  plugins: [
    crx({ manifest, contentScripts: { standaloneFiles: [PROVIDER_SCRIPT, BRIDGE_SCRIPT] } }),
    providerSizeReport(),
  ],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "chrome120",
    rollupOptions: { input: { connect: PAGES.connect } },
  },
  server: { strictPort: true, port: 5173, hmr: { port: 5173 } },
});
