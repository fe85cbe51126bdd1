import { describe, expect, it } from "vitest";
import vectors from "../docs/test-vectors.json" with { type: "json" };
import { toBase64Url } from "./base64url.ts";
import { generateToken } from "./keys.ts";
import { formatPairingUri, isPairingUriExpired, PairingUriError, parsePairingUri } from "./pairingUri.ts";

const token = generateToken();
const key = toBase64Url(new Uint8Array(32).fill(9));
const good = formatPairingUri({
  token,
  relayUrl: "https://relay.example.org/bb/",
  publicKey: key,
  expiresAt: 1_900_000_000,
});

function partOf(uri: string): string {
  try {
    parsePairingUri(uri);
  } catch (error) {
    expect(error).toBeInstanceOf(PairingUriError);
    return (error as PairingUriError).part;
  }
  throw new Error(`parsed: ${uri}`);
}

describe("pairing URI", () => {
  it("round-trips, normalising the relay URL", () => {
    expect(good).toBe(
      `balancebridge:${token}@1?relay=https%3A%2F%2Frelay.example.org%2Fbb&key=${key}&exp=1900000000`,
    );
    expect(parsePairingUri(good)).toEqual({
      token,
      version: 1,
      relayUrl: "https://relay.example.org/bb",
      publicKey: key,
      expiresAt: 1_900_000_000,
    });
  });

  it("parses the published vector", () => {
    expect(parsePairingUri(vectors.pairingUri).token).toBe(vectors.tokenBase64Url);
  });

  it("ignores unknown parameters (forward compatible) and accepts an upper-case scheme", () => {
    expect(parsePairingUri(`${good}&future=1`).token).toBe(token);
    expect(parsePairingUri(good.replace("balancebridge:", "BalanceBridge:")).token).toBe(token);
  });

  it("names the malformed part", () => {
    const cases: Array<[string, string]> = [
      ["", "uri"],
      ["x".repeat(3000), "uri"],
      [good.replace("balancebridge:", "wc:"), "scheme"],
      ["no-colon-at-all", "scheme"],
      [good.replace(`${token}@1`, `${token}`), "version"],
      [good.replace("@1?", "@2?"), "version"],
      [good.replace("@1?", "@v1?"), "version"],
      [good.replace(token, token.slice(1)), "token"],
      [good.replace(token, `${token.slice(0, -1)}+`), "token"],
      [good.replace(/relay=[^&]+&/, ""), "relay"],
      [good.replace(/relay=[^&]+/, "relay=ftp%3A%2F%2Fx"), "relay"],
      [good.replace(/relay=[^&]+/, "relay=not%20a%20url"), "relay"],
      [good.replace(/relay=[^&]+/, "relay=https%3A%2F%2Fu%3Ap%40host"), "relay"],
      [good.replace(/relay=[^&]+/, "relay=%E0%A4%A"), "relay"],
      [`${good}&relay=https%3A%2F%2Fevil.example`, "relay"],
      [good.replace(/key=[^&]+&/, ""), "key"],
      [good.replace(key, key.slice(2)), "key"],
      [good.replace(/exp=\d+/, ""), "exp"],
      [good.replace(/exp=\d+/, "exp=soon"), "exp"],
      [good.replace(/exp=\d+/, "exp=-5"), "exp"],
      [good.replace(/exp=\d+/, "exp=01900000000"), "exp"],
    ];
    for (const [uri, part] of cases) expect(partOf(uri), uri.slice(0, 80)).toBe(part);
  });

  it("knows when it has expired", () => {
    const uri = parsePairingUri(good);
    expect(isPairingUriExpired(uri, 1_899_999_999_000)).toBe(false);
    expect(isPairingUriExpired(uri, 1_900_000_000_000)).toBe(true);
  });
});
