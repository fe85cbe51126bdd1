/** The relay's public API: run it (startRelay), embed it (createApp), or build a store or push of your own. */
export { type AppDeps, createApp, type RelayApp } from "./app.ts";
export { ConfigError, defaultConfig, helpText, OPTIONS, parseConfig, type RelayConfig } from "./config.ts";
export { createLogger, shortHash } from "./log.ts";
export { createLongPoll, type LongPoll } from "./longPoll.ts";
export { combinePush, createRelayPush } from "./push/relayPush.ts";
export { checkTarget, isPublicAddress } from "./push/ssrf.ts";
export type { Push, PushMessage, PushResult, PushValidation } from "./push/types.ts";
export { createWebhookPush, type WebhookPushOptions } from "./push/webhook.ts";
export { createWebPushPush, generateVapidKeys, type VapidKeys, type WebPushOptions } from "./push/webpush.ts";
export { buildReport, type DayReport, formatReport } from "./report.ts";
export { openStore, type RelayHandle, type StartRelayDeps, startRelay } from "./server.ts";
export { createJournalStore, type JournalStoreOptions } from "./store/journal.ts";
export { createLmdbStore, type LmdbStoreOptions } from "./store/lmdb.ts";
export { createMemoryStore } from "./store/memory.ts";
export { createRedisStore, openRedisStore, type RedisStoreOptions } from "./store/redis.ts";
export * from "./store/types.ts";
