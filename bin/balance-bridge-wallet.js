#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so a fresh clone needs no separate build step.
import { register } from "tsx/esm/api";

register();
await import("../wallet/cli.ts");
