#!/usr/bin/env node
// Bundles the relay (relay/cli.ts and everything it imports) into build/relay.js with esbuild, so that
// `bin/balance-bridge-relay.js` can run it without tsx: no TypeScript loader in the process, one module
// instead of hundreds, ≈ 40 MB less RSS at start (docs/BENCHMARKS.md). Native modules (lmdb and its
// msgpackr-extract) and packages that load files at run time stay external and load from
// node_modules. Also writes build/relay.meta.json: the inputs, which the bin script compares with the
// bundle's mtime to fall back to tsx when a source is newer (so an edit is never run stale).
//
//   node scripts/build-relay.js          build (quiet)
//   node scripts/build-relay.js --if-stale   build only when a source is newer than the bundle
import { existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const BUNDLE = join(ROOT, "build", "relay.js");
export const META = join(ROOT, "build", "relay.meta.json");

/** True when the bundle is missing, or any input it was built from is newer (or gone). */
export function bundleIsStale() {
  if (!existsSync(BUNDLE) || !existsSync(META)) return true;
  const built = statSync(BUNDLE).mtimeMs;
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(META, "utf8")).inputs;
  } catch {
    return true;
  }
  if (!Array.isArray(inputs)) return true;
  for (const input of inputs) {
    try {
      if (statSync(join(ROOT, input)).mtimeMs > built) return true;
    } catch {
      return true;
    }
  }
  return false;
}

export async function buildRelay() {
  const { build } = await import("esbuild");
  mkdirSync(dirname(BUNDLE), { recursive: true });
  // The bundle's mtime is set to when the build started: a source edited while esbuild ran counts as newer.
  const started = new Date();
  const result = await build({
    entryPoints: [join(ROOT, "relay", "cli.ts")],
    outfile: BUNDLE,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // Native addons and their loaders find .node files relative to their own package: keep them out.
    external: [
      "lmdb",
      "msgpackr-extract",
      "@node-rs/*",
      "node-gyp-build",
      "node-gyp-build-optional-packages",
    ],
    // CommonJS dependencies (express, …) call require() for Node built-ins.
    banner: {
      js: 'import { createRequire as __bbCreateRequire } from "node:module"; const require = __bbCreateRequire(import.meta.url);',
    },
    metafile: true,
    sourcemap: "linked",
    minify: false,
    keepNames: false,
    logLevel: "warning",
    legalComments: "none",
  });
  const inputs = Object.keys(result.metafile.inputs).map((p) => relative(ROOT, resolve(ROOT, p)));
  inputs.push("package-lock.json", "scripts/build-relay.js");
  writeFileSync(META, `${JSON.stringify({ builtAt: started.toISOString(), inputs }, null, 1)}\n`);
  utimesSync(BUNDLE, started, started);
  return { bundle: BUNDLE, bytes: statSync(BUNDLE).size, inputs: inputs.length };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--if-stale") && !bundleIsStale()) process.exit(0);
  const out = await buildRelay();
  console.log(
    `relay bundle: ${relative(ROOT, out.bundle)} (${(out.bytes / 1024).toFixed(0)} KB, ${out.inputs} inputs)`,
  );
}
