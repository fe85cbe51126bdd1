/**
 * Pairing (docs/PROTOCOL.md §2): the extension registers a token, the wallet answers it (which creates
 * the session), the extension long-polls for the answer and acknowledges it.
 */
import { PAIRING_TTL } from "../../protocol/constants.ts";
import { AnswerPairingBody, CreatePairingBody, Token } from "../../protocol/schemas.ts";
import type { ApiRoute } from "../http/apiRouter.ts";
import { failure, httpError } from "../http/errors.ts";
import { sendEmpty, sendJson } from "../http/respond.ts";
import { checkTtl, parseBody, parseParam } from "../http/validate.ts";
import { shortHash } from "../log.ts";
import { pollRoute, type RouteContext } from "./context.ts";

export function pairingRoutes({
  store,
  push,
  config,
  logger,
  polls,
  telemetry,
  lockdown,
  expiries,
}: RouteContext): ApiRoute[] {
  return [
    {
      path: "/v1/pairings",
      methods: {
        POST: {
          body: true,
          async run({ res, body: raw }) {
            const body = parseBody(CreatePairingBody, raw);
            const ttl = checkTtl(body.ttl, PAIRING_TTL.default, config.maxPairingTtl);
            await lockdown.checkCreate();
            const out = await store.createPairing(body.token, ttl);
            if (!out.ok) throw failure(out);
            sendJson(res, 201, { expiresAt: out.expiresAt });
            telemetry.pairing("created");
            expiries.pairing(body.token, out.expiresAt);
          },
        },
      },
    },
    {
      path: "/v1/pairings/:token",
      methods: {
        PUT: {
          body: true,
          async run({ res, params, body: raw }) {
            const token = parseParam(Token, params.token, "token");
            const body = parseBody(AnswerPairingBody, raw);
            await lockdown.checkAnswer(body.deviceId);
            if (body.push) {
              // Checked before anything is stored: a refused target must not leave a half-made session.
              const verdict = await push.validate(body.push);
              if (!verdict.ok) {
                telemetry.push(body.push.type, "refused");
                throw httpError("push_target_refused", `push: ${verdict.reason}`);
              }
            }
            const answer = { deviceId: body.deviceId, sessionId: body.sessionId, sealed: body.sealed };
            const out = await store.answerPairing(token, answer, body.push);
            if (!out.ok) throw failure(out);
            sendJson(res, out.repeated ? 200 : 201, {});
            if (out.repeated) return;
            telemetry.pairing("answered");
            expiries.settlePairing(token);
            if (out.createdAt !== undefined) {
              telemetry.answered("pairing_answer_seconds", Date.now() / 1000 - out.createdAt);
            }
            logger.info(
              {
                pairing: shortHash(token),
                session: shortHash(body.sessionId),
                push: body.push?.type ?? "none",
              },
              "pairing answered",
            );
          },
        },
        GET: pollRoute(polls.pairing),
        DELETE: {
          async run({ res, params }) {
            const token = parseParam(Token, params.token, "token");
            const out = await store.ackPairing(token);
            if (!out.ok) throw failure(out);
            sendEmpty(res, 204);
            expiries.settlePairing(token);
            // The same DELETE acknowledges an answer or cancels an unanswered pairing: the store says which.
            telemetry.pairing(out.answered ? "acknowledged" : "cancelled");
          },
        },
      },
    },
  ];
}
