/**
 * Unit tests of the wallet's building blocks: state file, signer, chain ids, params, descriptions,
 * handlers' refusals. No network: the end-to-end tests are in tests/integration.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { toHex } from "viem";
import { describe, expect, test } from "vitest";
import type { RequestPayload } from "../protocol/schemas.ts";
import { createApprover, parseApprovalMode } from "./approval.ts";
import { createChainRegistry, sameChainId, toChainIdHex } from "./chains.ts";
import { decodeMessage, describeRequest, formatDescription, printable } from "./describe.ts";
import { createHandlers } from "./handlers.ts";
import { parsePersonalSignParams, parseTransactionParams, parseTypedDataParams } from "./params.ts";
import { createSigner, SignerError } from "./signer.ts";
import { createStateStore, resolveStatePath, StateError } from "./state.ts";

const MNEMONIC = "test test test test test test test test test test test junk";
const KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ADDR0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const ADDR1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

const tmp = () => mkdtempSync(join(tmpdir(), "bb-wallet-unit-"));
const payload = (method: string, params?: unknown, extra: Partial<RequestPayload> = {}): RequestPayload => ({
  method,
  params,
  origin: "https://dapp.example",
  chainId: "0x7a69",
  expiresAt: Math.floor(Date.now() / 1000) + 300,
  ...extra,
});

describe("state file", () => {
  test("created 0600 in a 0700 directory, device id stable, atomic writes leave no temp files", () => {
    const dir = join(tmp(), "nested");
    const path = join(dir, "state.json");
    const store = createStateStore({ path });
    const first = store.read();
    expect(first.deviceId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    store.update((d) => {
      d.processed.x = { sessionId: "gone", expiresAt: 0, status: "done", updatedAt: 0 };
    });
    expect(createStateStore({ path }).read().deviceId).toBe(first.deviceId);
    // Entries of unknown sessions are pruned on write.
    expect(store.read().processed).toEqual({});
    expect(readdirSync(dir).sort()).toEqual(["state.json"]);
  });

  test("path from flag, then BB_WALLET_STATE, then the home default", () => {
    expect(resolveStatePath("/a/b.json", { BB_WALLET_STATE: "/c.json" })).toBe("/a/b.json");
    expect(resolveStatePath(undefined, { BB_WALLET_STATE: "/c.json" })).toBe("/c.json");
    expect(resolveStatePath(undefined, {})).toMatch(/\.balance-bridge-wallet\/state\.json$/);
  });

  test("a corrupt file is an error, not silently replaced", () => {
    const path = join(tmp(), "state.json");
    writeFileSync(path, "{not json");
    expect(() => createStateStore({ path }).read()).toThrow(StateError);
    expect(readFileSync(path, "utf8")).toBe("{not json");
  });
});

describe("signer", () => {
  test("private key with or without 0x; mnemonic with index", () => {
    expect(createSigner({ privateKey: KEY0 }).address).toBe(ADDR0);
    expect(createSigner({ privateKey: KEY0.slice(2) }).address).toBe(ADDR0);
    expect(createSigner({ mnemonic: MNEMONIC }).address).toBe(ADDR0);
    expect(createSigner({ mnemonic: `  ${MNEMONIC.toUpperCase()} `, accountIndex: 1 }).address).toBe(ADDR1);
  });
  test("clear errors", () => {
    expect(() => createSigner({})).toThrow(/BB_WALLET_PRIVATE_KEY/);
    expect(() => createSigner({ privateKey: "0x12" })).toThrow(SignerError);
    expect(() => createSigner({ privateKey: KEY0, mnemonic: MNEMONIC })).toThrow(/not both/);
    expect(() => createSigner({ mnemonic: "test test" })).toThrow(/12, 15, 18, 21 or 24 words/);
    expect(() => createSigner({ mnemonic: MNEMONIC.replace("junk", "xyzzy") })).toThrow(/English list/);
  });
});

describe("chains", () => {
  test("chain ids in any spelling", () => {
    expect(toChainIdHex(31337)).toBe("0x7a69");
    expect(toChainIdHex("0x07A69")).toBe("0x7a69");
    expect(toChainIdHex("31337")).toBe("0x7a69");
    expect(() => toChainIdHex("0")).toThrow();
    expect(() => toChainIdHex("abc")).toThrow();
    expect(sameChainId("0x7A69", 31337)).toBe(true);
    expect(sameChainId("0x1", "junk")).toBe(false);
  });
  test("--chain-id without --rpc declares a signing-only chain; nothing at all is an error", async () => {
    const chains = await createChainRegistry({ chainId: "10" });
    expect(chains.defaultChainId).toBe("0xa");
    expect(chains.hasRpc("0xa")).toBe(false);
    await expect(createChainRegistry({})).rejects.toThrow(/--rpc/);
    await expect(createChainRegistry({ rpcUrls: ["ftp://x"] })).rejects.toThrow(/http/);
  });
});

describe("params", () => {
  test("personal_sign: [data, address], the swapped order, text or hex", () => {
    expect(parsePersonalSignParams(["0xdead", ADDR0])).toEqual({
      address: ADDR0,
      raw: "0xdead",
      wasHex: true,
    });
    expect(parsePersonalSignParams([ADDR0, "hello"])).toEqual({
      address: ADDR0,
      raw: toHex("hello"),
      wasHex: false,
    });
    expect(() => parsePersonalSignParams(["hi"])).toThrow(/at least 2/);
  });
  test("transactions: quantities, data/input, contract creation needs data", () => {
    const tx = parseTransactionParams([
      { from: ADDR0, to: ADDR1, value: "0x10", input: "0xAbCd", gas: "0x5208" },
    ]);
    expect(tx).toMatchObject({ value: 16n, data: "0xabcd", gas: 21000n });
    expect(() => parseTransactionParams([{ from: ADDR0, value: "0x1" }])).toThrow(/contract creation/);
    expect(() => parseTransactionParams([{ from: ADDR0, to: ADDR1, value: "12" }])).toThrow(/value/);
    expect(() => parseTransactionParams([{ from: ADDR0, to: "0x12" }])).toThrow(/to must be/);
  });
  test("typed data: JSON string, primaryType must be a type", () => {
    const data = {
      types: { A: [{ name: "x", type: "uint256" }] },
      primaryType: "A",
      domain: {},
      message: { x: 1 },
    };
    expect(parseTypedDataParams([ADDR0, JSON.stringify(data)]).typedData.primaryType).toBe("A");
    expect(() => parseTypedDataParams([ADDR0, "{"])).toThrow(/JSON/);
    expect(() => parseTypedDataParams([ADDR0, JSON.stringify({ ...data, primaryType: "B" })])).toThrow(
      /primaryType/,
    );
  });
});

describe("describe", () => {
  test("escapes terminal control sequences and bidi overrides", () => {
    expect(printable("ok\u001b[2J\u202Egnp.exe")).toBe("ok\\u001b[2J\\u202egnp.exe");
    expect(printable("line1\nline2\ttab")).toBe("line1\nline2\ttab");
    expect(printable("x".repeat(20), 5)).toBe("xxxxx… (15 more characters)");
  });
  test("messages: UTF-8 text, or hex when binary", () => {
    expect(decodeMessage(toHex("héllo"))).toEqual({ text: "héllo", isText: true });
    expect(decodeMessage("0x00010203ff")).toEqual({
      text: "0x00010203ff (5 bytes, not text)",
      isText: false,
    });
    expect(decodeMessage(toHex("\u001b[2J\u001b[H"))).toMatchObject({
      isText: false,
      utf8: "\\u001b[2J\\u001b[H",
    });
  });
  test("a transaction: to, value in ETH, selector and data length; warnings", () => {
    const d = describeRequest(
      payload("eth_sendTransaction", [
        {
          from: ADDR1,
          to: ADDR0,
          value: "0xde0b6b3a7640000",
          data: "0xa9059cbb0000000000000000000000000000000000000000",
        },
      ]),
      { account: ADDR0, chainId: "0x1" },
    );
    expect(d.origin).toBe("https://dapp.example");
    expect(d.chain).toBe("31337 (0x7a69)");
    expect(d.details).toContainEqual(["value", "1 ETH"]);
    expect(d.details).toContainEqual(["data", "24 bytes, selector 0xa9059cbb"]);
    expect(d.warnings.join("\n")).toMatch(/not this wallet's account/);
    expect(d.warnings.join("\n")).toMatch(/session is on 1 \(0x1\)/);
    expect(formatDescription(d)).toContain("origin  https://dapp.example (reported by the browser");
  });
  test("http origins that are not local are flagged", () => {
    expect(
      describeRequest(payload("eth_chainId", undefined, { origin: "http://shop.example" })).warnings[0],
    ).toMatch(/not HTTPS/);
    expect(
      describeRequest(payload("eth_chainId", undefined, { origin: "http://localhost:3000" })).warnings,
    ).toEqual([]);
  });
  test("typed data: domain and primary type", () => {
    const data = {
      types: { Permit: [{ name: "owner", type: "address" }] },
      primaryType: "Permit",
      domain: { name: "USD Coin", version: "2", chainId: 1 },
      message: { owner: ADDR0 },
    };
    const d = describeRequest(payload("eth_signTypedData_v4", [ADDR0, JSON.stringify(data)]), {
      chainId: "0x7a69",
    });
    expect(d.details).toContainEqual(["primary type", "Permit"]);
    expect(d.details).toContainEqual(["domain", "name=USD Coin, version=2, chainId=1"]);
    expect(d.warnings.join()).toMatch(/domain's chainId 1/);
  });
  test("invalid params are described, not thrown", () => {
    expect(describeRequest(payload("personal_sign", "nope")).details[0]?.[1]).toMatch(/^invalid: /);
  });
});

describe("handlers", async () => {
  const signer = createSigner({ privateKey: KEY0 });
  const chains = await createChainRegistry({ chainId: 31337 });
  const handlers = createHandlers({ signer, chains });
  const ctx = { accounts: [signer.address], chainId: "0x7a69" };
  const refusal = (p: RequestPayload) => {
    try {
      handlers.prepare(p, ctx);
    } catch (error) {
      return (error as { code: number }).code;
    }
    return undefined;
  };

  test("refusals before approval carry the EIP-1193 codes", () => {
    expect(refusal(payload("eth_sign", []))).toBe(4200);
    expect(refusal(payload("personal_sign", ["0x00", ADDR1]))).toBe(4100);
    expect(refusal(payload("eth_sendTransaction", [{ from: ADDR1, to: ADDR0 }]))).toBe(4100);
    // Signing-only chain: no RPC to send with.
    expect(refusal(payload("eth_sendTransaction", [{ from: ADDR0, to: ADDR1 }]))).toBe(4901);
    expect(refusal(payload("eth_sendTransaction", [{ from: ADDR0, to: ADDR1 }], { chainId: "0x1" }))).toBe(
      4901,
    );
    expect(refusal(payload("wallet_switchEthereumChain", [{ chainId: "0x1" }]))).toBe(4902);
    expect(refusal(payload("wallet_addEthereumChain", [{ chainId: "0x1", rpcUrls: ["https://x"] }]))).toBe(
      4902,
    );
    expect(refusal(payload("personal_sign", [123, ADDR0]))).toBe(-32602);
  });

  test("local answers and approved signing", async () => {
    expect(handlers.prepare(payload("eth_chainId"), ctx)).toEqual({
      kind: "local",
      outcome: { result: "0x7a69" },
    });
    expect(handlers.prepare(payload("eth_accounts"), ctx)).toEqual({
      kind: "local",
      outcome: { result: [ADDR0] },
    });
    expect(handlers.prepare(payload("wallet_switchEthereumChain", [{ chainId: "0x7A69" }]), ctx).kind).toBe(
      "local",
    );
    const prepared = handlers.prepare(payload("personal_sign", [toHex("hi"), ADDR0]), ctx);
    if (prepared.kind !== "approve") throw new Error("expected approval");
    expect(prepared.sideEffects).toBe(false);
    expect((await prepared.run()).result).toBe(await signer.signMessage({ message: "hi" }));
  });
});

describe("approval", () => {
  test("ask: y approves, anything else declines, an abort withdraws the question", async () => {
    const d = describeRequest(payload("personal_sign", [toHex("hi"), ADDR0]));
    const input = new PassThrough();
    const output = new PassThrough();
    let shown = "";
    output.on("data", (c: Buffer) => {
      shown += c.toString("utf8");
    });
    const approver = createApprover("ask", { input, output, allowNonTty: true });
    const yes = approver.decide(d);
    input.write("y\n");
    expect(await yes).toEqual({ approved: true, reason: "approved (by you)" });
    expect(shown).toContain("Approve personal_sign from https://dapp.example? [y/N]");
    const no = approver.decide(d);
    input.write("sure\n");
    expect((await no).approved).toBe(false);
    const controller = new AbortController();
    const withdrawn = approver.decide(d, { signal: controller.signal });
    controller.abort("request expired");
    expect(await withdrawn).toEqual({ approved: false, reason: "declined (request expired)" });
    expect(() => createApprover("ask", { input: new PassThrough() })).toThrow(/interactive terminal/);
  });

  test("modes", async () => {
    expect(() => parseApprovalMode("yes")).toThrow(/ask, auto, reject/);
    const d = describeRequest(payload("eth_chainId"));
    expect((await createApprover("auto").decide(d)).approved).toBe(true);
    expect((await createApprover("reject").decide(d)).approved).toBe(false);
  });
});
