#!/usr/bin/env node
// `npm test`: installs what the system needs when missing, then lint + format (Biome), type-check, and
// the whole Vitest suite. Stops at the first failing step with its exit code.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const steps = [
  ["node", ["scripts/ensure-system.js"]],
  ["npx", ["biome", "ci", "."]],
  ["npx", ["tsc", "-p", "tsconfig.json"]],
  // The e2e tests load the built extension from dist/.
  ...(existsSync("vite.config.ts") ? [["npx", ["vite", "build", "--logLevel", "warn"]]] : []),
  ["npx", ["vitest", "run", ...process.argv.slice(2)]],
];
for (const [cmd, args] of steps) {
  console.log(`\n> ${cmd} ${args.join(" ")}`);
  const { status } = spawnSync(cmd, args, { stdio: "inherit" });
  if (status !== 0) process.exit(status ?? 1);
}
