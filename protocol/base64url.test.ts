import { describe, expect, it } from "vitest";
import { fromBase64Url, isBase64UrlOfLength, toBase64Url, tryFromBase64Url } from "./base64url.ts";

describe("base64url", () => {
  it("matches RFC 4648 §10 test vectors (url alphabet, no padding)", () => {
    const vectors: Array<[string, string]> = [
      ["", ""],
      ["f", "Zg"],
      ["fo", "Zm8"],
      ["foo", "Zm9v"],
      ["foob", "Zm9vYg"],
      ["fooba", "Zm9vYmE"],
      ["foobar", "Zm9vYmFy"],
    ];
    for (const [plain, encoded] of vectors) {
      expect(toBase64Url(new TextEncoder().encode(plain))).toBe(encoded);
      expect(new TextDecoder().decode(fromBase64Url(encoded))).toBe(plain);
    }
  });

  it("uses - and _ and round-trips every byte value", () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const text = toBase64Url(all);
    expect(text).not.toMatch(/[+/=]/);
    expect(fromBase64Url(text)).toEqual(all);
    expect(toBase64Url(Uint8Array.of(0xfb, 0xff))).toBe("-_8");
  });

  it("refuses padding, the standard alphabet, impossible lengths and non-canonical trailing bits", () => {
    for (const bad of ["Zg==", "+/8", "Z", "Zh", "Zm9vY", "Zm9 v", "é"]) {
      expect(tryFromBase64Url(bad), bad).toBeUndefined();
    }
    expect(() => fromBase64Url("Zh", "token")).toThrow(/token/);
  });

  it("checks exact lengths", () => {
    const t = toBase64Url(new Uint8Array(32).fill(7));
    expect(isBase64UrlOfLength(t, 32)).toBe(true);
    expect(isBase64UrlOfLength(t, 31)).toBe(false);
    expect(isBase64UrlOfLength(`${t}A`, 32)).toBe(false);
    expect(isBase64UrlOfLength(42, 32)).toBe(false);
  });
});
