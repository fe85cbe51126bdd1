import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { toBase64Url } from "../../protocol/base64url.ts";
import { backendContract, durabilityContract, putOp, storeContract } from "./contract.ts";
import { createLmdbBackend, createLmdbStore } from "./lmdb.ts";

const root = mkdtempSync(join(tmpdir(), "bb-lmdb-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

storeContract("lmdb", (options) => createLmdbStore({ ...options, dataDir: join(root, `db${n++}`) }));

durabilityContract(
  "lmdb",
  (o) => createLmdbStore(o),
  () => join(root, `reopen${n++}`),
);
backendContract("lmdb", () => createLmdbBackend(join(root, `backend${n++}`)));

describe("lmdb group commit", () => {
  let d = 0;
  const backend = () => createLmdbBackend(join(root, `group${d++}`));

  it("commits the writes of one turn together, each seeing the ones before it, and all durably", async () => {
    const dataDir = join(root, "group-store");
    const store = createLmdbStore({ dataDir });
    const token = toBase64Url(randomBytes(32));
    const others = Array.from({ length: 20 }, () => toBase64Url(randomBytes(32)));
    const [first, second, ...rest] = await Promise.all([
      store.createPairing(token, 60),
      store.createPairing(token, 60),
      ...others.map((t) => store.createPairing(t, 60)),
    ]);
    expect(first).toMatchObject({ ok: true });
    expect(second).toEqual({ ok: false, error: "pairing_exists" });
    for (const r of rest) expect(r).toMatchObject({ ok: true });
    await store.close();
    const reopened = createLmdbStore({ dataDir });
    for (const t of [token, ...others]) expect(await reopened.readPairing(t)).toMatchObject({ ok: true });
    await reopened.close();
  });

  it("rolls back a write whose ops fail halfway, alone, and redoes the rest of its batch", async () => {
    const b = backend();
    const results = await Promise.allSettled([
      b.write(() => ({ result: 1, ops: [putOp("k:1", 1)] })),
      // The second op's key is over LMDB's key size limit: its first op must not stay behind.
      b.write(() => ({ result: 2, ops: [putOp("k:2", 2), putOp(`k:${"x".repeat(4000)}`, 2)] })),
      b.write((kv) => ({ result: [kv.get("k:1"), kv.get("k:2")], ops: [putOp("k:3", 3)] })),
    ]);
    expect(results[0]).toEqual({ status: "fulfilled", value: 1 });
    expect(results[1]?.status).toBe("rejected");
    expect(results[2]).toEqual({ status: "fulfilled", value: [1, undefined] });
    expect(b.read((kv) => [kv.get("k:1"), kv.get("k:2"), kv.get("k:3")])).toEqual([1, undefined, 3]);
    await b.close();
  });

  it("keeps the expiry index right when a rewrite keeps its purge time, also around a sweep", async () => {
    const b = backend();
    await b.write(() => ({ result: 0, ops: [putOp("k:x", 1, 100)] }));
    await b.write((kv) => ({ result: kv.get("k:x"), ops: [putOp("k:x", 2, 100)] }));
    expect(await b.sweep(99)).toBe(0);
    expect(await b.sweep(100)).toBe(1);
    expect(b.read((kv) => kv.get("k:x"))).toBeUndefined();

    // In one batch: a write learns k:y's purge time, the sweeper drops k:y and its index entry, then a
    // blind rewrite with the same purge time must index it again.
    await b.write(() => ({ result: 0, ops: [putOp("k:y", 1, 50)] }));
    const [, swept] = await Promise.all([
      b.write((kv) => ({ result: kv.get("k:y"), ops: [] })),
      b.sweep(60),
      b.write(() => ({ result: 0, ops: [putOp("k:y", 2, 50)] })),
    ]);
    expect(swept).toBe(1);
    expect(b.read((kv) => kv.get("k:y"))).toBe(2);
    expect(await b.sweep(60)).toBe(1);
    expect(b.read((kv) => kv.get("k:y"))).toBeUndefined();
    await b.close();
  });

  it("settles writes still queued when closed, then refuses new ones", async () => {
    const dataDir = join(root, "group-close");
    const b = createLmdbBackend(dataDir);
    const pending = b.write(() => ({ result: "done", ops: [putOp("k:q", "q")] }));
    await b.close();
    expect(await pending).toBe("done");
    expect(() => b.write(() => ({ result: 0, ops: [] }))).toThrow("closed");
    const again = createLmdbBackend(dataDir);
    expect(again.read((kv) => kv.get("k:q"))).toBe("q");
    await again.close();
  });
});
