/**
 * Logging. JSON lines (pino). The relay never logs a token, a sealed payload or a session id in full:
 * where one helps to correlate lines, `shortHash` logs 8 hex digits of its SHA-256 instead.
 */
import { createHash } from "node:crypto";
import { type Logger, pino } from "pino";

export type { Logger };

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: "balance-bridge-relay" },
      // Defence in depth: if a secret-bearing field is ever passed by mistake, it is not written.
      redact: {
        paths: ["token", "sessionId", "sealed", "*.token", "*.sessionId", "*.sealed"],
        censor: "[redacted]",
      },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

export const silentLogger = (): Logger => pino({ level: "silent" });

/** 8 hex digits of SHA-256: enough to follow one pairing or session through the logs, useless to an attacker. */
export function shortHash(value: string): string {
  return createHash("sha256").update(value).digest("hex").slice(0, 8);
}
