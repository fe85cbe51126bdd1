/**
 * Operator tools on the relay as an operator runs it (`node bin/balance-bridge-relay.js`): graceful
 * shutdown on SIGTERM (open long-polls get their empty answer at once, exit 0 promptly), the
 * subcommands working on the store of a running journal or LMDB relay (lockdown, block-device, report;
 * the journal's through the relay's control socket) and without one (keys), and one relay per journal
 * data directory.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dayOf } from "../../relay/telemetry.ts";
import { type RelayProcess, startRelayProcess } from "../support/relayProcess.ts";
import { createApi, errorOf, sealedSession, sleep, token, uuid } from "./helpers.ts";

const BIN = join(import.meta.dirname, "../../bin/balance-bridge-relay.js");
const root = mkdtempSync(join(tmpdir(), "bb-operator-process-"));
const running: RelayProcess[] = [];
afterAll(async () => {
  for (const p of running) await p.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

async function start(args: string[]): Promise<RelayProcess> {
  const p = await startRelayProcess({ args });
  running.push(p);
  return p;
}

/** Runs `balance-bridge-relay <args>` and collects its output. */
function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 20_000, // SIGTERM a command (or a relay started by mistake) that does not end
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString("utf8");
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > ms) throw new Error("condition not reached in time");
    await sleep(50);
  }
  return performance.now() - started;
}

describe("graceful shutdown", () => {
  it("on SIGTERM, open long-polls get their empty answer at once and the process exits 0", async () => {
    const relay = await start(["--store", "memory", "--rate-limit", "0", "--shutdown-timeout", "10"]);
    const api = createApi(relay.url);
    const t = token();
    await api.post("/v1/pairings", { token: t });
    const { sessionId: sid } = await api.pair();
    const pairingPoll = api.get(`/v1/pairings/${t}?wait=25`);
    const pullPoll = api.get(`/v1/sessions/${sid}/requests?wait=25`);
    await sleep(300);

    const sent = performance.now();
    process.kill(relay.pid, "SIGTERM");
    const [pairing, pull] = await Promise.all([pairingPoll, pullPoll]);
    const answered = performance.now() - sent;
    expect(pairing.status).toBe(204);
    expect(pull.status).toBe(200);
    expect(pull.body).toEqual({ requests: [] });
    expect(answered).toBeLessThan(1000);
    expect(await relay.exited).toEqual({ code: 0, signal: null });
    expect(performance.now() - sent).toBeLessThan(3000);
  });
});

describe("subcommands", () => {
  it("keys prints a VAPID key pair the relay accepts; a relay with them starts", async () => {
    const out = await cli(["keys", "--subject", "mailto:ops@relay.test"]);
    expect(out.code).toBe(0);
    const env = Object.fromEntries(
      out.stdout
        .split("\n")
        .filter((l) => /^BB_RELAY_VAPID_[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    expect(Object.keys(env).sort()).toEqual([
      "BB_RELAY_VAPID_PRIVATE_KEY",
      "BB_RELAY_VAPID_PUBLIC_KEY",
      "BB_RELAY_VAPID_SUBJECT",
    ]);
    expect(Buffer.from(env.BB_RELAY_VAPID_PUBLIC_KEY ?? "", "base64url")).toHaveLength(65);
    const relay = await startRelayProcess({ args: ["--store", "memory"], env });
    running.push(relay);
    await relay.stop();
    const half = await cli(["--store", "memory"], {
      BB_RELAY_VAPID_PUBLIC_KEY: env.BB_RELAY_VAPID_PUBLIC_KEY ?? "",
    });
    expect(half.code).toBe(2);
    expect(half.stderr).toMatch(/--vapid-private-key/);
  });

  it.each(["journal", "lmdb"])(
    "lockdown, block-device and report work on a running %s relay's store, shared with it",
    async (store) => {
      const dataDir = join(root, `lockdown-${store}`);
      const day = dayOf(Date.now());
      const on = ["--store", store, "--data", dataDir]; // the commands' store options, as the relay's
      const relay = await start([
        "--store",
        store,
        "--data",
        dataDir,
        "--rate-limit",
        "0",
        "--stats-interval",
        "0.2",
      ]);
      const api = createApi(relay.url);
      const paired = await api.pair();

      expect((await cli(["lockdown", "on", ...on])).stdout).toMatch(/LOCKED/);
      const lockedAfter = await eventually(
        async () => (await api.post("/v1/pairings", { token: token() })).status === 403,
      );
      expect(lockedAfter).toBeLessThan(2500); // the relay re-reads the shared state about every second
      expect(errorOf(await api.post("/v1/pairings", { token: token() }))).toMatchObject({
        code: "pairings_locked",
      });
      const status = await cli(["lockdown", "status", "--json", ...on]);
      expect(JSON.parse(status.stdout)).toEqual({ pairingsLocked: true, blockedDevices: [] });

      const blocked = await cli(["block-device", paired.deviceId, ...on]);
      expect(blocked).toMatchObject({ code: 0, stdout: `device ${paired.deviceId} blocked\n` });
      const post = () =>
        api.post(`/v1/sessions/${paired.sessionId}/requests`, { id: uuid(), sealed: sealedSession() });
      await eventually(async () => (await post()).status === 403);
      expect(errorOf(await post())).toMatchObject({ status: 403, code: "device_blocked" });

      await cli(["unblock-device", paired.deviceId, ...on]);
      await cli(["lockdown", "off", ...on]);
      await eventually(async () => (await post()).status === 201);
      await eventually(async () => (await api.post("/v1/pairings", { token: token() })).status === 201);

      expect((await cli(["block-device", "not-a-uuid", ...on])).code).toBe(2);
      expect((await cli(["lockdown", "maybe", ...on])).code).toBe(2);
      expect((await cli(["report", "--day", "yesterday", ...on])).code).toBe(2);

      const live = await cli(["report", "--day", day, "--format", "json", ...on]);
      expect(live.code).toBe(0);
      expect(JSON.parse(live.stdout).day).toBe(day);

      // SIGTERM flushes the statistics; the report then reads them from the store.
      await relay.kill("SIGTERM");
      expect(await relay.exited).toEqual({ code: 0, signal: null });
      expect(existsSync(join(dataDir, "control.sock"))).toBe(false);
      // No relay now: the command opens the store itself.
      const report = await cli(["report", "--day", day, "--format", "json", ...on]);
      expect(report.code).toBe(0);
      const parsed = JSON.parse(report.stdout);
      expect(parsed.day).toBe(day);
      expect(parsed.pairings.created).toBeGreaterThanOrEqual(2);
      expect(parsed.pairings.answered).toBe(1);
      expect(parsed.requests.posted).toBeGreaterThanOrEqual(1);
      const table = await cli(["report", "--day", day, ...on]);
      expect(table.stdout).toMatch(/pairings created\s+\d+/);
      expect(table.stdout).toMatch(/push success rate/);
    },
  );

  it("a second relay on a journal relay's data directory exits 1, naming the running one", async () => {
    const dataDir = join(root, "second");
    const relay = await start(["--store", "journal", "--data", dataDir]);
    const second = await cli(["--store", "journal", "--data", dataDir, "--port", "0"]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(
      `balance-bridge-relay: failed to start: data directory ${dataDir} is in use by process ${relay.pid}`,
    );
    // The first relay was not disturbed: its control socket still answers.
    const status = await cli(["lockdown", "status", "--json", "--data", dataDir]);
    expect(JSON.parse(status.stdout)).toEqual({ pairingsLocked: false, blockedDevices: [] });
    await relay.stop();
  });
});
