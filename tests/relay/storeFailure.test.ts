/**
 * A store failure is 503 store_unavailable (never a 500, never a crash), and nothing the relay had
 * acknowledged is lost: reopening the data directory (journal or LMDB) finds it. Also with a real
 * refused write: a relay process whose journal cannot grow (the kernel's file size limit, as a full
 * disk would) stops taking writes, goes on answering reads, and loses nothing it acknowledged.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REQUEST_STATUS_HEADER } from "../../protocol/constants.ts";
import { createJournalStore } from "../../relay/store/journal.ts";
import { createLmdbStore } from "../../relay/store/lmdb.ts";
import { type RelayProcess, startRelayProcess } from "../support/relayProcess.ts";
import { createApi, errorOf, type Reply, sealedSession, startTestRelay, token, uuid } from "./helpers.ts";

const root = mkdtempSync(join(tmpdir(), "bb-relay-fail-"));
const processes: RelayProcess[] = [];
afterAll(async () => {
  for (const p of processes) await p.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});
const reopen = { journal: createJournalStore, lmdb: createLmdbStore };

describe("store failure", () => {
  it.each(["journal", "lmdb"] as const)(
    "answers 503 store_unavailable on every route once the %s store is closed, then recovers nothing lost",
    async (store) => {
      const dataDir = join(root, store);
      const relay = await startTestRelay({ store, dataDir });
      const { sessionId: sid } = await relay.api.pair();
      const id = uuid();
      const sealed = sealedSession();
      expect((await relay.api.post(`/v1/sessions/${sid}/requests`, { id, sealed })).status).toBe(201);

      await relay.store.close(); // the database goes away under the running relay
      const t = token();
      const replies = [
        await relay.api.post("/v1/pairings", { token: t }),
        await relay.api.get(`/v1/pairings/${t}?wait=0`),
        await relay.api.post(`/v1/sessions/${sid}/requests`, { id: uuid(), sealed: sealedSession() }),
        await relay.api.get(`/v1/sessions/${sid}/requests/${id}`),
        await relay.api.get(`/v1/sessions/${sid}/requests?wait=0`),
        await relay.api.get(`/v1/sessions/${sid}/requests/${id}/response?wait=1`),
        await relay.api.post(`/v1/sessions/${sid}/events`, { id: uuid(), sealed: sealedSession() }),
        await relay.api.del(`/v1/sessions/${sid}`),
        await relay.api.get("/healthz"),
      ];
      for (const reply of replies) {
        expect(errorOf(reply)).toMatchObject({ status: 503, code: "store_unavailable" });
        expect(reply.headers.get("retry-after")).toBeTruthy();
      }
      await relay.close();

      const reopened = reopen[store]({ dataDir });
      expect(await reopened.fetchRequest(sid, id)).toMatchObject({ ok: true, request: { id, sealed } });
      await reopened.close();
    },
  );

  it("journal: a write the disk refuses is 503, reads go on, and a restart finds everything acknowledged", async () => {
    const dataDir = join(root, "refused");
    const args = ["--store", "journal", "--data", dataDir, "--rate-limit", "0", "--max-pending", "1000"];
    // The journal starts as 8 MB of preallocated zeros; its next 8 MB are refused (EFBIG) past 9 MB.
    const first = await startRelayProcess({ args, fileSizeLimit: 9 << 20 });
    processes.push(first);
    const api = createApi(first.url);
    const { sessionId: sid, token: pairingToken } = await api.pair();
    const acknowledged: { id: string; sealed: string }[] = [];
    let refused: { id: string; reply: Reply } | undefined;
    // ≈ 53 KB per request (40,000 bytes sealed, base64url): about 160 fill the preallocated zeros.
    for (let i = 0; i < 400 && !refused; i++) {
      const request = { id: uuid(), sealed: sealedSession(40_000) };
      const reply = await api.post(`/v1/sessions/${sid}/requests`, { ...request, ttl: 600 });
      if (reply.status === 201) acknowledged.push(request);
      else refused = { id: request.id, reply };
    }
    expect(acknowledged.length).toBeGreaterThan(100);
    expect(refused && errorOf(refused.reply)).toMatchObject({ status: 503, code: "store_unavailable" });
    expect(refused?.reply.headers.get("retry-after")).toBeTruthy();

    // Every later write is refused too (it may have depended on the lost one) and /healthz says so,
    // so a load balancer moves traffic away; reads of what is on disk still answer.
    expect(errorOf(await api.post("/v1/pairings", { token: token() }))).toMatchObject({
      status: 503,
      code: "store_unavailable",
    });
    expect(errorOf(await api.get("/healthz"))).toMatchObject({ status: 503, code: "store_unavailable" });
    const last = acknowledged.at(-1)?.id as string;
    const waiting = await api.get(`/v1/sessions/${sid}/requests/${last}/response?wait=0`);
    expect(waiting.status).toBe(204);
    expect(waiting.headers.get(REQUEST_STATUS_HEADER)).toBe("queued");
    expect((await api.get(`/v1/pairings/${pairingToken}?wait=0`)).status).toBe(200); // the wallet's answer
    await first.kill("SIGKILL");

    // Restarted with room to grow: every acknowledged request is there, the refused one is not.
    const second = await startRelayProcess({ args });
    processes.push(second);
    const after = createApi(second.url);
    for (const { id, sealed } of acknowledged) {
      const fetched = await after.get(`/v1/sessions/${sid}/requests/${id}`);
      expect(fetched.status, id).toBe(200);
      expect(fetched.body).toMatchObject({ id, sealed });
    }
    expect(errorOf(await after.get(`/v1/sessions/${sid}/requests/${refused?.id}`)).code).toBe(
      "request_not_found",
    );
    expect((await after.post("/v1/pairings", { token: token() })).status).toBe(201);
    await second.stop();
  }, 60_000);
});
