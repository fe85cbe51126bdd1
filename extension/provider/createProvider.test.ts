import { describe, expect, it } from "vitest";
import { TO_PAGE } from "../shared/constants.ts";
import type { ProviderState } from "../shared/messages.ts";
import { createProvider, type Post } from "./createProvider.ts";
import { ProviderRpcError } from "./providerRpcError.ts";

const state = (s: Partial<ProviderState> = {}): ProviderState => ({
  chainId: "0x1",
  accounts: [],
  connected: false,
  takeOver: false,
  ...s,
});

function setup() {
  const posted: Parameters<Post>[0][] = [];
  const { provider, receive } = createProvider(
    (m) => posted.push(m),
    () => undefined,
  );
  const events: [string, unknown][] = [];
  for (const name of ["connect", "disconnect", "chainChanged", "accountsChanged"]) {
    provider.on(name, (data) => events.push([name, data]));
  }
  return { provider, receive, posted, events };
}

describe("createProvider (EIP-1193)", () => {
  it("derives connect, chainChanged, accountsChanged and disconnect from state snapshots", () => {
    const { provider, receive, events } = setup();
    receive({ target: TO_PAGE, type: "state", state: state() });
    expect(events).toEqual([]);
    receive({ target: TO_PAGE, type: "state", state: state({ connected: true, chainId: "0x7a69" }) });
    expect(events).toEqual([
      ["connect", { chainId: "0x7a69" }],
      ["chainChanged", "0x7a69"],
    ]);
    expect(provider.isConnected()).toBe(true);
    events.length = 0;
    receive({
      target: TO_PAGE,
      type: "state",
      state: state({ connected: true, chainId: "0x7a69", accounts: ["0xa"] }),
    });
    // The same snapshot again (e.g. after a worker restart) changes nothing.
    receive({
      target: TO_PAGE,
      type: "state",
      state: state({ connected: true, chainId: "0x7a69", accounts: ["0xa"] }),
    });
    expect(events).toEqual([["accountsChanged", ["0xa"]]]);
    events.length = 0;
    receive({ target: TO_PAGE, type: "state", state: state({ chainId: "0x7a69" }) });
    expect(events.map(([n]) => n)).toEqual(["disconnect", "accountsChanged"]);
    const error = events[0]?.[1] as ProviderRpcError;
    expect(error).toBeInstanceOf(ProviderRpcError);
    expect(error.code).toBe(4900);
  });

  it("settles requests from responses, errors as ProviderRpcError with code and data", async () => {
    const { provider, receive, posted } = setup();
    const ok = provider.request({ method: "eth_chainId" });
    const bad = provider.request({ method: "personal_sign", params: ["0x", "0x"] });
    const [a, b] = posted as { id: string }[];
    receive({ target: TO_PAGE, type: "response", id: a?.id ?? "", result: "0x1" });
    receive({
      target: TO_PAGE,
      type: "response",
      id: b?.id ?? "",
      error: { code: 4001, message: "no", data: { x: 1 } },
    });
    await expect(ok).resolves.toBe("0x1");
    await expect(bad).rejects.toMatchObject({ code: 4001, message: "no", data: { x: 1 } });
  });

  it("re-sends what is in flight when the bridge says it (re)started", () => {
    const { provider, receive, posted } = setup();
    void provider.request({ method: "eth_accounts" });
    posted.length = 0;
    receive({ target: TO_PAGE, type: "ready" });
    expect(posted).toEqual([
      { type: "hello" },
      { type: "request", id: expect.any(String), method: "eth_accounts" },
    ]);
  });

  it("supports once, off and removeListener", () => {
    const { provider, receive } = setup();
    const seen: unknown[] = [];
    const listener = (c: unknown) => seen.push(c);
    provider.once("chainChanged", listener);
    receive({ target: TO_PAGE, type: "state", state: state({ chainId: "0x1" }) });
    receive({ target: TO_PAGE, type: "state", state: state({ chainId: "0x2" }) });
    receive({ target: TO_PAGE, type: "state", state: state({ chainId: "0x3" }) });
    expect(seen).toEqual(["0x2"]);
    provider.on("chainChanged", listener).off("chainChanged", listener);
    receive({ target: TO_PAGE, type: "state", state: state({ chainId: "0x4" }) });
    expect(seen).toEqual(["0x2"]);
  });
});
