/**
 * The push receiver: a small node:http server for the relay's webhook, `POST <url>` with JSON
 * `{sessionId, requestId}` (any path). It only validates the shape and hands the pair on; it answers
 * 202 at once so the relay never waits for the user. Nothing it receives is trusted: the wallet then
 * fetches the request from the relay, and it must open under the session key.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const MAX_WEBHOOK_BODY = 4_096;

export type PushNotice = { sessionId: string; requestId: string };

export type WebhookReceiver = {
  /** e.g. "http://127.0.0.1:41234/" */
  url: string;
  close(): Promise<void>;
};

export async function startWebhookReceiver(options: {
  port: number;
  host?: string | undefined;
  onPush: (notice: PushNotice) => void;
}): Promise<WebhookReceiver> {
  const server = createServer((req, res) => receive(req, res, options.onPush));
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once("error", rejectListen);
    server.listen(options.port, options.host ?? "127.0.0.1", () => {
      server.off("error", rejectListen);
      resolveListen();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}/`,
    close: () =>
      new Promise<void>((resolveClose) => {
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}

function receive(req: IncomingMessage, res: ServerResponse, onPush: (notice: PushNotice) => void) {
  const reply = (status: number, body?: unknown) => {
    res.writeHead(status, body === undefined ? {} : { "content-type": "application/json" });
    res.end(body === undefined ? undefined : JSON.stringify(body));
  };
  if (req.method !== "POST") return reply(405, { error: "POST only" });
  let size = 0;
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_WEBHOOK_BODY) chunks.push(chunk);
    else if (size > 16 * MAX_WEBHOOK_BODY) req.destroy(); // not worth reading further
  });
  req.on("end", () => {
    if (size > MAX_WEBHOOK_BODY) return reply(413, { error: "too large" });
    let body: { sessionId?: unknown; requestId?: unknown } | null;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      return reply(400, { error: "not JSON" });
    }
    const { sessionId, requestId } = body ?? {};
    if (
      typeof sessionId !== "string" ||
      typeof requestId !== "string" ||
      sessionId.length > 100 ||
      requestId.length > 100
    ) {
      return reply(400, { error: "expected {sessionId, requestId}" });
    }
    reply(202);
    onPush({ sessionId, requestId });
  });
}
