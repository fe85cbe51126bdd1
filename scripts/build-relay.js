#!/usr/bin/env node
// Bundles the relay (relay/cli.ts and everything it imports) into build/relay.js with esbuild, so that
// `bin/balance-bridge-relay.js` can run it without tsx: no TypeScript loader in the process, a few
// modules instead of hundreds, ≈ 40 MB less RSS at start (docs/BENCHMARKS.md). Native modules (lmdb and
// its msgpackr-extract) and packages that load files at run time stay external and load from
// node_modules. What the relay imports only when configured (the stores, `ioredis` for Redis, `web-push`
// for VAPID keys: dynamic `import()`s) goes to chunks in build/relay-chunks/, read only when imported.
// Also writes build/relay.meta.json: the inputs, which the bin script compares with the bundle's mtime to
// fall back to tsx when a source is newer (so an edit is never run stale), and the outputs.
//
//   node scripts/build-relay.js          build (quiet)
//   node scripts/build-relay.js --if-stale   build only when a source is newer than the bundle
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const BUNDLE = join(ROOT, "build", "relay.js");
export const META = join(ROOT, "build", "relay.meta.json");
const CHUNKS = join(ROOT, "build", "relay-chunks");

/** True when the bundle or one of its chunks is missing, or any input it was built from is newer (or gone). */
export function bundleIsStale() {
  if (!existsSync(BUNDLE) || !existsSync(META)) return true;
  const built = statSync(BUNDLE).mtimeMs;
  let meta;
  try {
    meta = JSON.parse(readFileSync(META, "utf8"));
  } catch {
    return true;
  }
  const { inputs, outputs } = meta;
  if (!Array.isArray(inputs) || !Array.isArray(outputs)) return true;
  for (const output of outputs) if (!existsSync(join(ROOT, output))) return true;
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
    absWorkingDir: ROOT,
    entryPoints: { relay: join(ROOT, "relay", "cli.ts") },
    outdir: dirname(BUNDLE),
    // Each dynamic import() gets its own chunk, loaded when imported: a relay without Redis or Web Push
    // never reads ioredis or web-push (≈ 450 KB of code).
    splitting: true,
    chunkNames: `${relative(dirname(BUNDLE), CHUNKS)}/[name]-[hash]`,
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
    // CommonJS dependencies (express, …) call require() for Node built-ins (in every chunk).
    banner: {
      js: 'import { createRequire as __bbCreateRequire } from "node:module"; const require = __bbCreateRequire(import.meta.url);',
    },
    metafile: true,
    sourcemap: "linked",
    // Whitespace only (names stay, for stack traces; positions map through the .map files). It drops the
    // comments, some of which (in dependencies) are not ASCII: one such character makes V8 hold the
    // whole module's source as UTF-16, twice its size (≈ 2.5 MB more RSS at start, ≈ 10 MB after a
    // burst of requests; docs/BENCHMARKS.md). esbuild escapes non-ASCII in strings itself (charset ascii).
    minifyWhitespace: true,
    keepNames: false,
    logLevel: "warning",
    legalComments: "none",
  });
  const inputs = Object.keys(result.metafile.inputs).map((p) => relative(ROOT, resolve(ROOT, p)));
  inputs.push("package-lock.json", "scripts/build-relay.js");
  const outputs = Object.keys(result.metafile.outputs).map((p) => relative(ROOT, resolve(ROOT, p)));
  // Chunks of earlier builds (their names carry a content hash): remove those this build did not write.
  const written = new Set(outputs.map((p) => resolve(ROOT, p)));
  for (const name of existsSync(CHUNKS) ? readdirSync(CHUNKS) : []) {
    if (!written.has(join(CHUNKS, name))) rmSync(join(CHUNKS, name), { force: true });
  }
  const code = outputs.filter((p) => p.endsWith(".js"));
  for (const p of code) {
    if (/[\u0080-\uffff]/.test(readFileSync(join(ROOT, p), "utf8"))) {
      console.warn(`build-relay: ${p} is not ASCII: V8 will hold its source as UTF-16 (twice the memory)`);
    }
  }
  writeFileSync(
    META,
    `${JSON.stringify({ builtAt: started.toISOString(), inputs, outputs: code }, null, 1)}\n`,
  );
  for (const p of code) utimesSync(join(ROOT, p), started, started);
  return { bundle: BUNDLE, bytes: statSync(BUNDLE).size, inputs: inputs.length, chunks: code.length - 1 };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes("--if-stale") && !bundleIsStale()) process.exit(0);
  const out = await buildRelay();
  console.log(
    `relay bundle: ${relative(ROOT, out.bundle)} (${(out.bytes / 1024).toFixed(0)} KB, ${out.chunks} chunks, ${out.inputs} inputs)`,
  );
}
