import { randomBytes, randomUUID } from "node:crypto";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { toBase64Url } from "../../protocol/base64url.ts";
import { backendContract, durabilityContract, putOp, storeContract } from "./contract.ts";
import { DataDirLockedError } from "./dataDirLock.ts";
import { createJournalBackend, createJournalStore } from "./journal.ts";

const root = mkdtempSync(join(tmpdir(), "bb-journal-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `dir${n++}`);

storeContract("journal", (options) => createJournalStore({ ...options, dataDir: freshDir() }));
durabilityContract("journal", (o) => createJournalStore(o), freshDir);
backendContract("journal", () => createJournalBackend(freshDir()));
// The same with every frame written off the JS thread, as when the disk has been slow.
const offThread = { inlineMaxMs: 0 };
storeContract("journal, off the thread", (options) =>
  createJournalStore({ ...options, ...offThread, dataDir: freshDir() }),
);
durabilityContract("journal, off the thread", (o) => createJournalStore({ ...o, ...offThread }), freshDir);
backendContract("journal, off the thread", () => createJournalBackend(freshDir(), offThread));

const tokenOf = () => toBase64Url(randomBytes(32));
/** The bytes of whole frames: up to the first zero length (the preallocated tail). */
function journalEnd(dataDir: string): number {
  const buf = readFileSync(join(dataDir, "journal"));
  let at = 8;
  while (at + 8 <= buf.length && buf.readUInt32LE(at) !== 0) at += 8 + buf.readUInt32LE(at);
  return at;
}

describe("journal store durability", () => {
  it("reads back every whole frame and drops a torn last one (a crash in the middle of a write)", async () => {
    const dataDir = freshDir();
    const b = createJournalBackend(dataDir);
    await b.write(() => ({ result: 0, ops: [putOp("k:a", "a")] }));
    await b.write(() => ({ result: 0, ops: [putOp("k:b", "b"), { kind: "del", key: "k:a" }] }));
    // Simulate a crash: the lock stays (its owner is this live process, so drop it by closing), and
    // the last frame is cut short on disk.
    await b.close();
    const path = join(dataDir, "journal");
    const end = journalEnd(dataDir);
    const whole = readFileSync(path).subarray(0, end);
    const torn = Buffer.concat([whole, Buffer.from([200, 0, 0, 0, 1, 2, 3, 4]), Buffer.from('[[["k:c"')]);
    writeFileSync(path, torn);
    const again = createJournalBackend(dataDir);
    expect(again.read((kv) => [kv.get("k:a"), kv.get("k:b"), kv.get("k:c")])).toEqual([
      undefined,
      "b",
      undefined,
    ]);
    // A frame with a bad checksum ends the journal the same way.
    await again.write(() => ({ result: 0, ops: [putOp("k:d", "d")] }));
    await again.close();
    const buf = readFileSync(path);
    const last = journalEnd(dataDir) - 1;
    buf[last] = (buf[last] ?? 0) ^ 0xff;
    writeFileSync(path, buf);
    const third = createJournalBackend(dataDir);
    expect(third.read((kv) => [kv.get("k:b"), kv.get("k:d")])).toEqual(["b", undefined]);
    await third.close();
  });

  it("refuses a file that is not a journal, and leaves it alone", async () => {
    const dataDir = freshDir();
    await createJournalBackend(dataDir).close();
    writeFileSync(join(dataDir, "journal"), "not a journal at all");
    expect(() => createJournalBackend(dataDir)).toThrow(/not a Balance Bridge journal/);
    expect(readFileSync(join(dataDir, "journal"), "utf8")).toBe("not a journal at all");
    // The failed open released the directory.
    rmSync(join(dataDir, "journal"));
    await createJournalBackend(dataDir).close();
  });

  it("compacts while writes go on: the journal stays near the live records' size, nothing is lost", async () => {
    const dataDir = freshDir();
    const b = createJournalBackend(dataDir, { compactMin: 64 * 1024 });
    const value = "v".repeat(200);
    // 20 keys rewritten 200 times each, 20 writes at a time: ≈ 1 MB appended, ≈ 5 KB live.
    for (let round = 0; round < 200; round++) {
      await Promise.all(
        Array.from({ length: 20 }, (_, k) =>
          b.write(() => ({ result: 0, ops: [putOp(`k:${k}`, `${value}${round}`)] })),
        ),
      );
      // Checked while running (rewrites happen between batches, off the JS thread).
      expect(journalEnd(dataDir)).toBeLessThan(256 * 1024);
    }
    expect(b.read((kv) => kv.get("k:7"))).toBe(`${value}199`);
    await b.close();
    const again = createJournalBackend(dataDir);
    expect(again.read((kv) => Array.from({ length: 20 }, (_, k) => kv.get(`k:${k}`)))).toEqual(
      Array.from({ length: 20 }, () => `${value}199`),
    );
    await again.close();
  });

  it("keeps every live record through rewrites at run time and at open", async () => {
    const dataDir = freshDir();
    const store = createJournalStore({ dataDir, compactMin: 32 * 1024 });
    const pending = Array.from({ length: 50 }, tokenOf);
    for (const token of pending) await store.createPairing(token, 600);
    const pairing = tokenOf();
    const sid = tokenOf();
    await store.createPairing(pairing, 600);
    await store.answerPairing(pairing, {
      deviceId: randomUUID(),
      sessionId: sid,
      sealed: `AQ${"x".repeat(100)}`,
    });
    // Requests posted, answered and acknowledged: ≈ 1.5 KB appended each (≈ 450 KB in all), mostly dead.
    for (let i = 0; i < 300; i++) {
      const id = randomUUID();
      await store.postRequest(sid, { id, sealed: `AA${"r".repeat(300)}`, ttl: 600 });
      await store.putResponse(sid, id, `AA${"s".repeat(300)}`);
      await store.deleteRequest(sid, id);
      expect(journalEnd(dataDir)).toBeLessThan(256 * 1024);
    }
    const last = randomUUID();
    await store.postRequest(sid, { id: last, sealed: `AA${"r".repeat(300)}`, ttl: 600 });
    await store.close();
    const reopened = createJournalStore({ dataDir });
    for (const token of pending) expect(await reopened.readPairing(token)).toMatchObject({ ok: true });
    expect(await reopened.fetchRequest(sid, last)).toMatchObject({ ok: true, request: { id: last } });
    await reopened.close();
  });

  it.each([
    ["on the JS thread", {}],
    ["off the thread", { inlineMaxMs: 0 }],
  ])("grows the journal as it fills, for lone writes and for batches alike (%s)", async (_, path) => {
    const dataDir = freshDir();
    const b = createJournalBackend(dataDir, { preallocate: 4096, ...path });
    const value = "v".repeat(1000);
    // One at a time, then 20 at a time: ≈ 40 KB each.
    for (let i = 0; i < 40; i++)
      await b.write(() => ({ result: 0, ops: [putOp(`k:lone${i}`, `${value}${i}`)] }));
    for (let round = 0; round < 2; round++) {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          b.write(() => ({ result: 0, ops: [putOp(`k:batch${round}:${i}`, value)] })),
        ),
      );
    }
    expect(journalEnd(dataDir)).toBeGreaterThan(80_000);
    await b.close();
    const again = createJournalBackend(dataDir);
    expect(again.read((kv) => [kv.get("k:lone39"), kv.get("k:batch1:19"), kv.keys("k:").length])).toEqual([
      `${value}39`,
      value,
      80,
    ]);
    await again.close();
  });

  it("a rewrite a crash interrupted (journal.next left behind) is ignored", async () => {
    const dataDir = freshDir();
    const b = createJournalBackend(dataDir);
    await b.write(() => ({ result: 0, ops: [putOp("k:a", "a")] }));
    await b.close();
    writeFileSync(join(dataDir, "journal.next"), "half a rewrite");
    const again = createJournalBackend(dataDir);
    expect(again.read((kv) => kv.get("k:a"))).toBe("a");
    await again.close();
    expect(() => statSync(join(dataDir, "journal.next"))).toThrow();
  });
});

describe("journal store commits", () => {
  it("shows reads only what is durable, while writes see the newest state", async () => {
    const b = createJournalBackend(freshDir());
    const written = b.write(() => ({ result: "w", ops: [putOp("k:a", 1)] }));
    // Not yet durable: a reader (a long-poll) must not hand it out, a writer decides on it.
    expect(b.read((kv) => kv.get("k:a"))).toBeUndefined();
    const decided = b.write((kv) => ({ result: kv.get("k:a"), ops: [] }));
    expect(await written).toBe("w");
    expect(b.read((kv) => kv.get("k:a"))).toBe(1);
    expect(await decided).toBe(1);
    await b.close();
  });

  it("refuses a write JSON cannot hold before it touches anything; the others of its batch commit", async () => {
    const b = createJournalBackend(freshDir());
    const results = await Promise.allSettled([
      b.write(() => ({ result: 1, ops: [putOp("k:a", "a")] })),
      b.write(() => ({ result: 5, ops: [putOp("k:b", "b"), putOp("k:c", 10n)] })),
      b.write((kv) => ({ result: [kv.get("k:a"), kv.get("k:b")], ops: [putOp("k:d", "d")] })),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(results[2]).toEqual({ status: "fulfilled", value: ["a", undefined] });
    expect(b.read((kv) => [kv.get("k:a"), kv.get("k:b"), kv.get("k:c"), kv.get("k:d")])).toEqual([
      "a",
      undefined,
      undefined,
      "d",
    ]);
    await b.close();
  });

  it("does not sweep a record a write in flight has just renewed", async () => {
    const b = createJournalBackend(freshDir());
    await b.write(() => ({ result: 0, ops: [putOp("k:x", 1, 100)] }));
    const renewed = b.write(() => ({ result: 0, ops: [putOp("k:x", 2, 500)] }));
    expect(await b.sweep(200)).toBe(0);
    await renewed;
    expect(b.read((kv) => kv.get("k:x"))).toBe(2);
    expect(await b.sweep(500)).toBe(1);
    expect(b.read((kv) => kv.get("k:x"))).toBeUndefined();
    await b.close();
  });

  it("settles writes still pending when closed, then refuses new ones", async () => {
    const dataDir = freshDir();
    const b = createJournalBackend(dataDir);
    const pending = b.write(() => ({ result: "done", ops: [putOp("k:q", "q")] }));
    await b.close();
    expect(await pending).toBe("done");
    await expect(b.write(() => ({ result: 0, ops: [] }))).rejects.toThrow("closed");
    expect(() => b.ping()).toThrow("closed");
    const again = createJournalBackend(dataDir);
    expect(again.read((kv) => kv.get("k:q"))).toBe("q");
    await again.close();
  });
});

describe("one process per data directory", () => {
  it("refuses a second store on a directory in use, and takes over a lock its owner left behind", async () => {
    const dataDir = freshDir();
    const first = createJournalBackend(dataDir);
    expect(() => createJournalBackend(dataDir)).toThrow(DataDirLockedError);
    await first.close();
    // A relay killed with SIGKILL leaves its lock: a pid that no longer runs (or runs something
    // started at another time) does not hold the directory.
    writeFileSync(join(dataDir, "relay.lock"), "999999999 12345\n");
    const second = createJournalBackend(dataDir);
    await second.write(() => ({ result: 0, ops: [putOp("k:a", 1)] }));
    expect(readFileSync(join(dataDir, "relay.lock"), "utf8")).toMatch(new RegExp(`^${process.pid} `));
    await second.close();
    expect(() => statSync(join(dataDir, "relay.lock"))).toThrow();
  });

  it("a lock held by another live process is respected", async () => {
    const dataDir = freshDir();
    await createJournalBackend(dataDir).close();
    // pid 1 is always alive; its start time is read from /proc, so this lock is a live one.
    const stat = readFileSync("/proc/1/stat", "latin1");
    const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    appendFileSync(join(dataDir, "relay.lock"), `1 ${start}\n`);
    expect(() => createJournalBackend(dataDir)).toThrow(/in use by process 1/);
  });
});
