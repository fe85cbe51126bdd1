/**
 * The lean path for idle long-polls. Express gives every request its own prototype switch, router
 * closures and state, about 4 KB of heap that an idle poll holds for up to 30 s; with 10,000 polls
 * open that is most of the relay's memory. The four long-poll GETs are therefore matched here first,
 * on the raw `node:http` request, and run the same handlers (`routes/polls.ts`) with the same front
 * checks (headers, CORS, shutdown gate, rate limit) as every other route. Anything else, including
 * any request this matcher does not recognise exactly, goes to Express unchanged.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { RelayError } from "../../protocol/errors.ts";
import type { PollHandler, PollHandlers, PollQuery } from "../routes/polls.ts";
import { httpError } from "./errors.ts";

export type FastPathDeps = {
  polls: PollHandlers;
  /** Per-request bookkeeping shared with the Express path (no per-request listeners: `end` closes it). */
  begin(req: IncomingMessage, res: ServerResponse, route: string): void;
  end(): void;
  /** Shutdown gate and rate limit: an error to answer, or undefined to go on. */
  admit(req: IncomingMessage, res: ServerResponse): RelayError | undefined;
  fail(error: unknown, req: IncomingMessage, res: ServerResponse, route: string): void;
};

type Route = { pattern: RegExp; names: readonly string[]; route: string; handler: PollHandler };

/** Returns true when it took the request. Matching follows Express: case-insensitive, optional trailing slash. */
export function createFastPath(deps: FastPathDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const routes: Route[] = [
    {
      pattern: /^\/v1\/pairings\/([^/]+)\/?$/i,
      names: ["token"],
      route: "/v1/pairings/:token",
      handler: deps.polls.pairing,
    },
    {
      pattern: /^\/v1\/sessions\/([^/]+)\/requests\/?$/i,
      names: ["sessionId"],
      route: "/v1/sessions/:sessionId/requests",
      handler: deps.polls.pending,
    },
    {
      pattern: /^\/v1\/sessions\/([^/]+)\/requests\/([^/]+)\/response\/?$/i,
      names: ["sessionId", "id"],
      route: "/v1/sessions/:sessionId/requests/:id/response",
      handler: deps.polls.response,
    },
    {
      pattern: /^\/v1\/sessions\/([^/]+)\/events\/?$/i,
      names: ["sessionId"],
      route: "/v1/sessions/:sessionId/events",
      handler: deps.polls.events,
    },
  ];

  /** Not an async function: its frame would stay suspended (≈ 0.5 KB) for the whole wait of an idle poll. */
  function serve(
    r: Route,
    match: RegExpExecArray,
    req: IncomingMessage,
    res: ServerResponse,
    search: string,
  ) {
    const failed = (error: unknown) => {
      deps.fail(error, req, res, r.route);
      deps.end();
    };
    let running: Promise<void>;
    try {
      const refused = deps.admit(req, res);
      if (refused) throw refused;
      const params: Record<string, string> = {};
      let query: PollQuery;
      try {
        r.names.forEach((name, i) => {
          params[name] = decodeURIComponent(match[i + 1] as string);
        });
        query = parseQuery(search);
      } catch {
        throw httpError("invalid_field", "path: a parameter is not valid percent-encoding");
      }
      running = r.handler(res, params, query);
    } catch (error) {
      failed(error);
      return;
    }
    running.then(() => deps.end(), failed);
  }

  return (req, res) => {
    if (req.method !== "GET") return false;
    const url = req.url ?? "";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    for (const r of routes) {
      const match = r.pattern.exec(path);
      if (!match) continue;
      deps.begin(req, res, r.route);
      serve(r, match, req, res, q === -1 ? "" : url.slice(q + 1));
      return true;
    }
    return false;
  };
}

/** Like Express's default ("simple", node:querystring) parser: repeated keys become arrays. */
function parseQuery(search: string): PollQuery {
  if (search === "") return {};
  const out: Record<string, string | string[]> = Object.create(null);
  for (const [key, value] of new URLSearchParams(search)) {
    const seen = out[key];
    out[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  return out;
}
