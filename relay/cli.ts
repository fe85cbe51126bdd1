/**
 * `balance-bridge-relay [options]` (see --help). Logs JSON lines to stdout; the line
 * `{"msg":"listening","url":…}` says it is ready. SIGTERM/SIGINT close it gracefully; exit codes:
 * 0 normal, 1 runtime failure, 2 bad configuration. `balance-bridge-relay <command>` runs an operator
 * subcommand instead (commands.ts: keys, report, lockdown, block-device, unblock-device).
 */
import { isCommand, runCommand } from "./commands.ts";
import {
  ConfigError,
  helpText,
  parseConfig,
  type RelayConfig,
  storeUsesDataDir,
  wantsHelp,
} from "./config.ts";
import { createLogger } from "./log.ts";
import { startRelay } from "./server.ts";
import { redactRedisUrl } from "./store/reach.ts";

const argv = process.argv.slice(2);
if (isCommand(argv[0])) {
  const code = await runCommand(argv, process.env, {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  });
  process.exit(code);
}
if (wantsHelp(argv)) {
  process.stdout.write(helpText());
  process.exit(0);
}

let config: RelayConfig;
try {
  config = parseConfig({ argv, env: process.env });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`balance-bridge-relay: ${error.message}\n`);
  process.exit(2);
}

const logger = createLogger(config.logLevel);
// The readiness line is written whatever the log level: scripts and tests wait for it.
const announce = logger.isLevelEnabled("info") ? logger : createLogger("info");

process.on("uncaughtException", (error) => {
  logger.fatal({ err: error }, "uncaught exception");
  process.exit(1);
});
process.on("unhandledRejection", (error) => {
  logger.fatal({ err: error }, "unhandled rejection");
  process.exit(1);
});

let relay: Awaited<ReturnType<typeof startRelay>>;
try {
  relay = await startRelay(config, { logger });
} catch (error) {
  logger.fatal({ err: error }, "failed to start");
  process.stderr.write(
    `balance-bridge-relay: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
}

announce.info(
  {
    url: relay.url,
    store: redactRedisUrl(config.store), // a Redis URL may carry a password
    ...(storeUsesDataDir(config.store) ? { data: config.dataDir } : {}),
    pid: process.pid,
  },
  "listening",
);

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) {
    logger.warn({ signal }, "second signal: exiting now");
    process.exit(1);
  }
  stopping = true;
  logger.info({ signal }, "shutting down");
  // A bounded exit whatever happens (a store that hangs on close): the shutdown timeout plus a margin.
  setTimeout(
    () => {
      logger.error({ signal }, "shutdown took too long: exiting now");
      process.exit(1);
    },
    config.shutdownTimeout * 1000 + 2_000,
  ).unref();
  relay.close().then(
    () => {
      logger.info("stopped");
      process.exit(0);
    },
    (error: unknown) => {
      logger.error({ err: error }, "error while closing");
      process.exit(1);
    },
  );
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
