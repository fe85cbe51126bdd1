import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver } from "../../tests/relay/receiver.ts";
import { checkTarget, isPublicAddress, parseIPv6 } from "./ssrf.ts";
import { createWebhookPush } from "./webhook.ts";

describe("isPublicAddress", () => {
  it.each([
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "100.64.0.1",
    "100.127.255.254",
    "127.0.0.1",
    "127.255.255.255",
    "169.254.169.254",
    "172.16.0.1",
    "172.31.255.255",
    "192.0.0.8",
    "192.168.1.1",
    "198.18.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:10.1.2.3",
    "::127.0.0.1",
    "64:ff9b::10.0.0.1",
    "2002:0a00:0001::1",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "fe80::1%eth0",
    "fec0::1",
    "ff02::1",
    "2001:db8::1",
    "100::1",
    "not an ip",
  ])("refuses %s", (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  it.each([
    "1.1.1.1",
    "8.8.8.8",
    "93.184.216.34",
    "100.63.255.255",
    "100.128.0.1",
    "172.15.255.255",
    "172.32.0.1",
    "192.169.0.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80b::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::8.8.8.8",
  ])("allows %s", (address) => {
    expect(isPublicAddress(address)).toBe(true);
  });

  it("parses IPv6 text forms", () => {
    expect(parseIPv6("::1")).toEqual([...Array(15).fill(0), 1]);
    expect(parseIPv6("::ffff:1.2.3.4")?.slice(10)).toEqual([0xff, 0xff, 1, 2, 3, 4]);
    expect(parseIPv6("1:2:3:4:5:6:7:8")).toHaveLength(16);
    expect(parseIPv6("1::2::3")).toBeUndefined();
    expect(parseIPv6("1:2:3")).toBeUndefined();
  });
});

describe("checkTarget", () => {
  const policy = { allowHosts: [] as string[], allowPrivate: false };
  it("refuses names that resolve to private addresses, unless allow-listed or private is allowed", async () => {
    const lookup = async () => [{ address: "10.1.2.3", family: 4 as const }];
    const url = new URL("https://wallet.internal/hook");
    expect(await checkTarget(url, { ...policy, lookup })).toMatchObject({ ok: false, retryable: false });
    expect(await checkTarget(url, { ...policy, lookup, allowHosts: ["wallet.internal"] })).toMatchObject({
      ok: true,
    });
    expect(await checkTarget(url, { ...policy, lookup, allowPrivate: true })).toMatchObject({ ok: true });
  });

  it("refuses when any resolved address is private (a public one beside it does not help)", async () => {
    const lookup = async () => [
      { address: "8.8.8.8", family: 4 as const },
      { address: "::1", family: 6 as const },
    ];
    expect(await checkTarget(new URL("https://mixed.example/"), { ...policy, lookup })).toMatchObject({
      ok: false,
    });
  });

  it("refuses names that do not resolve, as retryable", async () => {
    const lookup = async () => {
      throw new Error("ENOTFOUND");
    };
    expect(await checkTarget(new URL("https://nowhere.example/"), { ...policy, lookup })).toMatchObject({
      ok: false,
      retryable: true,
    });
  });

  it("matches IPv6 literals in brackets against the allow-list", async () => {
    expect(
      await checkTarget(new URL("http://[::1]:8080/"), { ...policy, allowHosts: ["::1"] }),
    ).toMatchObject({
      ok: true,
    });
    expect(await checkTarget(new URL("http://[::1]:8080/"), policy)).toMatchObject({ ok: false });
  });
});

describe("webhook send-time checks", () => {
  let hook: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    hook = await startReceiver();
  });
  afterAll(() => hook.close());

  it("re-checks DNS at send time: a name that now resolves to loopback is refused (DNS rebinding)", async () => {
    let answer = "93.184.216.34";
    const push = createWebhookPush({
      lookup: async () => [{ address: answer, family: 4 }],
      baseDelayMs: 1,
    });
    const target = { type: "webhook" as const, url: `http://rebind.example:${hook.port}/hook` };
    expect(await push.validate(target)).toEqual({ ok: true });
    answer = "127.0.0.1";
    const result = await push.notify(target, { sessionId: "s", requestId: "r" });
    expect(result).toMatchObject({ ok: false, attempts: 0 });
    expect(hook.hits).toHaveLength(0);
  });

  it("connects to the address it checked, keeping the URL's host name", async () => {
    const push = createWebhookPush({
      allowHosts: ["wallet.test"],
      lookup: async () => [{ address: "127.0.0.1", family: 4 }],
    });
    const result = await push.notify(
      { type: "webhook", url: `http://wallet.test:${hook.port}/hook` },
      { sessionId: "s", requestId: "r" },
    );
    expect(result).toEqual({ ok: true, attempts: 1 });
    expect(hook.hits.at(-1)?.headers.host).toBe(`wallet.test:${hook.port}`);
    expect(hook.hits.at(-1)?.body).toEqual({ sessionId: "s", requestId: "r" });
  });

  it("treats a connection failure as retryable and gives up after the retries", async () => {
    const push = createWebhookPush({ allowHosts: ["127.0.0.1"], retries: 2, baseDelayMs: 1 });
    const result = await push.notify(
      { type: "webhook", url: "http://127.0.0.1:1/hook" },
      { sessionId: "s", requestId: "r" },
    );
    expect(result).toMatchObject({ ok: false, attempts: 3 });
    expect(result.ok === false && result.reason).toMatch(/network error/);
  });
});
