/**
 * `createApp` on its own (no startRelay): mounted on a plain node:http server or inside another
 * Express app, with long-polls on the lean fast path and everything else on Express routes, and the
 * same answers and headers either way.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { afterEach, describe, expect, it } from "vitest";
import { REQUEST_STATUS_HEADER } from "../../protocol/constants.ts";
import { createApp } from "../../relay/app.ts";
import { defaultConfig } from "../../relay/config.ts";
import { createWebhookPush } from "../../relay/push/webhook.ts";
import { createMemoryStore } from "../../relay/store/memory.ts";
import { createApi, errorOf, sealedSession, token, uuid } from "./helpers.ts";

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function makeApp() {
  return createApp({
    store: createMemoryStore(),
    push: createWebhookPush(),
    config: defaultConfig({ rateLimit: 0, corsOrigins: ["chrome-extension://abc"] }),
  });
}

describe("createApp", () => {
  it("serves long-polls and other routes with the same headers", async () => {
    const api = createApi(await listen(makeApp()));
    const origin = { origin: "chrome-extension://abc" };
    const t = token();
    await api.post("/v1/pairings", { token: t });
    for (const reply of [
      await api.get(`/v1/pairings/${t}?wait=0`, origin), // fast path, 204
      await api.get(`/v1/pairings/${token()}?wait=0`, origin), // fast path, 404
      await api.get(`/V1/Pairings/${t}/?wait=0`, origin), // Express-style matching: case, trailing slash
      await api.get("/healthz", origin), // Express
      await api.get("/nope", origin), // Express 404
    ]) {
      expect(reply.headers.get("access-control-allow-origin")).toBe("chrome-extension://abc");
      expect(reply.headers.get("access-control-expose-headers")).toBe(
        `${REQUEST_STATUS_HEADER}, Retry-After`,
      );
      expect(reply.headers.get("cache-control")).toBe("no-store");
      expect(reply.headers.get("x-content-type-options")).toBe("nosniff");
    }
    expect((await api.get(`/V1/Pairings/${t}/?wait=0`)).status).toBe(204);
  });

  it("answers HEAD on a long-poll route through Express with the same status", async () => {
    const base = await listen(makeApp());
    const api = createApi(base);
    const t = token();
    await api.post("/v1/pairings", { token: t });
    expect((await api.call("HEAD", `/v1/pairings/${t}?wait=0`)).status).toBe(204);
    expect((await api.call("HEAD", `/v1/pairings/${token()}?wait=0`)).status).toBe(404);
    expect((await api.call("HEAD", `/v1/pairings/bad?wait=0`)).status).toBe(400);
  });

  it("works mounted under a path of another Express app", async () => {
    const parent = express();
    parent.use("/relay", makeApp());
    const api = createApi(await listen(parent));
    const { sessionId: sid } = await createApi(`${api.base}/relay/`).pair();
    const id = uuid();
    const posted = await api.post(`/relay/v1/sessions/${sid}/requests`, { id, sealed: sealedSession() });
    expect(posted.status).toBe(201);
    const status = await api.get(`/relay/v1/sessions/${sid}/requests/${id}/response?wait=0`);
    expect(status.status).toBe(204);
    expect(status.headers.get(REQUEST_STATUS_HEADER)).toBe("queued");
    expect(errorOf(await api.get(`/relay/v1/sessions/${sid}/events?after=x`))).toMatchObject({
      status: 400,
      code: "invalid_field",
    });
  });
});
