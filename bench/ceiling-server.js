// The ceiling for the relay's figures: a bare `node:http` server (no framework, no store, no
// validation) answering the same route shapes with fixed bodies. Plain JavaScript run by plain node, so
// it carries nothing the relay does not also need. Prints one JSON line {"url": …} once listening.
//
//   POST /v1/pairings          → reads the body, 201 {"expiresAt":…}
//   GET  /v1/pairings/:t?wait=s → holds the request s seconds (a bare idle long-poll), then 204
//   GET  /healthz              → 200 {"ok":true}
import { createServer } from "node:http";

const CREATED = JSON.stringify({ expiresAt: 1_900_000_000 });
const HEALTH = JSON.stringify({ ok: true });

function json(res, status, body) {
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

const server = createServer((req, res) => {
  const url = req.url ?? "/";
  if (req.method === "POST" && url === "/v1/pairings") {
    req.on("data", () => {});
    req.on("end", () => json(res, 201, CREATED));
    return;
  }
  if (req.method === "GET" && url.startsWith("/v1/pairings/")) {
    const wait = Math.min(30, Number(/[?&]wait=(\d+)/.exec(url)?.[1] ?? 0));
    const timer = setTimeout(() => {
      res.statusCode = 204;
      res.end();
    }, wait * 1000);
    res.on("close", () => clearTimeout(timer));
    return;
  }
  if (req.method === "GET" && url === "/healthz") return json(res, 200, HEALTH);
  json(res, 404, JSON.stringify({ error: { code: "route_not_found", message: "no such route" } }));
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.listen({ port: 0, host: "127.0.0.1" }, () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid })}\n`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}
