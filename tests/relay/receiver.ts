/** A loopback webhook receiver for push tests: records every POST and answers as the test says. */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export type Hit = { at: number; body: unknown; headers: IncomingHttpHeaders; path: string };
export type Answer = { status: number; headers?: Record<string, string>; delayMs?: number };

export async function startReceiver(answer: (n: number) => Answer = () => ({ status: 200 })) {
  const hits: Hit[] = [];
  const waiters: Array<() => void> = [];
  const server = createServer((req, res) => {
    let raw = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      raw += chunk;
    });
    req.on("end", () => {
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
      hits.push({ at: performance.now(), body, headers: req.headers, path: req.url ?? "" });
      const a = answer(hits.length);
      setTimeout(() => {
        res.writeHead(a.status, a.headers ?? {});
        res.end();
        for (const w of waiters.splice(0)) w();
      }, a.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}/hook`,
    hits,
    /** Resolves once at least `n` hits have been answered. */
    async answered(n: number, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (hits.length < n || waiters.length > 0) {
        if (Date.now() > deadline) throw new Error(`receiver: ${hits.length} of ${n} hits`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
