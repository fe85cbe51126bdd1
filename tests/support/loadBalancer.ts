/**
 * A tiny round-robin HTTP load balancer on loopback, in front of several relay instances, behaving
 * like a real one where it matters for fail-over tests: each request goes to the next backend; a
 * backend that refuses the connection is skipped (the request was never sent, so passing it on is
 * safe); a backend that dies after taking the request gets the client a 502 (it may have been
 * processed, so it is not replayed: the client retries, idempotently). It records which backend holds
 * each request in flight, so a test can kill the instance a long-poll is waiting on.
 */
import { createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type InFlight = { backend: string; method: string; path: string };

export type LoadBalancer = {
  url: string;
  /** Requests forwarded and not answered yet. */
  inFlight(): InFlight[];
  /** Backend per forwarded request, in order (for asserting that both instances served). */
  served(): InFlight[];
  close(): Promise<void>;
};

export async function startLoadBalancer(backends: string[]): Promise<LoadBalancer> {
  let next = 0;
  const open = new Set<InFlight>();
  const log: InFlight[] = [];

  function forward(req: IncomingMessage, res: ServerResponse, body: Buffer, order: string[]): void {
    const [backend, ...rest] = order;
    if (!backend) {
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "bad_gateway", message: "no backend reachable" } }));
      return;
    }
    const target = new URL(req.url ?? "/", backend);
    const entry: InFlight = { backend, method: req.method ?? "GET", path: target.pathname };
    const upstream = request(target, {
      method: req.method,
      headers: { ...req.headers, host: target.host, connection: "close" },
      agent: false,
    });
    let started = false;
    upstream.on("response", (up) => {
      started = true;
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
      up.on("end", () => open.delete(entry));
      up.on("error", () => {
        open.delete(entry);
        res.destroy();
      });
    });
    upstream.on("error", (error: NodeJS.ErrnoException) => {
      open.delete(entry);
      if (started) return res.destroy();
      // Refused: nothing was sent, so the next backend may have it.
      if (error.code === "ECONNREFUSED") return forward(req, res, body, rest);
      res.writeHead(502, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "bad_gateway", message: `backend failed: ${error.code}` } }));
    });
    open.add(entry);
    log.push(entry);
    // The client went away: stop the upstream request too (as proxies do).
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    upstream.end(body);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const start = next++ % backends.length;
      const order = [...backends.slice(start), ...backends.slice(0, start)];
      forward(req, res, Buffer.concat(chunks), order);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    inFlight: () => [...open],
    served: () => [...log],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
