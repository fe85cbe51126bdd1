/**
 * What the user sees before approving: a plain-text summary of a request, built only from the
 * decrypted, authenticated payload. The origin is the one the extension's background read from the
 * browser (not what the page claims), sealed end to end, so the relay cannot change it either.
 *
 * Every string that came from the dapp is made printable first (control characters, ANSI escapes and
 * bidirectional overrides are escaped, long values cut), so a message cannot repaint the terminal or
 * disguise what is being signed.
 */
import { formatEther, formatGwei, hexToBytes, size, slice } from "viem";
import type { RequestPayload } from "../protocol/schemas.ts";
import type { ChainRegistry } from "./chains.ts";
import { sameChainId } from "./chains.ts";
import {
  parseAddChainParams,
  parsePersonalSignParams,
  parseSwitchChainParams,
  parseTransactionParams,
  parseTypedDataParams,
  sameAddress,
} from "./params.ts";

export type RequestDescription = {
  origin: string;
  method: string;
  /** The request's chain, e.g. "31337 (0x7a69)". */
  chain: string;
  /** Label/value pairs, in display order. */
  details: [label: string, value: string][];
  /** Things the user should notice (insecure origin, chain mismatch, unknown account…). */
  warnings: string[];
};

const MAX_TEXT = 2_000;

/** C0/C1 control characters (except tab and newline), DEL, and the bidirectional formatting marks. */
function isUnsafeCode(code: number): boolean {
  if (code === 0x09 || code === 0x0a) return false;
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x200e ||
    code === 0x200f ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069)
  );
}

/** Escapes what a terminal would interpret (controls, ANSI escapes, bidi overrides) and bounds the length. */
export function printable(text: string, max = MAX_TEXT): string {
  let escaped = "";
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    escaped += isUnsafeCode(code) ? `\\u${code.toString(16).padStart(4, "0")}` : ch;
  }
  return escaped.length > max
    ? `${escaped.slice(0, max)}… (${escaped.length - max} more characters)`
    : escaped;
}

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });

/** A personal_sign message as text when it is UTF-8, else as hex with its length. */
/**
 * A personal_sign message as text when it is UTF-8 with few control characters; else as hex with its
 * length (`utf8` then holds the escaped UTF-8 reading, when there is one, to show beside it).
 */
export function decodeMessage(raw: `0x${string}`): { text: string; isText: boolean; utf8?: string } {
  const bytes = hexToBytes(raw);
  let text: string | undefined;
  try {
    text = fatalUtf8.decode(bytes);
  } catch {
    // not UTF-8
  }
  if (text !== undefined) {
    // Mostly control characters → binary that happens to be valid UTF-8 (e.g. a 32-byte hash).
    let controls = 0;
    for (const ch of text) if (isUnsafeCode(ch.codePointAt(0) ?? 0) && ch !== "\r") controls++;
    if (controls === 0 || controls < text.length / 10) return { text, isText: true };
  }
  const hex = { text: `${raw} (${bytes.length} bytes, not text)`, isText: false };
  return text === undefined ? hex : { ...hex, utf8: printable(text, 500) };
}

export function chainLabel(chainId: string): string {
  try {
    return `${BigInt(chainId).toString()} (${chainId})`;
  } catch {
    return printable(chainId, 80);
  }
}

function originWarnings(origin: string): string[] {
  try {
    const url = new URL(origin);
    const local = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
    if (url.protocol === "http:" && !local) {
      return [`${origin} is not HTTPS: anyone on its network path could have changed the page`];
    }
  } catch {
    // the schema already checked it is an origin
  }
  return [];
}

export type DescribeContext = {
  /** The wallet's account in this session. */
  account?: string | undefined;
  /** The session's current chain. */
  chainId?: string | undefined;
  chains?: ChainRegistry | undefined;
};

export function describeRequest(payload: RequestPayload, ctx: DescribeContext = {}): RequestDescription {
  const details: [string, string][] = [];
  const warnings = originWarnings(payload.origin);
  const account = ctx.account;
  const checkAccount = (who: string | undefined, what: string) => {
    if (who !== undefined && account !== undefined && !sameAddress(who, account)) {
      warnings.push(`${what} ${who} is not this wallet's account ${account}: it will be refused`);
    }
  };

  try {
    switch (payload.method) {
      case "eth_sendTransaction": {
        const tx = parseTransactionParams(payload.params);
        if (ctx.chainId && !sameChainId(payload.chainId, ctx.chainId)) {
          warnings.push(
            `the dapp asks for chain ${chainLabel(payload.chainId)} but the session is on ${chainLabel(ctx.chainId)}: it will be refused`,
          );
        }
        details.push(["from", tx.from ?? `${account ?? "?"} (not given; this wallet's account)`]);
        checkAccount(tx.from, "from");
        details.push(["to", tx.to ?? "(none: contract creation)"]);
        details.push(["value", `${formatEther(tx.value ?? 0n)} ETH`]);
        if (tx.data && size(tx.data) > 0) {
          const selector = size(tx.data) >= 4 ? slice(tx.data, 0, 4) : tx.data;
          details.push(["data", `${size(tx.data)} bytes, selector ${selector}`]);
        } else {
          details.push(["data", "none (plain transfer)"]);
        }
        if (tx.gas !== undefined) details.push(["gas limit", tx.gas.toString()]);
        if (tx.gasPrice !== undefined) details.push(["gas price", `${formatGwei(tx.gasPrice)} gwei`]);
        if (tx.maxFeePerGas !== undefined) details.push(["max fee", `${formatGwei(tx.maxFeePerGas)} gwei`]);
        if (tx.maxPriorityFeePerGas !== undefined) {
          details.push(["priority fee", `${formatGwei(tx.maxPriorityFeePerGas)} gwei`]);
        }
        if (tx.nonce !== undefined) details.push(["nonce", String(tx.nonce)]);
        if (tx.chainId !== undefined && !sameChainId(tx.chainId, payload.chainId)) {
          warnings.push(
            `the transaction's chainId ${tx.chainId} differs from the request's ${payload.chainId}`,
          );
        }
        break;
      }
      case "personal_sign": {
        const p = parsePersonalSignParams(payload.params);
        const message = decodeMessage(p.raw);
        details.push(["account", p.address]);
        checkAccount(p.address, "account");
        details.push(["message", message.isText ? printable(message.text) : message.text]);
        if (message.utf8 !== undefined) details.push(["as UTF-8", message.utf8]);
        if (!message.isText)
          warnings.push("the message is not text: sign only if you know what these bytes are");
        break;
      }
      case "eth_signTypedData_v4": {
        const p = parseTypedDataParams(payload.params);
        const d = p.typedData.domain;
        details.push(["account", p.address]);
        checkAccount(p.address, "account");
        const domain = ["name", "version", "chainId", "verifyingContract", "salt"]
          .filter((k) => d[k] !== undefined)
          .map((k) => `${k}=${printable(String(d[k]), 200)}`)
          .join(", ");
        details.push(["domain", domain || "(empty)"]);
        details.push(["primary type", printable(p.typedData.primaryType, 200)]);
        details.push(["message", printable(JSON.stringify(p.typedData.message, jsonBigInt), 1_000)]);
        if (d.chainId !== undefined && ctx.chainId && !sameChainId(String(d.chainId), ctx.chainId)) {
          warnings.push(
            `the domain's chainId ${printable(String(d.chainId), 80)} is not the session's chain`,
          );
        }
        break;
      }
      case "wallet_switchEthereumChain": {
        const target = parseSwitchChainParams(payload.params);
        const known = ctx.chains?.get(target) !== undefined;
        details.push([
          "switch to",
          `${chainLabel(target)}${known ? "" : " — not configured in this wallet"}`,
        ]);
        if (ctx.chainId) details.push(["current", chainLabel(ctx.chainId)]);
        break;
      }
      case "wallet_addEthereumChain": {
        const p = parseAddChainParams(payload.params);
        details.push(["chain", `${chainLabel(p.chainId)} ${printable(p.chainName ?? "", 100)}`.trim()]);
        if (p.rpcUrls.length) details.push(["dapp's RPC", printable(p.rpcUrls.join(", "), 500)]);
        break;
      }
      default:
        if (payload.params !== undefined) {
          details.push(["params", printable(JSON.stringify(payload.params, jsonBigInt) ?? "", 500)]);
        }
    }
  } catch (error) {
    details.push(["params", `invalid: ${printable((error as Error).message, 300)}`]);
  }

  return {
    origin: printable(payload.origin, 300),
    method: printable(payload.method, 200),
    chain: chainLabel(payload.chainId),
    details,
    warnings,
  };
}

function jsonBigInt(_key: string, value: unknown) {
  return typeof value === "bigint" ? value.toString() : value;
}

/** Multi-line text of a description, labels aligned, for the terminal. */
export function formatDescription(d: RequestDescription, indent = "  "): string {
  const rows: [string, string][] = [
    ["origin", `${d.origin} (reported by the browser, end-to-end encrypted)`],
    ["method", d.method],
    ["chain", d.chain],
    ...d.details,
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = rows.map(([label, value]) => {
    const [head, ...rest] = value.split("\n");
    const pad = `${indent}${" ".repeat(width + 2)}`;
    return `${indent}${label.padEnd(width)}  ${head ?? ""}${rest.map((l) => `\n${pad}${l}`).join("")}`;
  });
  for (const w of d.warnings) lines.push(`${indent}WARNING: ${w}`);
  return lines.join("\n");
}
