/**
 * Operator subcommands of `balance-bridge-relay` (docs/OPERATING.md). All but `keys` work on the
 * relay's store (the same --store/--data/… options and environment as the relay), so they act on every
 * instance sharing that store, whether or not a relay is running. The journal store belongs to one
 * process: while a relay holds its data directory they go through that relay's control socket
 * (control.ts); otherwise they open the store themselves:
 *
 *   keys [--subject <mailto:|https:>]        a fresh VAPID key pair (RFC 8292) as environment lines
 *   report [--day YYYY-MM-DD] [--format table|json]
 *   lockdown [on|off|status] [--json]        refuse new pairings relay-wide (403 pairings_locked)
 *   block-device <uuid> / unblock-device <uuid>
 *
 * Exit codes as for the relay: 0 done, 1 the store failed, 2 bad usage.
 */
import { UuidV4 } from "../protocol/schemas.ts";
import { ConfigError, parseConfig, type RelayConfig, storeUsesDataDir } from "./config.ts";
import { type ControlStore, connectControl } from "./control.ts";
import { buildReport, formatReport, isDay } from "./report.ts";
import { openStore } from "./server.ts";
import { dataDirHolder } from "./store/dataDirLock.ts";
import { redactRedisUrl, waitForStore } from "./store/reach.ts";
import { dayOf } from "./telemetry.ts";

export const COMMANDS = ["keys", "report", "lockdown", "block-device", "unblock-device"] as const;
type Command = (typeof COMMANDS)[number];
export const isCommand = (word: string | undefined): word is Command =>
  (COMMANDS as readonly string[]).includes(word ?? "");

export type CommandIo = { stdout(text: string): void; stderr(text: string): void };

const STORE_OPTIONS = "Store options: --store, --data (and their BB_RELAY_* variables), as for the relay.";
const HELP: Record<Command, string> = {
  keys: `Usage: balance-bridge-relay keys [--subject <mailto:…|https:…>]

Prints a fresh VAPID key pair (RFC 8292, P-256) for Web Push as environment lines. Put them in the
relay's environment (keep the private key secret); wallets' subscriptions are made with the public key,
so changing keys invalidates every Web Push subscription.
`,
  report: `Usage: balance-bridge-relay report [--day YYYY-MM-DD] [--format table|json] [store options]

One UTC day (default: today) as every instance recorded it: pairings, requests, approvals and
rejections (as wallets label their responses), expiries, p50/p99 time to answer, push success rate.
${STORE_OPTIONS}
`,
  lockdown: `Usage: balance-bridge-relay lockdown [on|off|status] [--json] [store options]

on: every instance refuses new pairings (403 pairings_locked) within about a second; existing sessions
go on working. off: pairings allowed again. status (default): the lockdown state and blocked devices.
${STORE_OPTIONS}
`,
  "block-device": `Usage: balance-bridge-relay block-device <device-uuid> [store options]

The device's pairing answers and every call on its sessions are refused (403 device_blocked) within
about a second, on every instance. Undo with unblock-device.
${STORE_OPTIONS}
`,
  "unblock-device": `Usage: balance-bridge-relay unblock-device <device-uuid> [store options]
${STORE_OPTIONS}
`,
};

class UsageError extends Error {}

/** Splits the command's own flags and positionals from relay options (which parseConfig checks). */
function splitArgs(argv: readonly string[], own: Record<string, "value" | "switch">) {
  const values: Record<string, string | true> = {};
  const positionals: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith("--")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const kind = own[flag];
    if (!kind) {
      // A relay option: keep it and its value together for parseConfig.
      rest.push(arg);
      const next = argv[i + 1];
      if (eq === -1 && next !== undefined && !next.startsWith("--")) {
        rest.push(next);
        i++;
      }
      continue;
    }
    if (kind === "switch") values[flag] = true;
    else if (eq !== -1) values[flag] = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith("--")) throw new UsageError(`${flag} needs a value`);
      values[flag] = next;
      i++;
    }
  }
  return { values, positionals, rest };
}

async function withStore<T>(config: RelayConfig, fn: (store: ControlStore) => Promise<T>): Promise<T> {
  if (config.store === "memory") {
    throw new UsageError("this command works on the relay's store; --store memory has nothing to work on");
  }
  const holder = config.store === "journal" ? dataDirHolder(config.dataDir) : undefined;
  if (holder !== undefined) {
    // A running relay owns the journal: ask it.
    const control = await connectControl(config.dataDir).catch((error: unknown) => {
      throw new Error(
        `data directory ${config.dataDir} is in use by process ${holder} (a running relay?), but ` +
          (error instanceof Error ? error.message : String(error)),
      );
    });
    try {
      return await fn(control);
    } finally {
      await control.close();
    }
  }
  // No relay running (or a store several processes share): open it here for the command's duration.
  const store = await openStore(config);
  try {
    // A remote store may need a moment to connect: retry its ping for a few seconds.
    await waitForStore(
      store,
      5_000,
      storeUsesDataDir(config.store) ? config.dataDir : redactRedisUrl(config.store),
    );
    return await fn(store);
  } finally {
    await store.close();
  }
}

export async function runCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: CommandIo,
): Promise<number> {
  const [command, ...args] = argv;
  if (!isCommand(command)) {
    io.stderr(`balance-bridge-relay: unknown command "${command}"\n`);
    return 2;
  }
  if (args.includes("--help") || args.includes("-h")) {
    io.stdout(HELP[command]);
    return 0;
  }
  try {
    switch (command) {
      case "keys": {
        const { values, positionals, rest } = splitArgs(args, { "--subject": "value" });
        if (positionals.length || rest.length) throw new UsageError("keys takes only --subject");
        const subject = values["--subject"];
        if (subject !== undefined && !/^(mailto:.+|https:\/\/.+)$/.test(String(subject))) {
          throw new UsageError("--subject must be a mailto: or https: contact");
        }
        // web-push is loaded for this command only (the relay itself loads it only with VAPID keys).
        const { generateVapidKeys } = await import("./push/webpush.ts");
        const keys = generateVapidKeys();
        io.stdout(
          [
            `# Web Push VAPID key pair (RFC 8292, P-256), made ${new Date().toISOString()}. Keep the private key secret.`,
            `BB_RELAY_VAPID_PUBLIC_KEY=${keys.publicKey}`,
            `BB_RELAY_VAPID_PRIVATE_KEY=${keys.privateKey}`,
            subject === undefined
              ? "# BB_RELAY_VAPID_SUBJECT=mailto:operator@relay.example   (required: a contact for push services)"
              : `BB_RELAY_VAPID_SUBJECT=${subject}`,
            "",
          ].join("\n"),
        );
        return 0;
      }

      case "report": {
        const { values, positionals, rest } = splitArgs(args, { "--day": "value", "--format": "value" });
        if (positionals.length)
          throw new UsageError(`report takes no arguments, got "${positionals.join(" ")}"`);
        const day = String(values["--day"] ?? dayOf(Date.now()));
        if (!isDay(day)) throw new UsageError(`--day must be a date YYYY-MM-DD, got "${day}"`);
        const format = String(values["--format"] ?? "table");
        if (format !== "table" && format !== "json") throw new UsageError("--format must be table or json");
        const config = parseConfig({ argv: rest, env });
        const stats = await withStore(config, (store) => store.readStats(day));
        const report = buildReport(day, stats);
        io.stdout(format === "json" ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
        return 0;
      }

      case "lockdown": {
        const { values, positionals, rest } = splitArgs(args, { "--json": "switch" });
        const [action = "status", ...extra] = positionals;
        if (extra.length || !["on", "off", "status"].includes(action)) {
          throw new UsageError("lockdown takes one of: on, off, status");
        }
        const config = parseConfig({ argv: rest, env });
        const state = await withStore(config, async (store) => {
          if (action !== "status") await store.lockPairings(action === "on");
          return store.readLockdown();
        });
        if (values["--json"]) io.stdout(`${JSON.stringify(state)}\n`);
        else {
          io.stdout(
            `new pairings: ${state.pairingsLocked ? "LOCKED (403 pairings_locked)" : "allowed"}\n` +
              `blocked devices: ${state.blockedDevices.length ? state.blockedDevices.join(", ") : "none"}\n`,
          );
        }
        return 0;
      }

      case "block-device":
      case "unblock-device": {
        const { positionals, rest } = splitArgs(args, {});
        const [deviceId, ...extra] = positionals;
        if (!deviceId || extra.length) throw new UsageError(`${command} takes exactly one device id`);
        if (!UuidV4.safeParse(deviceId).success) {
          throw new UsageError(`"${deviceId}" is not a device id (a lower-case UUID v4)`);
        }
        const config = parseConfig({ argv: rest, env });
        const block = command === "block-device";
        const changed = await withStore(config, (store) => store.blockDevice(deviceId, block));
        io.stdout(
          `device ${deviceId} ${block ? "blocked" : "unblocked"}${changed ? "" : " (it already was)"}\n`,
        );
        return 0;
      }
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) {
      io.stderr(`balance-bridge-relay ${command}: ${error.message} (see ${command} --help)\n`);
      return 2;
    }
    io.stderr(`balance-bridge-relay ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
