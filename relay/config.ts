/**
 * The relay's configuration: command-line flags over environment variables over defaults, validated
 * with zod once at start. A bad value is a `ConfigError` naming the flag (the CLI exits 2 with it).
 */
import { z } from "zod";
import { PAIRING_TTL, REQUEST_TTL, WAIT } from "../protocol/constants.ts";

export type RelayConfig = {
  host: string;
  port: number;
  /**
   * "journal" (the default), "lmdb", "memory", or a Redis URL (`redis://`, `rediss://`,
   * `redis-cluster://`, `rediss-cluster://`).
   */
  store: "journal" | "lmdb" | "memory" | RedisStoreUrl;
  dataDir: string;
  /** Largest accepted request body, bytes. */
  maxBodyBytes: number;
  /** Largest accepted `wait`, seconds (≤ 30). */
  maxWait: number;
  maxPairingTtl: number;
  maxRequestTtl: number;
  maxPendingPerSession: number;
  /** Seconds a session lives without activity. */
  sessionIdleTtl: number;
  /** Seconds expired pairings/requests are remembered (410, not 404). */
  tombstoneGrace: number;
  eventRetention: number;
  eventMax: number;
  /** Seconds between sweeps of forgotten entries. */
  sweepInterval: number;
  /** Requests per second per client IP (token bucket refill); 0 disables rate limiting. */
  rateLimit: number;
  /** Token bucket size: requests a client may burst. */
  rateBurst: number;
  /** Express "trust proxy" setting, so the rate limit sees the client IP behind a reverse proxy. */
  trustProxy: string | number | boolean;
  /** `*` or a list of exact origins. */
  corsOrigins: "*" | string[];
  pushAllowHosts: string[];
  pushAllowPrivate: boolean;
  pushRetries: number;
  /** Per-attempt webhook timeout, ms. */
  pushTimeoutMs: number;
  /** VAPID key pair (RFC 8292), base64url; both empty: Web Push targets are refused. */
  vapidPublicKey: string;
  vapidPrivateKey: string;
  /** VAPID `sub` claim: a mailto: or https: contact for the push service's operator. */
  vapidSubject: string;
  /** Operator token for /admin/… (and /metrics when `metrics` is "token"); empty: admin endpoints off. */
  adminToken: string;
  /** /metrics: "open" to anyone who can reach it, "token" (operator token), or "off" (404). */
  metrics: "open" | "token" | "off";
  /** Seconds a graceful shutdown may take before remaining connections are cut. */
  shutdownTimeout: number;
  /** Seconds between flushes of the daily statistics to the store. */
  statsInterval: number;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
};

/** A Redis store URL (relay/store/redis.ts): standalone or Cluster, plain or TLS. */
export type RedisStoreUrl =
  | `redis://${string}`
  | `rediss://${string}`
  | `redis-cluster://${string}`
  | `rediss-cluster://${string}`;

export class ConfigError extends Error {
  override name = "ConfigError";
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const num = (min: number, max: number) => z.coerce.number().min(min).max(max);
const bool = z
  .union([z.boolean(), z.enum(["true", "false", "1", "0", "yes", "no", "on", "off", ""])])
  .transform((v) => v === true || v === "true" || v === "1" || v === "yes" || v === "on" || v === "");
const list = z.string().transform((s) =>
  s
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean),
);

type Option = {
  flag: string;
  env: string;
  key: keyof RelayConfig;
  /** Shown in --help, e.g. "<seconds>"; absent for boolean switches. */
  arg?: string;
  default: string;
  help: string;
  schema: z.ZodType;
};

/** Every option, in --help order. */
export const OPTIONS: readonly Option[] = [
  {
    flag: "--host",
    env: "BB_RELAY_HOST",
    key: "host",
    arg: "<address>",
    default: "127.0.0.1",
    help: "Interface to listen on (0.0.0.0 for all).",
    schema: z.string().min(1),
  },
  {
    flag: "--port",
    env: "BB_RELAY_PORT",
    key: "port",
    arg: "<port>",
    default: "8787",
    help: 'TCP port; 0 picks a free one (reported in the "listening" log line).',
    schema: int(0, 65535),
  },
  {
    flag: "--store",
    env: "BB_RELAY_STORE",
    key: "store",
    arg: "journal|lmdb|memory|<redis-url>",
    default: "journal",
    help:
      "journal: durable on disk, records held in memory (the fastest durable store); lmdb: durable on " +
      "disk, records need not fit in memory; memory: lost on exit (tests, demos); " +
      "redis://[:password@]host:port[/db] (rediss:// for TLS, redis-cluster://host:port,host:port for a " +
      "Cluster): shared by several instances.",
    schema: z
      .string()
      .refine(
        (s) =>
          s === "journal" || s === "lmdb" || s === "memory" || /^(rediss?|rediss?-cluster):\/\/\S+$/.test(s),
        "expected journal, lmdb, memory, or a redis://, rediss://, redis-cluster:// or rediss-cluster:// URL",
      )
      .transform((s) => s as RelayConfig["store"]),
  },
  {
    flag: "--data",
    env: "BB_RELAY_DATA",
    key: "dataDir",
    arg: "<dir>",
    default: "./data",
    help: "Directory of the journal or lmdb store (created if missing; one relay per directory).",
    schema: z.string().min(1),
  },
  {
    flag: "--max-body",
    env: "BB_RELAY_MAX_BODY",
    key: "maxBodyBytes",
    arg: "<bytes>",
    default: "65536",
    help: "Largest request body; larger is 413.",
    schema: int(1024, 16 * 1024 * 1024),
  },
  {
    flag: "--max-wait",
    env: "BB_RELAY_MAX_WAIT",
    key: "maxWait",
    arg: "<seconds>",
    default: String(WAIT.max),
    help: `Largest long-poll wait accepted (≤ ${WAIT.max}; MV3 service workers stop after 30 s idle).`,
    schema: int(0, WAIT.max),
  },
  {
    flag: "--max-pairing-ttl",
    env: "BB_RELAY_MAX_PAIRING_TTL",
    key: "maxPairingTtl",
    arg: "<seconds>",
    default: String(PAIRING_TTL.max),
    help: `Largest pairing ttl accepted (${PAIRING_TTL.min}..${PAIRING_TTL.max}).`,
    schema: int(PAIRING_TTL.min, PAIRING_TTL.max),
  },
  {
    flag: "--max-request-ttl",
    env: "BB_RELAY_MAX_REQUEST_TTL",
    key: "maxRequestTtl",
    arg: "<seconds>",
    default: String(REQUEST_TTL.max),
    help: `Largest request ttl accepted (${REQUEST_TTL.min}..${REQUEST_TTL.max}).`,
    schema: int(REQUEST_TTL.min, REQUEST_TTL.max),
  },
  {
    flag: "--max-pending",
    env: "BB_RELAY_MAX_PENDING",
    key: "maxPendingPerSession",
    arg: "<count>",
    default: "100",
    help: "Unanswered requests per session; more is 429 too_many_pending.",
    schema: int(1, 100_000),
  },
  {
    flag: "--session-idle-ttl",
    env: "BB_RELAY_SESSION_IDLE_TTL",
    key: "sessionIdleTtl",
    arg: "<seconds>",
    default: String(30 * 24 * 3600),
    help: "A session unused this long is dropped (sliding on every call).",
    schema: int(60, 10 * 365 * 24 * 3600),
  },
  {
    flag: "--tombstone-grace",
    env: "BB_RELAY_TOMBSTONE_GRACE",
    key: "tombstoneGrace",
    arg: "<seconds>",
    default: "3600",
    help: "How long expired pairings/requests answer 410 before they are forgotten (404).",
    schema: int(0, 30 * 24 * 3600),
  },
  {
    flag: "--event-retention",
    env: "BB_RELAY_EVENT_RETENTION",
    key: "eventRetention",
    arg: "<seconds>",
    default: "86400",
    help: "How long session events are kept.",
    schema: int(1, 30 * 24 * 3600),
  },
  {
    flag: "--event-max",
    env: "BB_RELAY_EVENT_MAX",
    key: "eventMax",
    arg: "<count>",
    default: "100",
    help: "Events kept per session (the newest).",
    schema: int(1, 10_000),
  },
  {
    flag: "--sweep-interval",
    env: "BB_RELAY_SWEEP_INTERVAL",
    key: "sweepInterval",
    arg: "<seconds>",
    default: "60",
    help: "Seconds between sweeps that purge forgotten entries.",
    schema: num(0.1, 86400),
  },
  {
    flag: "--rate-limit",
    env: "BB_RELAY_RATE_LIMIT",
    key: "rateLimit",
    arg: "<req/s>",
    default: "20",
    help: "Sustained requests per second per client IP; 0 disables.",
    schema: num(0, 1_000_000),
  },
  {
    flag: "--rate-burst",
    env: "BB_RELAY_RATE_BURST",
    key: "rateBurst",
    arg: "<count>",
    default: "100",
    help: "Requests a client IP may burst above the rate.",
    schema: int(1, 1_000_000),
  },
  {
    flag: "--trust-proxy",
    env: "BB_RELAY_TRUST_PROXY",
    key: "trustProxy",
    arg: "<value>",
    default: "false",
    help: 'Trust X-Forwarded-For from: false, true, a hop count, or addresses/subnets ("loopback", "10.0.0.0/8").',
    schema: z
      .string()
      .transform((s): string | number | boolean =>
        s === "true" ? true : s === "false" || s === "" ? false : /^\d+$/.test(s) ? Number(s) : s,
      ),
  },
  {
    flag: "--cors-origin",
    env: "BB_RELAY_CORS_ORIGIN",
    key: "corsOrigins",
    arg: "<origins>",
    default: "*",
    help: "Access-Control-Allow-Origin: * or a comma list of exact origins (chrome-extension://<id>,https://wallet.example).",
    schema: z
      .string()
      .min(1)
      .transform((s): "*" | string[] =>
        s.trim() === "*"
          ? "*"
          : s
              .split(",")
              .map((x) => x.trim())
              .filter(Boolean),
      ),
  },
  {
    flag: "--push-allow-hosts",
    env: "BB_RELAY_PUSH_ALLOW_HOSTS",
    key: "pushAllowHosts",
    arg: "<hosts>",
    default: "",
    help: "Comma list of webhook hostnames/IPs allowed even if private or loopback.",
    schema: list,
  },
  {
    flag: "--push-allow-private",
    env: "BB_RELAY_PUSH_ALLOW_PRIVATE",
    key: "pushAllowPrivate",
    default: "false",
    help: "Allow webhooks to any private/loopback address (trusted networks only: SSRF).",
    schema: bool,
  },
  {
    flag: "--push-retries",
    env: "BB_RELAY_PUSH_RETRIES",
    key: "pushRetries",
    arg: "<count>",
    default: "4",
    help: "Webhook retries after the first attempt (exponential backoff with jitter).",
    schema: int(0, 20),
  },
  {
    flag: "--push-timeout",
    env: "BB_RELAY_PUSH_TIMEOUT",
    key: "pushTimeoutMs",
    arg: "<ms>",
    default: "5000",
    help: "Timeout of one webhook attempt, milliseconds.",
    schema: int(100, 120_000),
  },
  {
    flag: "--vapid-public-key",
    env: "BB_RELAY_VAPID_PUBLIC_KEY",
    key: "vapidPublicKey",
    arg: "<base64url>",
    default: "",
    help: "VAPID public key for Web Push (make a pair with `balance-bridge-relay keys`); none: Web Push refused.",
    schema: z.string().trim(),
  },
  {
    flag: "--vapid-private-key",
    env: "BB_RELAY_VAPID_PRIVATE_KEY",
    key: "vapidPrivateKey",
    arg: "<base64url>",
    default: "",
    help: "VAPID private key (prefer the environment: flags show in the process list).",
    schema: z.string().trim(),
  },
  {
    flag: "--vapid-subject",
    env: "BB_RELAY_VAPID_SUBJECT",
    key: "vapidSubject",
    arg: "<mailto:|https:>",
    default: "",
    help: "Contact for push services (VAPID sub claim), e.g. mailto:ops@relay.example; needed with the keys.",
    schema: z.string().trim(),
  },
  {
    flag: "--admin-token",
    env: "BB_RELAY_ADMIN_TOKEN",
    key: "adminToken",
    arg: "<token>",
    default: "",
    help: "Operator token for /admin/… (Authorization: Bearer); none: admin endpoints answer 404.",
    schema: z.string().trim(),
  },
  {
    flag: "--metrics",
    env: "BB_RELAY_METRICS",
    key: "metrics",
    arg: "open|token|off",
    default: "open",
    help: "GET /metrics (Prometheus): open, token (needs the admin token), or off.",
    schema: z.enum(["open", "token", "off"]),
  },
  {
    flag: "--shutdown-timeout",
    env: "BB_RELAY_SHUTDOWN_TIMEOUT",
    key: "shutdownTimeout",
    arg: "<seconds>",
    default: "10",
    help: "On SIGTERM: seconds in-flight requests get to finish before the relay exits anyway.",
    schema: num(0.1, 600),
  },
  {
    flag: "--stats-interval",
    env: "BB_RELAY_STATS_INTERVAL",
    key: "statsInterval",
    arg: "<seconds>",
    default: "10",
    help: "Seconds between writes of the daily statistics (for `report`) to the store.",
    schema: num(0.1, 3600),
  },
  {
    flag: "--log-level",
    env: "BB_RELAY_LOG_LEVEL",
    key: "logLevel",
    arg: "<level>",
    default: "info",
    help: "fatal, error, warn, info, debug (one line per request), trace or silent.",
    schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
  },
];

export function helpText(): string {
  const rows = OPTIONS.map((o) => {
    const left = `  ${o.flag}${o.arg ? ` ${o.arg}` : ""}`;
    return `${left.padEnd(36)}${o.help}\n${"".padEnd(36)}env ${o.env}, default ${o.default === "" ? "(none)" : o.default}`;
  });
  return [
    "Usage: balance-bridge-relay [options]",
    "       balance-bridge-relay <command> [options]   (keys, report, lockdown, block-device,",
    "                                                    unblock-device: see `<command> --help`)",
    "",
    "Balance Bridge relay: a blind mailbox for end-to-end encrypted pairing answers, requests,",
    "responses and events. Flags override environment variables, which override defaults.",
    "",
    "Options:",
    ...rows,
    `  ${"--help".padEnd(34)}Show this help and exit.`,
    "",
  ].join("\n");
}

export type ParseConfigInput = {
  argv?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  /** Values that win over flags and env (tests, embedding). */
  overrides?: Partial<RelayConfig>;
};

/** True when the arguments ask for help. */
export const wantsHelp = (argv: readonly string[]) => argv.includes("--help") || argv.includes("-h");

export function parseConfig({ argv = [], env = {}, overrides = {} }: ParseConfigInput = {}): RelayConfig {
  const byFlag = new Map(OPTIONS.map((o) => [o.flag, o]));
  const fromFlags = new Map<Option, string | boolean>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith("--")) throw new ConfigError(`unexpected argument "${arg}" (see --help)`);
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const option = byFlag.get(flag);
    if (!option) throw new ConfigError(`unknown option ${flag} (see --help)`);
    if (eq !== -1) fromFlags.set(option, arg.slice(eq + 1));
    else if (!option.arg) fromFlags.set(option, true);
    else {
      const value = argv[i + 1];
      if (value === undefined || (value.startsWith("--") && value.length > 2)) {
        throw new ConfigError(`${flag} needs a value ${option.arg}`);
      }
      fromFlags.set(option, value);
      i++;
    }
  }

  const config: Record<string, unknown> = {};
  for (const option of OPTIONS) {
    const flagValue = fromFlags.get(option);
    const envValue = env[option.env];
    const [raw, source] =
      flagValue !== undefined
        ? [flagValue, option.flag]
        : envValue !== undefined
          ? [envValue, option.env]
          : [option.default, `default of ${option.flag}`];
    const parsed = option.schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ConfigError(`${source}: invalid value "${String(raw)}" (${issue?.message ?? "invalid"})`);
    }
    config[option.key] = parsed.data;
  }
  const result = { ...(config as RelayConfig), ...overrides };
  if (result.rateLimit > 0 && result.rateBurst < 1) throw new ConfigError("--rate-burst must be at least 1");
  checkOperatorOptions(result);
  return result;
}

const base64urlBytes = (text: string): number | undefined =>
  /^[A-Za-z0-9_-]*$/.test(text) ? Buffer.from(text, "base64url").length : undefined;

/** Cross-option checks for Web Push (RFC 8292 keys) and the operator token. */
function checkOperatorOptions(c: RelayConfig): void {
  const keys = [c.vapidPublicKey, c.vapidPrivateKey].filter(Boolean).length;
  if (keys === 1) throw new ConfigError("--vapid-public-key and --vapid-private-key go together");
  if (keys === 2) {
    // P-256 (RFC 8292 §3.2): an uncompressed public point is 65 bytes, a private scalar 32.
    if (base64urlBytes(c.vapidPublicKey) !== 65 || !c.vapidPublicKey.startsWith("B")) {
      throw new ConfigError("--vapid-public-key: must be a P-256 public key, 65 bytes as base64url");
    }
    if (base64urlBytes(c.vapidPrivateKey) !== 32) {
      throw new ConfigError("--vapid-private-key: must be a P-256 private key, 32 bytes as base64url");
    }
    if (!/^(mailto:.+|https:\/\/.+)$/.test(c.vapidSubject)) {
      throw new ConfigError("--vapid-subject: a mailto: or https: contact is needed with VAPID keys");
    }
  }
  if (c.adminToken && c.adminToken.length < 16) {
    throw new ConfigError("--admin-token: must be at least 16 characters (use a long random value)");
  }
  if (c.metrics === "token" && !c.adminToken) {
    throw new ConfigError("--metrics token needs --admin-token");
  }
}

/** The defaults, optionally overridden: for tests and embedding. */
export function defaultConfig(overrides: Partial<RelayConfig> = {}): RelayConfig {
  return parseConfig({ overrides });
}

/** Whether the store lives in `dataDir` (journal, lmdb) rather than in memory or Redis. */
export const storeUsesDataDir = (store: RelayConfig["store"]): store is "journal" | "lmdb" =>
  store === "journal" || store === "lmdb";
