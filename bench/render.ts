/**
 * Re-renders a mode's section of docs/BENCHMARKS.md from the figures a run saved
 * (test-results/bench-<mode>.json), without measuring again: `node --import tsx bench/render.ts full`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./lib/processes.ts";
import { type Results, writeReport } from "./report.ts";

const mode = process.argv[2] === "quick" ? "quick" : "full";
const results = JSON.parse(readFileSync(join(ROOT, "test-results", `bench-${mode}.json`), "utf8")) as Results;
writeReport(join(ROOT, "docs", "BENCHMARKS.md"), results);
console.log(`docs/BENCHMARKS.md: ${mode} section re-rendered from test-results/bench-${mode}.json`);
