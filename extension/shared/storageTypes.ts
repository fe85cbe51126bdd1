/**
 * What the extension keeps, and where (docs/EXTENSION.md §MV3 lifecycle):
 *
 * `storage.session` (memory only, gone when the browser quits; trusted contexts only): everything a
 *   restarted service worker needs, and every key: the pairing in progress (with its secret key),
 *   the paired wallet session (keys, event cursor, last counter), per-origin permissions (they belong
 *   to that session), every pending request with its sealed body, tab and origin, and the id of the
 *   connect window. Session keys never touch the disk.
 * `storage.local` (on disk; readable by trusted extension contexts only): settings and the history
 *   of recent answers (transaction hashes for the popup).
 *
 * All values are plain JSON so they can be stored as-is.
 */
import type { RequestStatus } from "../../protocol/constants.ts";
import type { DappSession, PendingPairing, PreparedRequest } from "../../protocol/dappClient.ts";
import type { Outcome } from "./messages.ts";

export type Settings = {
  /** Relay base URL used for new pairings (a paired session keeps the relay it was made on). */
  relayUrl: string;
  /** Read-only JSON-RPC endpoint per chain (0x-hex chain id → URL); wins over the wallet's suggestion. */
  rpcUrls: Record<string, string>;
  /** Replace another wallet's window.ethereum (default: only install when the slot is empty). */
  takeOverWindowEthereum: boolean;
};

/** The paired phone wallet: the session (keys included) and the event cursor with the last counter. */
export type PairedWallet = {
  session: DappSession;
  /** Relay event cursor: the next poll asks for events after this seq. */
  after: number;
  /** Highest event counter `n` accepted (replay / reordering guard, docs/PROTOCOL.md §3.2). */
  lastN: number;
};

/** EIP-2255: an origin's grant of `eth_accounts`. */
export type Grant = { grantedAt: number };

export type PairingState =
  | { status: "waiting" | "expired"; pending: PendingPairing }
  /** The wallet's answer, derived and checked, waiting for the user to compare match codes. */
  | { status: "answered"; pending: PendingPairing; answer: DappSession }
  | { status: "failed"; pending?: PendingPairing; error: string };

type RequestBase = {
  /** The bridge's id for this request (never seen by the page). */
  rid: string;
  origin: string;
  tabId: number;
  frameId: number;
  method: string;
  params?: unknown;
  /** Unix ms. */
  createdAt: number;
  outcome?: Outcome;
  answeredAt?: number;
};

/** eth_requestAccounts / wallet_requestPermissions waiting for pairing or the user's approval. */
export type ConnectRequest = RequestBase & { kind: "connect"; status: "waiting" | "answered" };

/** A request sealed for the wallet and sent through the relay. */
export type WalletRequest = RequestBase & {
  kind: "wallet";
  sessionId: string;
  /** The sealed body and relay id: re-posting it after a restart is idempotent. */
  prepared: PreparedRequest;
  posted: boolean;
  status: RequestStatus | "answered";
};

export type PendingRequest = ConnectRequest | WalletRequest;

export type HistoryEntry = {
  rid: string;
  method: string;
  origin: string;
  outcome: Outcome;
  finishedAt: number;
  /** False when the page was gone (tab closed or reloaded) by the time the answer came. */
  delivered: boolean;
};

export type LocalData = {
  settings?: Settings;
  history?: HistoryEntry[];
};

export type SessionData = {
  pairing?: PairingState;
  connectWindowId?: number;
  wallet?: PairedWallet;
  permissions?: Record<string, Grant>;
};

/** Pending requests live under one key each, so concurrent updates never overwrite each other. */
export const REQUEST_KEY_PREFIX = "req:";
export const requestKey = (rid: string) => `${REQUEST_KEY_PREFIX}${rid}`;
