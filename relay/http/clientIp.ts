/**
 * The client address the rate limit keys on. Behind a reverse proxy every request comes from the
 * proxy, so the operator's "trust proxy" setting (compiled by Express) decides how many
 * X-Forwarded-For hops (RFC 7239 §5.2 semantics, de-facto header) to believe, exactly like Express's
 * `req.ip`: walk from the socket address outwards while the current hop is trusted.
 */
import type { IncomingMessage } from "node:http";

export type TrustFn = (address: string, hop: number) => boolean;

export function clientIp(req: IncomingMessage, trust: TrustFn): string {
  const socketAddress = req.socket.remoteAddress ?? "unknown";
  const header = req.headers["x-forwarded-for"];
  if (!header || !trust(socketAddress, 0)) return socketAddress;
  const forwarded = (Array.isArray(header) ? header.join(",") : header)
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean)
    .reverse();
  let address = socketAddress;
  for (let hop = 0; hop < forwarded.length; hop++) {
    address = forwarded[hop] as string;
    if (!trust(address, hop + 1)) break;
  }
  return address;
}
