/**
 * Operator endpoints (docs/OPERATING.md "Lockdown", "Metrics", "Report"):
 *
 *   GET    /metrics                       Prometheus text format (open, operator token, or off)
 *   GET    /admin/lockdown                {pairingsLocked, blockedDevices}
 *   PUT    /admin/lockdown                {pairingsLocked: boolean} → the new state
 *   PUT    /admin/blocked-devices/:id     block a device id → the new state
 *   DELETE /admin/blocked-devices/:id     unblock it → the new state
 *   GET    /admin/report?day=YYYY-MM-DD   the day's report (default: today, UTC)
 *
 * /admin/… needs `Authorization: Bearer <--admin-token>`; without a configured token they do not exist
 * (404 route_not_found), so a relay never runs them unprotected.
 */
import type { RequestHandler } from "express";
import { z } from "zod";
import { UuidV4 } from "../../protocol/schemas.ts";
import { httpError } from "../http/errors.ts";
import { createOperatorAuth } from "../http/operatorAuth.ts";
import { sendJson } from "../http/respond.ts";
import { parseBody, parseParam } from "../http/validate.ts";
import type { LockdownGuard } from "../lockdown.ts";
import { buildReport, isDay } from "../report.ts";
import { dayOf, type Telemetry } from "../telemetry.ts";
import { defineRoute, type RouteContext, type Routes } from "./context.ts";

const LockdownBody = z.object({ pairingsLocked: z.boolean() }).strict();

export type OperatorDeps = { telemetry: Telemetry; lockdown: LockdownGuard };

export function metricsRoutes(router: Routes, { config }: RouteContext, { telemetry }: OperatorDeps): void {
  if (config.metrics === "off") return;
  const auth = config.metrics === "token" ? createOperatorAuth(config.adminToken) : undefined;
  defineRoute(router, "/metrics", {
    get: async (req, res) => {
      const refused = auth?.check(req, res);
      if (refused) throw refused;
      const { contentType, body } = await telemetry.exposition();
      res.setHeader("Cache-Control", "no-store");
      res.status(200).type(contentType).send(body);
    },
  });
}

export function adminRoutes(
  router: Routes,
  { store, config, json, logger }: RouteContext,
  { lockdown }: OperatorDeps,
): void {
  if (!config.adminToken) return;
  const auth = createOperatorAuth(config.adminToken);
  const authorize: RequestHandler = (req, res, next) => next(auth.check(req, res));
  const answerState = async (res: Parameters<RequestHandler>[1]) => {
    lockdown.invalidate();
    sendJson(res, 200, await store.readLockdown());
  };

  defineRoute(router, "/admin/lockdown", {
    get: [authorize, async (_req, res) => answerState(res)],
    put: [
      authorize,
      json,
      async (req, res) => {
        const { pairingsLocked } = parseBody(LockdownBody, req.body);
        await store.lockPairings(pairingsLocked);
        logger.warn({ pairingsLocked, via: "admin api" }, "pairing lockdown changed");
        await answerState(res);
      },
    ],
  });

  defineRoute(router, "/admin/blocked-devices/:deviceId", {
    put: [
      authorize,
      async (req, res) => {
        const deviceId = parseParam(UuidV4, req.params.deviceId, "deviceId");
        await store.blockDevice(deviceId, true);
        logger.warn({ deviceId, via: "admin api" }, "device blocked");
        await answerState(res);
      },
    ],
    delete: [
      authorize,
      async (req, res) => {
        const deviceId = parseParam(UuidV4, req.params.deviceId, "deviceId");
        await store.blockDevice(deviceId, false);
        logger.warn({ deviceId, via: "admin api" }, "device unblocked");
        await answerState(res);
      },
    ],
  });

  defineRoute(router, "/admin/report", {
    get: [
      authorize,
      async (req, res) => {
        const raw = req.query.day;
        const day = raw === undefined ? dayOf(Date.now()) : raw;
        if (typeof day !== "string" || !isDay(day)) {
          throw httpError("invalid_field", "day: must be a date YYYY-MM-DD");
        }
        sendJson(res, 200, buildReport(day, await store.readStats(day)));
      },
    ],
  });
}
