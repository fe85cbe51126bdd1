/**
 * A timing proxy in front of the chain's JSON-RPC node: the wallet talks to it instead of Hardhat, and
 * it records how long the node took for each call (from forwarding the request to the end of the
 * node's answer). The end-to-end benchmark subtracts that time to report the path "excluding the
 * chain's own time". Loopback only; one keep-alive upstream agent.
 */
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

export type RpcCall = { method: string; start: number; end: number };

export type RpcProxy = {
  url: string;
  calls: RpcCall[];
  /** Sum of the node's time for calls that started within [from, to] (epoch ms). */
  chainMs(from: number, to: number): number;
  close(): Promise<void>;
};

/** Wall-clock milliseconds with sub-millisecond resolution (comparable with the browser's). */
export const wallNow = (): number => performance.timeOrigin + performance.now();

export async function startRpcProxy(upstreamUrl: string): Promise<RpcProxy> {
  const upstream = new URL(upstreamUrl);
  const agent = new Agent({ keepAlive: true });
  const calls: RpcCall[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      let method = "?";
      try {
        const parsed = JSON.parse(body.toString("utf8")) as { method?: string } | { method?: string }[];
        method = Array.isArray(parsed) ? parsed.map((p) => p.method).join(",") : (parsed.method ?? "?");
      } catch {
        // not JSON: forward as is
      }
      const start = wallNow();
      const up = request(
        {
          agent,
          hostname: upstream.hostname,
          port: Number(upstream.port),
          path: upstream.pathname,
          method: req.method,
          headers: { "content-type": "application/json", "content-length": body.length },
        },
        (upRes) => {
          const out: Buffer[] = [];
          upRes.on("data", (c: Buffer) => out.push(c));
          upRes.on("end", () => {
            calls.push({ method, start, end: wallNow() });
            if (calls.length > 10_000) calls.splice(0, 5_000); // bounded
            const answer = Buffer.concat(out);
            res.writeHead(upRes.statusCode ?? 502, {
              "content-type": upRes.headers["content-type"] ?? "application/json",
              "content-length": answer.length,
            });
            res.end(answer);
          });
        },
      );
      up.on("error", (error) => {
        res.writeHead(502, { "content-type": "text/plain" });
        res.end(error.message);
      });
      up.end(body);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    chainMs: (from, to) =>
      calls.filter((c) => c.start >= from && c.start <= to).reduce((ms, c) => ms + (c.end - c.start), 0),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      agent.destroy();
    },
  };
}
