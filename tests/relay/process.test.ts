/**
 * The relay as an operator runs it: `node bin/balance-bridge-relay.js`. The durable stores (journal,
 * the default, and LMDB) keep what they acknowledged across `kill -9`, even when killed in the middle
 * of a load; expiry still holds after the restart; the CLI explains itself; SIGTERM shuts down
 * gracefully; under load its young generation grows past 1 MB and stops at 8 MB per semi-space.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REQUEST_STATUS_HEADER } from "../../protocol/constants.ts";
import { OPTIONS } from "../../relay/config.ts";
import { type RelayProcess, startRelayProcess } from "../support/relayProcess.ts";
import { createApi, errorOf, sealedPair, sealedSession, sessionId, sleep, token, uuid } from "./helpers.ts";

const BIN = join(import.meta.dirname, "../../bin/balance-bridge-relay.js");
const root = mkdtempSync(join(tmpdir(), "bb-relay-process-"));
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

describe("relay process", () => {
  it.each(["journal", "lmdb"])(
    "%s: keeps a pending pairing and a pending request across kill -9, and expires them after restart",
    async (store) => {
      const dataDir = join(root, `crash-${store}`);
      const args = ["--store", store, "--data", dataDir, "--rate-limit", "0"];
      const first = await start(args);
      expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      let api = createApi(first.url);

      const pending = token();
      const created = await api.post("/v1/pairings", { token: pending, ttl: 4 });
      expect(created.status).toBe(201);

      const paired = token();
      const sid = sessionId();
      await api.post("/v1/pairings", { token: paired, ttl: 60 });
      expect(
        (await api.put(`/v1/pairings/${paired}`, { deviceId: uuid(), sessionId: sid, sealed: sealedPair() }))
          .status,
      ).toBe(201);
      const id = uuid();
      const sealed = sealedSession();
      const posted = await api.post(`/v1/sessions/${sid}/requests`, { id, sealed, ttl: 4 });
      expect(posted.status).toBe(201);

      await first.kill("SIGKILL");
      const second = await start(args);
      api = createApi(second.url);

      expect((await api.get(`/v1/pairings/${pending}?wait=0`)).status).toBe(204);
      const status = await api.get(`/v1/sessions/${sid}/requests/${id}/response?wait=0`);
      expect(status.status).toBe(204);
      expect(status.headers.get(REQUEST_STATUS_HEADER)).toBe("queued");
      const fetched = await api.get(`/v1/sessions/${sid}/requests/${id}`);
      expect(fetched.status).toBe(200);
      expect(fetched.body).toEqual({ id, sealed, expiresAt: posted.body.expiresAt });

      const expiry = Math.max(created.body.expiresAt, posted.body.expiresAt) * 1000;
      await sleep(Math.max(0, expiry - Date.now()) + 100);
      expect(errorOf(await api.get(`/v1/pairings/${pending}?wait=0`))).toMatchObject({
        status: 410,
        code: "pairing_expired",
      });
      expect(errorOf(await api.get(`/v1/sessions/${sid}/requests/${id}`))).toMatchObject({
        status: 410,
        code: "request_expired",
      });
      expect((await api.get("/healthz")).body).toMatchObject({ ok: true, store });
      await second.stop();
    },
  );

  it.each(["journal", "lmdb"])(
    "%s: every pairing acknowledged before a kill -9 in the middle of a load is there after the restart",
    async (store) => {
      const dataDir = join(root, `load-${store}`);
      const args = ["--store", store, "--data", dataDir, "--rate-limit", "0"];
      const first = await start(args);
      const api = createApi(first.url);
      const acknowledged: string[] = [];
      let killed = false;
      // 20 clients create pairings until the relay is killed under them (a write acknowledged before it
      // reached the journal would be missing after the restart).
      const clients = Array.from({ length: 20 }, async () => {
        while (!killed) {
          const t = token();
          try {
            if ((await api.post("/v1/pairings", { token: t, ttl: 600 })).status !== 201) continue;
            acknowledged.push(t);
          } catch {
            return; // the relay is gone
          }
        }
      });
      while (acknowledged.length < 300) await sleep(5);
      killed = true;
      await first.kill("SIGKILL");
      await Promise.all(clients);

      const second = await start(args);
      const after = createApi(second.url);
      for (const t of acknowledged) {
        // 204: still pending (404 would be a pairing the relay acknowledged and then lost).
        expect((await after.get(`/v1/pairings/${t}?wait=0`)).status, t).toBe(204);
      }
      await second.stop();
    },
  );

  it("answers /healthz, and shuts down gracefully on SIGTERM, answering open long-polls first", async () => {
    const relay = await start(["--store", "memory"]);
    const api = createApi(relay.url);
    const health = await api.get("/healthz");
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ ok: true, store: "memory", uptime: expect.any(Number) });

    const t = token();
    await api.post("/v1/pairings", { token: t });
    const poll = api.get(`/v1/pairings/${t}?wait=25`);
    await sleep(200);
    const started = performance.now();
    await relay.kill("SIGTERM");
    const reply = await poll;
    expect(reply.status).toBe(204);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it("under a burst of requests grows V8's young generation past 1 MB per semi-space and caps it at 8 MB", async () => {
    // bin/balance-bridge-relay.js: 1 MB made the relay spend a quarter of its time in GC, V8's 16 MB
    // keeps idle long-polls ≈ 35 MB higher (docs/BENCHMARKS.md, "The young generation").
    const relay = await start(["--store", "memory", "--rate-limit", "0"]);
    const api = createApi(relay.url);
    const youngBytes = async () => {
      const text = (await api.get("/metrics")).text;
      const line = /^nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)/m.exec(text);
      expect(line, "the new space's size in /metrics").not.toBeNull();
      return Number(line?.[1]); // both semi-spaces
    };
    const MB = 1 << 20;
    let peak = await youngBytes();
    // 20,000 requests: enough for V8's own growth to reach 16 MB per semi-space here.
    for (let round = 0; round < 8; round++) {
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          for (let i = 0; i < 50; i++)
            expect((await api.post("/v1/pairings", { token: token() })).status).toBe(201);
        }),
      );
      peak = Math.max(peak, await youngBytes());
    }
    expect(peak).toBeGreaterThan(2 * MB);
    expect(peak).toBeLessThanOrEqual(16 * MB);
  }, 60_000);

  it("--help lists every option with its environment variable and default", () => {
    const out = spawnSync(process.execPath, [BIN, "--help"], { encoding: "utf8" });
    expect(out.status).toBe(0);
    for (const option of OPTIONS) {
      expect(out.stdout).toContain(option.flag);
      expect(out.stdout).toContain(option.env);
    }
    for (const flag of [
      "--host",
      "--port",
      "--store",
      "--data",
      "--max-body",
      "--max-wait",
      "--max-pairing-ttl",
      "--max-request-ttl",
      "--max-pending",
      "--session-idle-ttl",
      "--rate-limit",
      "--rate-burst",
      "--cors-origin",
      "--push-allow-hosts",
      "--push-allow-private",
      "--push-retries",
      "--push-timeout",
      "--log-level",
    ]) {
      expect(out.stdout).toContain(flag);
    }
  });

  it("a bad option or value exits 2 with a clear message", () => {
    const unknown = spawnSync(process.execPath, [BIN, "--bogus"], { encoding: "utf8" });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option --bogus/);
    const badValue = spawnSync(process.execPath, [BIN, "--port", "99999"], { encoding: "utf8" });
    expect(badValue.status).toBe(2);
    expect(badValue.stderr).toMatch(/--port/);
    const badEnv = spawnSync(process.execPath, [BIN], {
      encoding: "utf8",
      env: { ...process.env, BB_RELAY_STORE: "redis" },
    });
    expect(badEnv.status).toBe(2);
    expect(badEnv.stderr).toMatch(/BB_RELAY_STORE/);
  });

  it("startRelayProcess rejects with the relay's stderr when it cannot start", async () => {
    await expect(startRelayProcess({ args: ["--max-wait", "99"] })).rejects.toThrow(/--max-wait/);
  });
});
