#!/usr/bin/env node
// Installs the Debian packages the test suite needs (chromium for the extension's e2e tests,
// redis-server for the Redis store) when they are missing. Idempotent and quiet when all is there.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const wanted = [
  { bin: "/usr/bin/chromium", pkg: "chromium" },
  { bin: "/usr/bin/redis-server", pkg: "redis-server" },
];
const missing = wanted.filter((w) => !existsSync(w.bin)).map((w) => w.pkg);
if (missing.length === 0) process.exit(0);

if (process.platform !== "linux" || !existsSync("/usr/bin/apt-get")) {
  console.error(`Missing system packages: ${missing.join(", ")}. Install them with your package manager.`);
  process.exit(1);
}
const root = process.getuid?.() === 0;
const sudo = root ? [] : ["sudo", "-n"];
const run = (args) => {
  const [cmd, ...rest] = [...sudo, ...args];
  const { status } = spawnSync(cmd, rest, {
    stdio: "inherit",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  return status === 0;
};
console.log(`Installing system packages: ${missing.join(", ")}`);
if (!run(["apt-get", "install", "-y", "--no-install-recommends", ...missing])) {
  // A fresh machine has no package lists yet.
  if (
    !run(["apt-get", "update"]) ||
    !run(["apt-get", "install", "-y", "--no-install-recommends", ...missing])
  ) {
    console.error(
      `Could not install ${missing.join(", ")}; install them by hand (apt-get install ${missing.join(" ")}).`,
    );
    process.exit(1);
  }
}
try {
  execFileSync("/usr/bin/chromium", ["--version"], { stdio: "inherit" });
} catch {
  // chromium may print to stderr only in some builds; its presence is what counts.
}
