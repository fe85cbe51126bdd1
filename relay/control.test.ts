import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createConnection, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { runCommand } from "./commands.ts";
import { connectControl, controlAddress, lineReader, MAX_LINE, serveControl } from "./control.ts";
import { createJournalStore } from "./store/journal.ts";
import type { Store } from "./store/types.ts";

const root = mkdtempSync(join(tmpdir(), "bb-control-"));
let n = 0;
const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A journal store in a fresh directory (under `parent`), served on its control socket. */
async function served(parent = root) {
  const dataDir = join(parent, `dir${n++}`);
  const store = createJournalStore({ dataDir });
  cleanup.push(() => store.close());
  const control = await serveControl(store, dataDir);
  cleanup.push(() => control.close());
  return { dataDir, store, control };
}

/** A raw connection: send lines, read answers (parsed) one at a time. */
async function raw(dataDir: string) {
  const socket: Socket = createConnection(controlAddress(dataDir));
  await new Promise<void>((done, fail) => socket.once("connect", done).once("error", fail));
  cleanup.push(() => void socket.destroy());
  const token = readFileSync(join(dataDir, "control.token"), "utf8").trim();
  const waiting: Array<(line: string) => void> = [];
  const lines: string[] = [];
  lineReader(
    socket,
    (line) => {
      const next = waiting.shift();
      if (next) next(line);
      else lines.push(line);
    },
    () => {
      throw new Error("the relay answered with an oversized line");
    },
  );
  const next = () =>
    new Promise<unknown>((done) => {
      const line = lines.shift();
      if (line !== undefined) done(JSON.parse(line));
      else waiting.push((l) => done(JSON.parse(l)));
    });
  return {
    token,
    socket,
    send: (text: string) => socket.write(text),
    ask: async (request: object) => {
      socket.write(`${JSON.stringify({ token, ...request })}\n`);
      return next();
    },
    next,
  };
}

describe("control channel", () => {
  it("round-trips the operator methods to the relay's store", async () => {
    const { dataDir, store } = await served();
    const client = await connectControl(dataDir);
    cleanup.push(() => client.close());
    const device = randomUUID();

    expect(await client.readLockdown()).toEqual({ pairingsLocked: false, blockedDevices: [] });
    await client.lockPairings(true);
    expect(await client.blockDevice(device, true)).toBe(true);
    expect(await client.blockDevice(device, true)).toBe(false);
    expect(await client.readLockdown()).toEqual({ pairingsLocked: true, blockedDevices: [device] });
    expect(await store.readLockdown()).toEqual({ pairingsLocked: true, blockedDevices: [device] });

    await store.recordStats("2025-01-02", { pairings_created: 3 });
    expect(await client.readStats("2025-01-02")).toEqual({ pairings_created: 3 });
    expect(await client.readStats("2025-01-03")).toEqual({});
    // Calls in parallel on one connection each get their own answer.
    const [a, b] = await Promise.all([client.blockDevice(device, false), client.lockPairings(false)]);
    expect([a, b]).toEqual([true, undefined]);
    expect(await store.readLockdown()).toEqual({ pairingsLocked: false, blockedDevices: [] });
  });

  it("refuses what it does not serve with an error answer, and goes on working", async () => {
    const { dataDir } = await served();
    const c = await raw(dataDir);
    const unknown = await c.ask({ id: 1, method: "deleteSession", params: ["x"] });
    expect(unknown).toMatchObject({ id: 1, error: { name: "ControlError", message: /unknown method/ } });
    expect(await c.ask({ id: 2, method: "close", params: [] })).toMatchObject({ id: 2, error: {} });
    expect(await c.ask({ id: 3, method: "toString", params: [] })).toMatchObject({ id: 3, error: {} });
    expect(await c.ask({ id: 4, method: "lockPairings", params: ["yes"] })).toMatchObject({
      id: 4,
      error: { message: /boolean/ },
    });
    expect(await c.ask({ id: 5, method: "blockDevice", params: ["not-a-uuid", true] })).toMatchObject({
      id: 5,
      error: { message: /device id/ },
    });
    expect(await c.ask({ id: 6, method: "readStats", params: [] })).toMatchObject({ id: 6, error: {} });
    expect(await c.ask({ id: 7, token: "0".repeat(64), method: "readLockdown" })).toMatchObject({
      id: 7,
      error: { message: /token/ },
    });

    c.send("this is not json\n");
    expect(await c.next()).toMatchObject({ id: null, error: { message: /JSON/ } });
    c.send("[1,2]\n");
    expect(await c.next()).toMatchObject({ id: null, error: {} });

    // An oversized line, in several chunks, is refused once; the connection then reads the next line.
    const big = JSON.stringify({ id: 8, method: "readStats", params: ["x".repeat(MAX_LINE)] });
    c.send(big.slice(0, 40_000));
    c.send(big.slice(40_000));
    c.send("\n");
    expect(await c.next()).toMatchObject({ id: null, error: { message: /longer than/ } });
    expect(await c.ask({ id: 9, method: "readLockdown", params: [] })).toEqual({
      id: 9,
      result: { pairingsLocked: false, blockedDevices: [] },
    });
  });

  it("survives clients that vanish mid-request or mid-line; the server goes on serving", async () => {
    const dataDir = join(root, `dir${n++}`);
    const store = createJournalStore({ dataDir });
    cleanup.push(() => store.close());
    // A slow store: each client below is gone before its answer is ready.
    const slow: Store = Object.create(store);
    let calls = 0;
    slow.lockPairings = async (locked) => {
      calls++;
      await new Promise((done) => setTimeout(done, 50));
      await store.lockPairings(locked);
    };
    const control = await serveControl(slow, dataDir);
    cleanup.push(() => control.close());
    for (let i = 1; i <= 5; i++) {
      const c = await raw(dataDir);
      c.send(`{"id":1,"token":"${c.token}","method":"lockPairings","params":[true]}\n{"id":2,"met`);
      while (calls < i) await new Promise((done) => setTimeout(done, 5));
      c.socket.destroy();
    }
    const client = await connectControl(dataDir);
    cleanup.push(() => client.close());
    await new Promise((done) => setTimeout(done, 100)); // every abandoned call has finished
    expect(await client.readLockdown()).toEqual({ pairingsLocked: true, blockedDevices: [] });
  });

  it("makes the relay's errors the client's, with their message", async () => {
    const dataDir = join(root, `dir${n++}`);
    const store = createJournalStore({ dataDir });
    cleanup.push(() => store.close());
    const failing: Store = Object.create(store);
    failing.readStats = async () => {
      throw new RangeError("statistics are on fire");
    };
    const control = await serveControl(failing, dataDir);
    cleanup.push(() => control.close());
    const client = await connectControl(dataDir);
    cleanup.push(() => client.close());
    await expect(client.readStats("2025-01-02")).rejects.toMatchObject({
      name: "RangeError",
      message: "statistics are on fire",
    });
    expect(await client.readLockdown()).toEqual({ pairingsLocked: false, blockedDevices: [] });
  });

  it("creates the socket 0600, removes it (and its token) on close, and replaces a stale one", async () => {
    const { dataDir, store, control } = await served();
    const sock = join(dataDir, "control.sock");
    expect(controlAddress(dataDir)).toBe(sock);
    expect(statSync(sock).isSocket()).toBe(true);
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, "control.token")).mode & 0o777).toBe(0o600);
    const c = await raw(dataDir);
    const closedConnection = new Promise((done) => c.socket.once("close", done));
    await control.close();
    await closedConnection; // open connections are ended
    expect(existsSync(sock)).toBe(false);
    expect(existsSync(join(dataDir, "control.token"))).toBe(false);
    await expect(connectControl(dataDir)).rejects.toThrow(/cannot reach the relay's control socket/);

    // A relay killed without closing leaves its socket file: the next one replaces it.
    const first = await serveControl(store, dataDir);
    const abandoned = join(dataDir, "control.sock");
    expect(existsSync(abandoned)).toBe(true);
    const second = await serveControl(store, dataDir); // as a restarted relay would
    const client = await connectControl(dataDir);
    expect(await client.readLockdown()).toEqual({ pairingsLocked: false, blockedDevices: [] });
    await client.close();
    await second.close();
    await first.close();
  });

  it("uses an abstract socket name when the data directory's path is too long", async () => {
    const deep = join(root, "d".repeat(60), "e".repeat(60));
    mkdirSync(deep, { recursive: true });
    const { dataDir, store } = await served(deep);
    const address = controlAddress(dataDir);
    expect(address).toMatch(/^\0balance-bridge-relay-[0-9a-f]{32}$/);
    expect(existsSync(join(dataDir, "control.sock"))).toBe(false);
    const client = await connectControl(dataDir);
    cleanup.push(() => client.close());
    await client.lockPairings(true);
    expect((await store.readLockdown()).pairingsLocked).toBe(true);
    // The name is the directory's, however it is written.
    expect(controlAddress(`${dataDir}/./`)).toBe(address);
  });

  it("a connection failure rejects with a clear message", async () => {
    const dataDir = join(root, `dir${n++}`);
    mkdirSync(dataDir);
    await expect(connectControl(dataDir)).rejects.toThrow(
      /cannot reach the relay's control socket .*control\.sock: cannot read its token/,
    );
  });
});

describe("operator commands on a journal store", () => {
  const io = () => {
    const out = { stdout: "", stderr: "" };
    const io = {
      stdout(t: string) {
        out.stdout += t;
      },
      stderr(t: string) {
        out.stderr += t;
      },
    };
    return { out, io };
  };

  it("go through the control socket while the store is held, and open it themselves when it is not", async () => {
    const { dataDir, store, control } = await served();
    const device = randomUUID();
    const a = io();
    expect(await runCommand(["lockdown", "on", "--data", dataDir], {}, a.io)).toBe(0);
    expect(await runCommand(["block-device", device, "--data", dataDir], {}, a.io)).toBe(0);
    expect(await store.readLockdown()).toEqual({ pairingsLocked: true, blockedDevices: [device] });

    await control.close();
    await store.close();
    const b = io();
    expect(await runCommand(["lockdown", "status", "--json", "--data", dataDir], {}, b.io)).toBe(0);
    expect(JSON.parse(b.out.stdout)).toEqual({ pairingsLocked: true, blockedDevices: [device] });
  });

  it("fail naming the holder when its control socket cannot be reached", async () => {
    const dataDir = join(root, `dir${n++}`);
    const store = createJournalStore({ dataDir });
    cleanup.push(() => store.close());
    const c = io();
    expect(await runCommand(["lockdown", "status", "--data", dataDir], {}, c.io)).toBe(1);
    expect(c.out.stderr).toContain(`is in use by process ${process.pid}`);
    expect(c.out.stderr).toMatch(/cannot reach the relay's control socket/);
  });
});
