/**
 * The `balance-bridge-wallet` command line: `pair <uri>`, `serve`, `status`, `disconnect`.
 * Every option can also come from the environment (BB_WALLET_*); a flag wins over its variable.
 * Exit codes: 0 done, 1 failed (relay, RPC, state), 2 bad usage or bad input (malformed URI, bad key…).
 */
import { parseArgs } from "node:util";
import type { LocalAccount } from "viem";
import { PairingUriError, parsePairingUri } from "../protocol/pairingUri.ts";
import { ApprovalError, createApprover, parseApprovalMode } from "./approval.ts";
import { ChainConfigError, type ChainRegistry, createChainRegistry } from "./chains.ts";
import { chainLabel } from "./describe.ts";
import { createSigner, parseAccountIndex, SignerError } from "./signer.ts";
import { createStateStore, StateError, stateFileMode } from "./state.ts";
import { createWallet, WalletError, type WalletLogger } from "./wallet.ts";

export const HELP = `balance-bridge-wallet: the Balance Bridge reference wallet (the phone's side, on a terminal)

Usage:
  balance-bridge-wallet pair <pairing-uri> [options]   answer a dapp's pairing code (QR text)
  balance-bridge-wallet serve [options]                handle the dapps' requests until Ctrl-C
  balance-bridge-wallet status [options]               show the device id and the paired sessions
  balance-bridge-wallet disconnect [<session-id>]      end one session (id or unique prefix) or all

Account (pair, serve):
  --private-key <hex>       32-byte hex key                        env BB_WALLET_PRIVATE_KEY
  --mnemonic "<words>"      BIP-39 mnemonic (English)              env BB_WALLET_MNEMONIC
  --account-index <n>       BIP-44 index m/44'/60'/0'/0/<n> (0)    env BB_WALLET_ACCOUNT_INDEX
  Prefer the environment: flags are visible to other users in the process list.

Chains (pair, serve):
  --rpc <url>               JSON-RPC node; repeatable; its chain id is read from the node
                                                                   env BB_WALLET_RPC (comma-separated)
  --chain-id <id>           chain to start sessions on (decimal or 0x); without --rpc: a chain to
                            sign for only (no transactions)        env BB_WALLET_CHAIN_ID

Pairing:
  --webhook-url <url>       where the relay should push new requests (the URL that reaches
                            "serve --webhook-port"); none: the wallet only pulls
                                                                   env BB_WALLET_WEBHOOK_URL
  --webpush-subscription <json>  instead: a Web Push subscription (PushSubscription.toJSON()) for
                            a relay with VAPID keys               env BB_WALLET_WEBPUSH_SUBSCRIPTION
  --relay-allow <url>       only pair with this relay; repeatable  env BB_WALLET_RELAYS (comma-separated)
  --wallet-name <name>      name shown to the dapp                 env BB_WALLET_NAME

Serving:
  --approve ask|auto|reject ask on this terminal (default), approve all, or decline all (4001)
                                                                   env BB_WALLET_APPROVE
  --webhook-port <n>        run the push receiver on this port     env BB_WALLET_WEBHOOK_PORT
  --webhook-host <addr>     address it binds (default 127.0.0.1)   env BB_WALLET_WEBHOOK_HOST
  --push-only               no pull long-poll (push only)          env BB_WALLET_PUSH_ONLY=1
  --pull-wait <s>           seconds per pull long-poll (25, max 30) env BB_WALLET_PULL_WAIT

Disconnect:
  --reason <text>           told to the dapp in the disconnect event

General:
  --state <file>            state file (default ~/.balance-bridge-wallet/state.json)
                                                                   env BB_WALLET_STATE
  --json                    machine-readable output (pair, status, disconnect)
  -h, --help                this text
`;

const OPTIONS = {
  state: { type: "string" },
  "private-key": { type: "string" },
  mnemonic: { type: "string" },
  "account-index": { type: "string" },
  rpc: { type: "string", multiple: true },
  "chain-id": { type: "string" },
  "webhook-url": { type: "string" },
  "webpush-subscription": { type: "string" },
  "relay-allow": { type: "string", multiple: true },
  "wallet-name": { type: "string" },
  approve: { type: "string" },
  "webhook-port": { type: "string" },
  "webhook-host": { type: "string" },
  "push-only": { type: "boolean" },
  "pull-wait": { type: "string" },
  reason: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export type CliIo = {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Aborts `serve` (the CLI wires SIGINT/SIGTERM to it). */
  signal?: AbortSignal;
  /** Where `--approve ask` reads answers (default process.stdin; must be a TTY). */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
};

class UsageError extends Error {
  override name = "UsageError";
}

const list = (flag: string[] | undefined, env: string | undefined): string[] =>
  flag?.length
    ? flag
    : (env ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);

function intOption(text: string | undefined, name: string, min: number, max: number): number | undefined {
  if (text === undefined || text === "") return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min || n > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got "${text}"`);
  }
  return n;
}

export async function runCli(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: CliIo = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) },
): Promise<number> {
  const out = (line = "") => io.stdout(`${line}\n`);
  const err = (line: string) => io.stderr(`${line}\n`);
  try {
    let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const { values: v, positionals } = parsed;
    const [command, ...rest] = positionals;
    if (v.help || command === "help" || command === undefined) {
      io.stdout(HELP);
      return command === undefined && !v.help ? 2 : 0;
    }

    const state = createStateStore({ path: v.state, env });
    const logger: WalletLogger = {
      info: (m) => out(m),
      warn: (m) => err(m),
      error: (m) => err(m),
    };
    const signerFromInput = (): LocalAccount => {
      const index = v["account-index"] ?? env.BB_WALLET_ACCOUNT_INDEX;
      return createSigner({
        privateKey: v["private-key"] ?? (env.BB_WALLET_PRIVATE_KEY || undefined),
        mnemonic: v.mnemonic ?? (env.BB_WALLET_MNEMONIC || undefined),
        accountIndex: index ? parseAccountIndex(index) : undefined,
      });
    };
    const chainsFromInput = (): Promise<ChainRegistry> =>
      createChainRegistry({
        rpcUrls: list(v.rpc, env.BB_WALLET_RPC),
        chainId: v["chain-id"] ?? (env.BB_WALLET_CHAIN_ID || undefined),
      });
    const walletName = v["wallet-name"] ?? env.BB_WALLET_NAME;

    switch (command) {
      case "pair": {
        if (rest.length !== 1) throw new UsageError("pair takes exactly one argument: the pairing URI");
        const uri = parsePairingUri(rest[0] as string); // bad input first, before keys and RPCs
        const signer = signerFromInput();
        const chains = await chainsFromInput();
        const wallet = createWallet({
          state,
          signer,
          chains,
          logger: { ...logger, info: () => {} },
          allowedRelays: list(v["relay-allow"], env.BB_WALLET_RELAYS),
          ...(walletName ? { walletInfo: { name: walletName } } : {}),
        });
        const webhookUrl = v["webhook-url"] ?? (env.BB_WALLET_WEBHOOK_URL || undefined);
        const webPushSubscription =
          v["webpush-subscription"] ?? (env.BB_WALLET_WEBPUSH_SUBSCRIPTION || undefined);
        const result = await wallet.pair(uri, { webhookUrl, webPushSubscription });
        if (v.json) {
          out(JSON.stringify(result));
          return 0;
        }
        out(`Paired through relay ${result.relayUrl}`);
        out(`Match code: ${result.matchCode}`);
        out("  Check that the dapp shows the same 6 digits; if it does not, run `disconnect` at once.");
        out(`Session:    ${result.sessionId}`);
        out(`Account:    ${result.accounts.join(", ")}`);
        out(`Chain:      ${chainLabel(result.chainId)}`);
        out(
          `Push:       ${
            result.push?.type === "webhook"
              ? result.push.url
              : result.push?.type === "webpush"
                ? `Web Push to ${new URL(result.push.subscription.endpoint).origin}`
                : "none (run `serve`; it pulls)"
          }`,
        );
        out(`State:      ${state.path}`);
        return 0;
      }

      case "serve": {
        if (rest.length) throw new UsageError(`serve takes no arguments, got "${rest.join(" ")}"`);
        const mode = parseApprovalMode(v.approve ?? (env.BB_WALLET_APPROVE || "ask"));
        const webhookPort = intOption(
          v["webhook-port"] ?? env.BB_WALLET_WEBHOOK_PORT,
          "--webhook-port",
          0,
          65535,
        );
        const pullWait = intOption(v["pull-wait"] ?? env.BB_WALLET_PULL_WAIT, "--pull-wait", 0, 30);
        const pushOnly =
          v["push-only"] ?? ["1", "true", "yes"].includes((env.BB_WALLET_PUSH_ONLY ?? "").toLowerCase());
        if (pushOnly && webhookPort === undefined) {
          throw new UsageError("--push-only needs --webhook-port (else nothing would ever arrive)");
        }
        const approve = createApprover(mode, io.stdin ? { input: io.stdin } : {});
        const signer = signerFromInput();
        const chains = await chainsFromInput();
        const wallet = createWallet({
          state,
          signer,
          chains,
          approve,
          logger,
          ...(walletName ? { walletInfo: { name: walletName } } : {}),
        });
        const chainsText = chains
          .list()
          .map((c) => `${chainLabel(c.chainId)}${c.rpcUrl ? ` via ${c.rpcUrl}` : " (sign only)"}`)
          .join("; ");
        out(`chains: ${chainsText}`);
        const handle = await wallet.serve({
          webhookPort,
          webhookHost: v["webhook-host"] ?? (env.BB_WALLET_WEBHOOK_HOST || undefined),
          pull: !pushOnly,
          ...(pullWait !== undefined ? { pullWait } : {}),
          ...(io.signal ? { signal: io.signal } : {}),
        });
        out("ready (Ctrl-C to stop)");
        await handle.done;
        out("stopped");
        return 0;
      }

      case "status": {
        if (rest.length) throw new UsageError(`status takes no arguments, got "${rest.join(" ")}"`);
        let signer: LocalAccount | undefined;
        if (v["private-key"] || v.mnemonic || env.BB_WALLET_PRIVATE_KEY || env.BB_WALLET_MNEMONIC) {
          signer = signerFromInput();
        }
        const s = createWallet({ state, signer }).status();
        if (v.json) {
          out(JSON.stringify(s));
          return 0;
        }
        const mode = stateFileMode(s.statePath);
        out(
          `state:     ${s.statePath}${mode === undefined ? "" : ` (mode ${mode.toString(8).padStart(4, "0")})`}`,
        );
        out(`device id: ${s.deviceId}`);
        if (s.account) out(`account:   ${s.account}`);
        if (s.sessions.length === 0) out("no sessions: pair with `balance-bridge-wallet pair <uri>`");
        for (const x of s.sessions) {
          out(`session ${x.sessionId}`);
          out(`  relay       ${x.relayUrl}`);
          out(`  match code  ${x.matchCode}`);
          out(`  paired at   ${new Date(x.pairedAt * 1000).toISOString()}`);
          out(`  chain       ${chainLabel(x.chainId)}`);
          out(`  accounts    ${x.accounts.join(", ")}`);
          out(`  push        ${x.pushUrl ?? "none (pull)"}`);
          out(`  events sent ${x.eventCount}`);
        }
        return 0;
      }

      case "disconnect": {
        if (rest.length > 1) throw new UsageError("disconnect takes at most one argument: the session id");
        const wallet = createWallet({ state, logger: { ...logger, info: () => {} } });
        const ended = await wallet.disconnect(rest[0], v.reason);
        if (v.json) out(JSON.stringify({ disconnected: ended }));
        else if (ended.length === 0) out("no sessions to disconnect");
        else for (const id of ended) out(`disconnected ${id}`);
        return 0;
      }

      default:
        throw new UsageError(
          `unknown command "${command}"; commands: pair, serve, status, disconnect (see --help)`,
        );
    }
  } catch (error) {
    const usage =
      error instanceof UsageError ||
      error instanceof PairingUriError ||
      error instanceof SignerError ||
      error instanceof ApprovalError ||
      (error instanceof ChainConfigError && !error.message.startsWith("cannot read")) ||
      (error instanceof WalletError &&
        [
          "unknown_session",
          "ambiguous_session",
          "bad_webhook_url",
          "bad_push",
          "unknown_relay",
          "not_configured",
        ].includes(error.code));
    const known =
      usage ||
      error instanceof WalletError ||
      error instanceof StateError ||
      error instanceof ChainConfigError;
    err(`error: ${known ? (error as Error).message : ((error as Error).stack ?? String(error))}`);
    if (error instanceof UsageError) err("(see balance-bridge-wallet --help)");
    return usage ? 2 : 1;
  }
}
