/**
 * CORS (Fetch Standard §3.2, "CORS protocol"). The extension's service worker (origin
 * chrome-extension://<id>) and web wallets call the relay cross-origin. There are no cookies or other
 * credentials, so `*` is safe as a default; operators can pin exact origins instead. The delivery
 * receipt (`Request-Status`) and `Retry-After` must be exposed or a browser hides them from scripts.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { REQUEST_STATUS_HEADER } from "../../protocol/constants.ts";

export type Cors = {
  /** Headers every answer carries (errors included, so a browser can read them). */
  apply(req: IncomingMessage, res: ServerResponse): void;
  /** Answers a preflight (OPTIONS) for any path. */
  preflight(req: IncomingMessage, res: ServerResponse): void;
};

export function createCors(origins: "*" | readonly string[]): Cors {
  const allowed = origins === "*" ? undefined : new Set(origins);
  const expose = `${REQUEST_STATUS_HEADER}, Retry-After`;
  return {
    apply(req, res) {
      if (!allowed) {
        res.setHeader("Access-Control-Allow-Origin", "*");
      } else {
        res.setHeader("Vary", "Origin");
        const origin = req.headers.origin;
        if (origin && allowed.has(origin)) res.setHeader("Access-Control-Allow-Origin", origin);
      }
      res.setHeader("Access-Control-Expose-Headers", expose);
    },
    preflight(req, res) {
      res.setHeader("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE");
      res.setHeader("Access-Control-Allow-Headers", "Content-Type");
      res.setHeader("Access-Control-Max-Age", "600");
      // Private Network Access (WICG draft): lets a public page reach a relay on a private address.
      if (req.headers["access-control-request-private-network"] === "true") {
        res.setHeader("Access-Control-Allow-Private-Network", "true");
      }
      res.setHeader("Allow", "GET, HEAD, POST, PUT, DELETE, OPTIONS");
      res.statusCode = 204;
      res.end();
    },
  };
}
