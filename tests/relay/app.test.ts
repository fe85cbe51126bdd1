/**
 * `createApp` on its own (no startRelay): mounted on a plain node:http server or inside another
 * Express app, with the protocol's routes on the lean router (http/apiRouter.ts) and everything else
 * on Express routes, and the same answers and headers either way.
 */
import { createServer, request, type Server } from "node:http";
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
      await api.get(`/v1/pairings/${t}?wait=0`, origin), // lean router, 204
      await api.get(`/v1/pairings/${token()}?wait=0`, origin), // lean router, 404
      await api.call("POST", "/v1/pairings", { token: token() }, { headers: origin }), // lean router, 201
      await api.call("PATCH", "/v1/pairings", undefined, { headers: origin }), // lean router, 405
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

  it("answers HEAD on a long-poll route with the GET handler's status", async () => {
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

  it("reads a chunked body; a client that leaves halfway through its body leaves nothing in flight", async () => {
    const app = makeApp();
    const base = await listen(app);
    const { port } = new URL(base);
    const send = (chunks: string[], leave: boolean) =>
      new Promise<{ status: number; body: string } | undefined>((resolve, reject) => {
        const req = request({
          host: "127.0.0.1",
          port,
          method: "POST",
          path: "/v1/pairings",
          headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
        });
        req.on("response", (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            body += c;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", (error) => (leave ? resolve(undefined) : reject(error)));
        for (const chunk of chunks) req.write(chunk);
        if (leave) setTimeout(() => req.destroy(), 50);
        else req.end();
      });
    const t = token();
    const whole = await send(['{"tok', `en":"${t}"`, "}"], false);
    expect(whole?.status).toBe(201);
    expect(JSON.parse(whole?.body ?? "")).toMatchObject({ expiresAt: expect.any(Number) });
    expect(await send(['{"token":"', t.slice(0, 10)], true)).toBeUndefined();
    for (let i = 0; i < 50 && app.inFlight() > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(app.inFlight()).toBe(0);
  });
});
