/** Liveness and readiness. /health answers while the process runs; /ready once the first backfill is done. */
import { Router } from "express";
import type { Kysely } from "kysely";
import type { Database } from "../../src/db/schema.ts";
import type { Logger } from "../../src/log.ts";
import { describeError } from "../../src/errors.ts";
import { HTTP_STATUS } from "../http-status.ts";
import { readIndexerStatus } from "../indexer-status.ts";

export function healthRoutes(deps: { db: Kysely<Database>; logger: Logger }): Router {
  const router = Router();
  const startedAt = Date.now();

  router.get("/health", (_req, res) => {
    res.set("Cache-Control", "no-store").json({ status: "ok", uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000) });
  });

  // Until the indexer has applied a full backfill, the stakes table may miss wallets: do not take traffic.
  router.get("/ready", async (_req, res) => {
    res.set("Cache-Control", "no-store");
    let status: Awaited<ReturnType<typeof readIndexerStatus>>;
    try {
      status = await readIndexerStatus(deps.db);
    } catch (err) {
      deps.logger.warn({ reason: describeError(err) }, "readiness: cannot read the indexer status");
      res.status(HTTP_STATUS.unavailable).json({ ready: false, reason: "the database is unavailable" });
      return;
    }
    if (status === null) {
      res.status(HTTP_STATUS.unavailable).json({ ready: false, reason: "the indexer has not reported a status yet" });
      return;
    }
    const s = status.snapshot;
    if (s.backfillCompletedAt === null) {
      res.status(HTTP_STATUS.unavailable).json({ ready: false, reason: "the first backfill has not completed", statusUpdatedAt: s.updatedAt });
      return;
    }
    res.json({ ready: true, backfillCompletedAt: s.backfillCompletedAt, backfillSlot: s.backfillSlot, statusUpdatedAt: s.updatedAt });
  });
  return router;
}
