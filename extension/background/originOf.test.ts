import { describe, expect, it } from "vitest";
import { originOf } from "./originOf.ts";

const sender = (s: Partial<chrome.runtime.MessageSender>) => s as chrome.runtime.MessageSender;

describe("originOf: the browser-reported origin of a port", () => {
  it("uses MessageSender.origin", () => {
    expect(originOf(sender({ origin: "https://app.example", url: "https://other.example/x" }))).toBe(
      "https://app.example",
    );
    expect(originOf(sender({ origin: "http://127.0.0.1:8080" }))).toBe("http://127.0.0.1:8080");
  });

  it("falls back to the frame's URL only when the browser gives no origin", () => {
    expect(originOf(sender({ url: "https://app.example/path?q=1" }))).toBe("https://app.example");
    expect(originOf(sender({ frameId: 0, tab: { url: "https://top.example/" } as chrome.tabs.Tab }))).toBe(
      "https://top.example",
    );
    expect(
      originOf(sender({ frameId: 3, tab: { url: "https://top.example/" } as chrome.tabs.Tab })),
    ).toBeUndefined();
  });

  it("refuses opaque and non-web origins, never replacing them by the URL", () => {
    expect(originOf(sender({ origin: "null", url: "https://bank.example/" }))).toBeUndefined();
    expect(originOf(sender({ origin: "chrome-extension://abc" }))).toBeUndefined();
    expect(originOf(sender({ url: "file:///etc/passwd" }))).toBeUndefined();
    expect(originOf(sender({}))).toBeUndefined();
  });
});
