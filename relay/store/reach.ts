/**
 * Reaching a store that may not answer yet (Redis connects in the background), shared by the relay's
 * start (`server.ts`), `openRedisStore` and the operator commands (`commands.ts`). No store module is
 * imported here: the relay loads ioredis only when Redis is configured.
 */
import { type Store, StoreUnavailableError } from "./types.ts";

/** Resolves once `store.ping()` succeeds; after `waitMs` closes the store and rejects. */
export async function waitForStore(store: Store, waitMs: number, what: string): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await store.ping();
      return;
    } catch (error) {
      if (Date.now() >= deadline) {
        await store.close();
        throw new StoreUnavailableError(
          `cannot reach ${what}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** A store URL without its password, for logs and messages (`redis://user:***@host`). */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z-]+:\/\/)([^@/]*)@/i, (_m, scheme: string, auth: string) => {
    const colon = auth.indexOf(":");
    return colon === -1 ? `${scheme}${auth}@` : `${scheme}${auth.slice(0, colon)}:***@`;
  });
}
