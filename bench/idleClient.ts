/**
 * Child process of the idle long-poll benchmark (bench/idle.ts): holds one long-poll per token, each on
 * its own connection, and polls again whenever one answers 204 (so they stay held). The benchmark reads
 * the server's settled RSS before the first wait runs out, so `answered` stays 0 until then: a poll
 * answered earlier would be churn, and the benchmark refuses its reading. Connections come
 * from many loopback source addresses (127.0.0.2 …) so that repeated runs never run out of ephemeral
 * ports. Talks to its parent over IPC:
 *
 *   parent → {type: "open", url, path: "/v1/pairings/", tokens, wait}
 *   child  → {type: "opened", sent, ms}          every request written to its socket
 *   parent → {type: "status"}  child → {type: "status", held, answered, errors, lastError?}
 *
 * It stops (closing every socket) on {type: "stop"} or when its parent goes away.
 */
import { Agent, request } from "node:http";

type OpenMessage = { type: "open"; url: string; path: string; tokens: string[]; wait: number; batch: number };
type Message = OpenMessage | { type: "status" } | { type: "stop" };

const send = (m: unknown) => process.send?.(m);
const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY, maxFreeSockets: 100_000 });
let held = 0;
let answered = 0;
let errors = 0;
let lastError: string | undefined;
let stopping = false;
const SOURCES = 200;

function poll(base: URL, path: string, wait: number, i: number): Promise<void> {
  return new Promise((written) => {
    const req = request(
      {
        agent,
        hostname: base.hostname,
        port: Number(base.port),
        path: `${path}?wait=${wait}`,
        method: "GET",
        localAddress: `127.0.0.${2 + (i % SOURCES)}`,
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          held--;
          answered++;
          if (res.statusCode !== 204 && res.statusCode !== 200) {
            errors++;
            lastError = `HTTP ${res.statusCode}`;
            return;
          }
          if (!stopping) void poll(base, path, wait, i);
        });
      },
    );
    req.on("error", (error) => {
      if (stopping) return;
      errors++;
      lastError = error.message;
      written();
    });
    req.on("finish", () => {
      held++;
      written();
    });
    req.end();
  });
}

async function open(m: OpenMessage) {
  const started = performance.now();
  const base = new URL(m.url);
  // In batches: an accept backlog overflow would cost a 1 s SYN retransmit, not measure the relay.
  for (let at = 0; at < m.tokens.length; at += m.batch) {
    const slice = m.tokens.slice(at, at + m.batch);
    await Promise.all(slice.map((t, k) => poll(base, `${m.path}${t}`, m.wait, at + k)));
  }
  send({ type: "opened", sent: m.tokens.length, ms: performance.now() - started });
}

process.on("message", (m: Message) => {
  if (m.type === "open") void open(m);
  else if (m.type === "status")
    send({ type: "status", held, answered, errors, ...(lastError ? { lastError } : {}) });
  else if (m.type === "stop") {
    stopping = true;
    agent.destroy();
    process.exit(0);
  }
});
process.on("disconnect", () => process.exit(0));
send({ type: "ready" });
