/**
 * The protocol's routes (docs/PROTOCOL.md §2–§4), served before Express on the raw `node:http`
 * request. Express stays for the operator surface (/healthz, /metrics, /admin, 404s, preflights).
 *
 * Why: these routes are the relay's whole load. Under 50 parallel clients Express's router, its
 * request/response decoration and body-parser cost about five times Node's own HTTP work per request
 * (docs/BENCHMARKS.md, "Create pairing"), and an idle long-poll held ≈ 4 KB of Express state for up
 * to 30 s. This router does only what the protocol needs, with the same front as every other route:
 * shutdown gate and rate limit (`admit`), the operator's device lockdown on session routes (`guard`),
 * the common headers, the same JSON body rules (`body.ts`) and the same error answers.
 *
 * Matching follows Express: case-insensitive, an optional trailing slash, percent-decoded parameters
 * (undecodable → 400), HEAD served by the GET handler, another method → 405 with `Allow` (RFC 9110
 * §15.5.6). OPTIONS and any path not in the table go to Express unchanged.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse } from "node:querystring";
import type { RelayError } from "../../protocol/errors.ts";
import type { PollQuery } from "../routes/polls.ts";
import { readJsonBody } from "./body.ts";
import { allowHeader, httpError, methodNotAllowedError } from "./errors.ts";

export type ApiParams = Readonly<Record<string, string>>;
export type ApiCall = {
  req: IncomingMessage;
  res: ServerResponse;
  params: ApiParams;
  query: PollQuery;
  /** The parsed JSON body (methods with `body: true`), else undefined. */
  body: unknown;
};
/** When a method that holds the call (`hold`) is over: one per route, shared by all its calls. */
export type ApiDone = {
  /** Answered (or the client went away). */
  end(): void;
  /** Failed: answer with the error. */
  fail(error: unknown, res: ServerResponse): void;
};
type ApiMethodOptions = {
  /** Read a JSON body first (body.ts rules). */
  body?: true;
};
export type ApiMethod = ApiMethodOptions &
  (
    | {
        /** Answers the call; the router sets the common headers first and follows the promise. */
        run(call: ApiCall): Promise<void>;
      }
    | {
        /**
         * Takes the call in charge and reports to `done` when it is over (long-polls: an idle poll
         * then holds no promise chain). It sets the common headers itself when it answers, so an idle
         * poll holds no header state while it waits. Throwing instead is a failure answered at once.
         */
        hold(call: ApiCall, done: ApiDone): void;
      }
  );
export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";
export type ApiRoute = {
  /** Express-style pattern, e.g. `/v1/pairings/:token` (also the route name in logs and metrics). */
  path: string;
  methods: Partial<Record<HttpMethod, ApiMethod>>;
  /** Runs `guard` first (the operator's lockdown of blocked devices' sessions). */
  guarded?: true;
};

export type ApiRouterDeps = {
  routes: readonly ApiRoute[];
  maxBodyBytes: number;
  /** Per-request bookkeeping shared with the Express path (no per-request listeners: `end` closes it). */
  begin(req: IncomingMessage, res: ServerResponse, route: string): void;
  end(): void;
  /** Shutdown gate and rate limit: an error to answer, or undefined to go on. */
  admit(req: IncomingMessage, res: ServerResponse): RelayError | undefined;
  guard(params: ApiParams): Promise<void>;
  /** The common answer headers (cache, CORS). */
  decorate(res: ServerResponse): void;
  fail(error: unknown, req: IncomingMessage, res: ServerResponse, route: string): void;
};

type Compiled = ApiRoute & { pattern: RegExp; names: readonly string[]; allow: string; done: ApiDone };

/** Returns a handler that answers the request and returns true, or returns false (not a protocol route). */
export function createApiRouter(deps: ApiRouterDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const routes = deps.routes.map((route) => compile(route, deps));
  const { maxBodyBytes } = deps;

  /**
   * Not an async function: its frame would stay suspended (≈ 0.5 KB) for the whole wait of an idle
   * poll. The steps are chained instead, a step that is not needed adds no promise, and a method that
   * holds the call (`hold`) reports to the route's shared `done`: nothing here outlives the request's
   * first tick but what the method keeps.
   */
  function serve(
    r: Compiled,
    match: RegExpExecArray,
    req: IncomingMessage,
    res: ServerResponse,
    search: string,
  ) {
    try {
      const refused = deps.admit(req, res);
      if (refused) throw refused;
      const method = r.methods[(req.method === "HEAD" ? "GET" : req.method) as HttpMethod];
      if (!method) {
        res.setHeader("Allow", r.allow);
        throw methodNotAllowedError(req.method, Object.keys(r.methods));
      }
      const call: ApiCall = {
        req,
        res,
        params: decodeParams(r, match),
        query: parseQuery(search),
        body: undefined,
      };
      if (!("hold" in method)) deps.decorate(res);
      let before = r.guarded ? deps.guard(call.params) : undefined;
      if (method.body) {
        const read = () =>
          readJsonBody(req, maxBodyBytes).then((body) => {
            call.body = body;
          });
        before = before ? before.then(read) : read();
      }
      if (!before) return start(r.done, method, call);
      before.then(() => start(r.done, method, call)).catch((error: unknown) => r.done.fail(error, res));
    } catch (error) {
      r.done.fail(error, res);
    }
  }

  /** Runs the method; a synchronous throw is the caller's to answer. */
  function start(done: ApiDone, method: ApiMethod, call: ApiCall): void {
    if ("hold" in method) method.hold(call, done);
    else method.run(call).then(done.end, (error: unknown) => done.fail(error, call.res));
  }

  return (req, res) => {
    if (req.method === "OPTIONS") return false; // CORS preflight: Express's front answers it
    const url = req.url ?? "";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    for (const r of routes) {
      const match = r.pattern.exec(path);
      if (!match) continue;
      deps.begin(req, res, r.path);
      serve(r, match, req, res, q === -1 ? "" : url.slice(q + 1));
      return true;
    }
    return false;
  };
}

function compile(route: ApiRoute, deps: Pick<ApiRouterDeps, "end" | "fail">): Compiled {
  const names: string[] = [];
  const source = route.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:(\w+)/g, (_, name: string) => {
    names.push(name);
    return "([^/]+)";
  });
  const allow = allowHeader(Object.keys(route.methods));
  const done: ApiDone = {
    end: deps.end,
    fail(error, res) {
      deps.fail(error, res.req, res, route.path);
      deps.end();
    },
  };
  return { ...route, pattern: new RegExp(`^${source}\\/?$`, "i"), names, allow, done };
}

function decodeParams(r: Compiled, match: RegExpExecArray): ApiParams {
  const params: Record<string, string> = {};
  try {
    for (let i = 0; i < r.names.length; i++) {
      params[r.names[i] as string] = decodeURIComponent(match[i + 1] as string);
    }
  } catch {
    throw httpError("invalid_field", "path: a parameter is not valid percent-encoding");
  }
  return params;
}

/**
 * Express's default ("simple") query parser is node:querystring: repeated keys become arrays. (It
 * also allocates less than URLSearchParams, which matters at 10,000 polls opened in a burst.)
 */
function parseQuery(search: string): PollQuery {
  return search === "" ? {} : parse(search);
}
