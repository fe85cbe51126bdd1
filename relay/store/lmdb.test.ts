import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { toBase64Url } from "../../protocol/base64url.ts";
import { storeContract } from "./contract.ts";
import { createLmdbStore } from "./lmdb.ts";

const root = mkdtempSync(join(tmpdir(), "bb-lmdb-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

storeContract("lmdb", (options) => createLmdbStore({ ...options, dataDir: join(root, `db${n++}`) }));

describe("lmdb store durability", () => {
  it("keeps acknowledged writes and their expiry across a reopen", async () => {
    const dataDir = join(root, "reopen");
    let t = 1_750_000_000_000;
    const now = () => t;
    const token = toBase64Url(randomBytes(32));
    const sessionId = toBase64Url(randomBytes(32));
    const id = randomUUID();
    const sealed = `AA${toBase64Url(randomBytes(40))}`;

    const first = createLmdbStore({ dataDir, now });
    await first.createPairing(token, 10);
    const pairingToken = toBase64Url(randomBytes(32));
    await first.createPairing(pairingToken, 10);
    await first.answerPairing(pairingToken, { deviceId: randomUUID(), sessionId, sealed: `AQ${sealed}` });
    await first.postRequest(sessionId, { id, sealed, ttl: 10 });
    await first.close();

    const second = createLmdbStore({ dataDir, now });
    expect(await second.readPairing(token)).toEqual({ ok: true, expiresAt: t / 1000 + 10 });
    expect(await second.fetchRequest(sessionId, id)).toEqual({
      ok: true,
      request: { id, sealed, expiresAt: t / 1000 + 10 },
    });
    t += 10_000;
    expect(await second.readPairing(token)).toEqual({ ok: false, error: "pairing_expired" });
    expect(await second.fetchRequest(sessionId, id)).toEqual({ ok: false, error: "request_expired" });
    await second.close();
  });
});
