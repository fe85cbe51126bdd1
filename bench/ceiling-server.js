// The ceiling for the relay's figures: a bare `node:http` server (no framework, no store, no
// validation) answering the same route shapes with fixed bodies. Plain JavaScript run by plain node, so
// it carries nothing the relay does not also need. Prints one JSON line {"url": …} once listening.
//
//   POST   /v1/pairings           → reads the body, 201 {"expiresAt":…}
//   GET    /v1/pairings/:t?wait=s → holds the request s seconds (a bare idle long-poll), then 204;
//                                   200 with the answer at once when a PUT has answered :t
//   PUT    /v1/pairings/:t        → reads the body (the answer), answers the GET held on :t with it
//                                   (or keeps it for the next GET), then 201 {}: the wake-up's floor
//   DELETE /v1/pairings/:t        → forgets :t, 204
//   GET    /healthz               → 200 {"ok":true}
// Answers are kept in memory until their DELETE: the wake-up benchmark acknowledges every pairing.
import { createServer } from "node:http";

const CREATED = JSON.stringify({ expiresAt: 1_900_000_000 });
const HEALTH = JSON.stringify({ ok: true });
const PAIRINGS = "/v1/pairings/";
/** Held GETs by token, and answers PUT by token until their DELETE. */
const held = new Map();
const answers = new Map();

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
  if (url.startsWith("/v1/pairings/")) {
    const q = url.indexOf("?");
    const token = url.slice(PAIRINGS.length, q === -1 ? undefined : q);
    if (req.method === "GET") {
      const answer = answers.get(token);
      if (answer !== undefined) return json(res, 200, answer);
      const wait = Math.min(30, Number(/[?&]wait=(\d+)/.exec(url)?.[1] ?? 0));
      const timer = setTimeout(() => {
        held.delete(token);
        res.statusCode = 204;
        res.end();
      }, wait * 1000);
      held.set(token, { res, timer });
      res.on("close", () => {
        clearTimeout(timer);
        if (held.get(token)?.res === res) held.delete(token);
      });
      return;
    }
    if (req.method === "PUT") {
      const chunks = [];
      req.on("data", (chunk) => chunks.push(chunk));
      req.on("end", () => {
        const answer = Buffer.concat(chunks).toString("utf8");
        answers.set(token, answer);
        const waiting = held.get(token);
        if (waiting) {
          held.delete(token);
          clearTimeout(waiting.timer);
          json(waiting.res, 200, answer);
        }
        json(res, 201, "{}");
      });
      return;
    }
    if (req.method === "DELETE") {
      answers.delete(token);
      res.statusCode = 204;
      return res.end();
    }
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
