// Regenerates docs/test-vectors.json from protocol/testVectors.ts (run: npx tsx scripts/write-test-vectors.ts).
// Only a deliberate protocol change should ever change this file; the unit tests compare against it.
import { writeFileSync } from "node:fs";
import { computeTestVectors } from "../protocol/testVectors.ts";

writeFileSync(
  new URL("../docs/test-vectors.json", import.meta.url),
  `${JSON.stringify(computeTestVectors(), null, 2)}\n`,
);
