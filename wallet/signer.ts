/**
 * The wallet's account: a viem local account from a private key or a BIP-39 mnemonic (BIP-44 path
 * m/44'/60'/0'/0/<index>). The secret comes from a flag or the environment and is never written to the
 * state file.
 */
import type { Hex, LocalAccount } from "viem";
import { english, mnemonicToAccount, privateKeyToAccount } from "viem/accounts";

export type SignerOptions = {
  /** 32-byte hex private key, with or without 0x. */
  privateKey?: string | undefined;
  /** BIP-39 mnemonic (English word list). */
  mnemonic?: string | undefined;
  /** BIP-44 address index for the mnemonic (default 0). */
  accountIndex?: number | undefined;
};

export class SignerError extends Error {
  override name = "SignerError";
}

/** Reads the signer options from `BB_WALLET_PRIVATE_KEY`, `BB_WALLET_MNEMONIC`, `BB_WALLET_ACCOUNT_INDEX`. */
export function signerOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): SignerOptions {
  const index = env.BB_WALLET_ACCOUNT_INDEX;
  return {
    privateKey: env.BB_WALLET_PRIVATE_KEY || undefined,
    mnemonic: env.BB_WALLET_MNEMONIC || undefined,
    accountIndex: index ? parseAccountIndex(index) : undefined,
  };
}

export function parseAccountIndex(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n > 0x7fffffff) {
    throw new SignerError(`--account-index must be a whole number from 0 to 2147483647, got "${text}"`);
  }
  return n;
}

export function createSigner(options: SignerOptions): LocalAccount {
  const { privateKey, mnemonic } = options;
  if (privateKey && mnemonic) {
    throw new SignerError("give either a private key or a mnemonic, not both");
  }
  if (privateKey) {
    if (options.accountIndex !== undefined) {
      throw new SignerError("--account-index only applies to a mnemonic");
    }
    const hex = (privateKey.trim().startsWith("0x") ? privateKey.trim() : `0x${privateKey.trim()}`) as Hex;
    if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) {
      throw new SignerError(
        "the private key must be 32 bytes of hex (64 hex digits, optionally 0x-prefixed)",
      );
    }
    try {
      return privateKeyToAccount(hex);
    } catch {
      throw new SignerError("the private key is not a valid secp256k1 key");
    }
  }
  if (mnemonic) {
    const words = mnemonic.trim().toLowerCase().split(/\s+/);
    if (![12, 15, 18, 21, 24].includes(words.length)) {
      throw new SignerError(`the mnemonic must have 12, 15, 18, 21 or 24 words, got ${words.length}`);
    }
    const unknown = words.find((w) => !english.includes(w));
    if (unknown !== undefined)
      throw new SignerError("the mnemonic has a word outside the BIP-39 English list");
    try {
      return mnemonicToAccount(words.join(" "), { addressIndex: options.accountIndex ?? 0 });
    } catch (error) {
      throw new SignerError(`the mnemonic is not valid: ${(error as Error).message}`);
    }
  }
  throw new SignerError(
    "no account: set BB_WALLET_PRIVATE_KEY or BB_WALLET_MNEMONIC (or pass --private-key / --mnemonic)",
  );
}
