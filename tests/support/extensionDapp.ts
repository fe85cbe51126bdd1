/**
 * Serves the test dapp (tests/e2e/dapp/) on two loopback ports, i.e. two origins, so tests can check
 * that permissions are per origin. Static files only; the page finds the extension by EIP-6963.
 */
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const DAPP_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../e2e/dapp");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

function serve(port: number): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(new URL(req.url ?? "/", "http://x").pathname).replace(/^(\.\.[/\\])+/, "");
    const file = join(DAPP_DIR, path.endsWith("/") ? `${path}index.html` : path);
    if (!file.startsWith(DAPP_DIR)) {
      res.writeHead(403).end();
      return;
    }
    readFile(file).then(
      (body) => {
        res.writeHead(200, {
          "content-type": TYPES[extname(file)] ?? "application/octet-stream",
          "cache-control": "no-store",
        });
        res.end(body);
      },
      () => res.writeHead(404, { "content-type": "text/plain" }).end("not found"),
    );
  });
  return new Promise((done, fail) => {
    server.once("error", fail);
    server.listen(port, "127.0.0.1", () => done(server));
  });
}

export type DappServers = { originA: string; originB: string; close(): Promise<void> };

/** Two servers of the same page: http://127.0.0.1:<a> and http://127.0.0.1:<b> are two origins. */
export async function startDappServers(ports: { a?: number; b?: number } = {}): Promise<DappServers> {
  const servers = await Promise.all([serve(ports.a ?? 0), serve(ports.b ?? 0)]);
  const origin = (s: Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  const [a, b] = servers as [Server, Server];
  return {
    originA: origin(a),
    originB: origin(b),
    close: async () => {
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };
}
