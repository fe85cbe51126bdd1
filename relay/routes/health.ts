/** `GET /healthz`: 200 `{ok, store, uptime}` while the store answers, else 503 store_unavailable. */
import { defineRoute, type RouteContext, type Routes } from "./context.ts";

export function healthRoutes(router: Routes, { store }: RouteContext): void {
  const started = Date.now();
  defineRoute(router, "/healthz", {
    get: async (_req, res) => {
      await store.ping();
      res
        .status(200)
        .json({ ok: true, store: store.kind, uptime: Math.floor((Date.now() - started) / 1000) });
    },
  });
}
