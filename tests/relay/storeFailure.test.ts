/**
 * A store failure is 503 store_unavailable (never a 500, never a crash), and nothing the relay had
 * acknowledged is lost: reopening the data directory (journal or LMDB) finds it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createJournalStore } from "../../relay/store/journal.ts";
import { createLmdbStore } from "../../relay/store/lmdb.ts";
import { errorOf, sealedSession, startTestRelay, token, uuid } from "./helpers.ts";

const root = mkdtempSync(join(tmpdir(), "bb-relay-fail-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
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
});
