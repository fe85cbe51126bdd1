/**
 * Runs the relay: opens the configured store, builds the app, listens, sweeps forgotten entries, and
 * closes gracefully (open long-polls answer, in-flight requests finish, then the store closes).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createApp, type RelayApp } from "./app.ts";
import { type RelayConfig, storeUsesDataDir } from "./config.ts";
import { type ControlHandle, serveControl } from "./control.ts";
import { type Logger, silentLogger } from "./log.ts";
import { createRelayPush } from "./push/relayPush.ts";
import type { Push } from "./push/types.ts";
import { redactRedisUrl, waitForStore } from "./store/reach.ts";
import type { Clock, Store, StoreOptions } from "./store/types.ts";

export type RelayHandle = {
  /** Base URL, e.g. http://127.0.0.1:8787 (the real port when configured with 0). */
  url: string;
  port: number;
  store: Store;
  app: RelayApp;
  close(): Promise<void>;
};

export type StartRelayDeps = { logger?: Logger; now?: Clock; store?: Store; push?: Push };

/** Whether the configured store is Redis (a URL) rather than an embedded one. */
export const isRedisStore = (config: Pick<RelayConfig, "store">): boolean =>
  config.store !== "memory" && !storeUsesDataDir(config.store);

/**
 * Opens the configured store. A Redis store connects in the background (see `startRelay`). Each store's
 * module (and its package: lmdb, ioredis) is loaded only when that store is configured: a relay holds
 * in memory only the code it runs (ioredis alone is ≈ 9 MB of RSS; docs/BENCHMARKS.md).
 */
export async function openStore(config: RelayConfig, now?: Clock, logger?: Logger): Promise<Store> {
  const options: StoreOptions = {
    sessionIdleTtl: config.sessionIdleTtl,
    tombstoneGrace: config.tombstoneGrace,
    eventRetention: config.eventRetention,
    eventMax: config.eventMax,
    maxPendingPerSession: config.maxPendingPerSession,
    ...(now ? { now } : {}),
  };
  if (config.store === "memory") {
    const { createMemoryStore } = await import("./store/memory.ts");
    return createMemoryStore(options);
  }
  if (config.store === "journal") {
    const { createJournalStore } = await import("./store/journal.ts");
    return createJournalStore({ ...options, dataDir: config.dataDir });
  }
  if (config.store === "lmdb") {
    const { createLmdbStore } = await import("./store/lmdb.ts");
    return createLmdbStore({ ...options, dataDir: config.dataDir });
  }
  const { createRedisStore } = await import("./store/redis.ts");
  return createRedisStore({ ...options, url: config.store, ...(logger ? { logger } : {}) });
}

export async function startRelay(config: RelayConfig, deps: StartRelayDeps = {}): Promise<RelayHandle> {
  const logger = deps.logger ?? silentLogger();
  // Webhooks, plus Web Push when VAPID keys are configured (loaded first: nothing to undo if it fails).
  const push = deps.push ?? (await createRelayPush(config));
  const store = deps.store ?? (await openStore(config, deps.now, logger));
  // Redis: do not report "listening" before it answers; a wrong URL fails the start (exit 1).
  if (!deps.store && isRedisStore(config)) {
    await waitForStore(store, 10_000, redactRedisUrl(config.store));
  }
  // The journal store is this process's alone: the operator CLI reaches it through the control socket.
  let control: ControlHandle | undefined;
  if (!deps.store && config.store === "journal") {
    control = await serveControl(store, config.dataDir, logger).catch(async (error: unknown) => {
      await store.close();
      throw error;
    });
  }
  const app = createApp({ store, push, config, logger });
  const server = createServer(app);
  // Idle keep-alive connections stay open longer than a reverse proxy keeps its upstream connections
  // (nginx: 60 s), so the proxy never sends a request on a socket the relay is just closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // Requests Node cannot even parse (bad method, malformed or oversized headers) still get the
  // relay's JSON error shape, never an HTML page or a bare reset.
  server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || (error.code === "ECONNRESET" && !socket.readable)) {
      socket.destroy();
      return;
    }
    const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
    const body = JSON.stringify({
      error: {
        code: tooLarge ? "payload_too_large" : "invalid_field",
        message: tooLarge ? "request headers are too large" : "malformed HTTP request",
      },
    });
    socket.end(
      `HTTP/1.1 ${tooLarge ? "413 Payload Too Large" : "400 Bad Request"}\r\n` +
        "Content-Type: application/json; charset=utf-8\r\n" +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ port: config.port, host: config.host }, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await control?.close();
    await store.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = `http://${host}:${port}`;

  const sweep = () => {
    store
      .sweep()
      .then((n) => {
        if (n > 0) logger.debug({ purged: n }, "swept");
      })
      .catch((error: unknown) => logger.warn({ err: error }, "sweep failed"));
  };
  const sweeper = setInterval(sweep, config.sweepInterval * 1000);
  sweeper.unref();
  setImmediate(sweep);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(sweeper);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await app.shutdown(); // long-polls answer now; new requests get 503
      // Keep-alive connections become idle as their last answers go out: close them as they do, and
      // once no request is being handled, cut the rest (e.g. connections opened but never used).
      const reap = () => {
        if (app.inFlight() === 0) server.closeAllConnections();
        else server.closeIdleConnections();
      };
      reap();
      const idle = setInterval(reap, 20);
      // In-flight requests get --shutdown-timeout to finish; then the rest is cut.
      const cut = setTimeout(() => server.closeAllConnections(), config.shutdownTimeout * 1000);
      await closed;
      clearInterval(idle);
      clearTimeout(cut);
      await app.flushStats().catch((error: unknown) => logger.warn({ err: error }, "statistics not saved"));
      await control?.close();
      await store.close();
    })();
    return closing;
  };

  return { url, port, store, app, close };
}
