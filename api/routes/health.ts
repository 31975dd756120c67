/**
 * Liveness and readiness. /health answers while the process runs, whatever its dependencies do. /ready
 * answers 200 once the indexer's first backfill is done and while every dependency answers; otherwise 503
 * naming the dependency that is down (`dependency`: database, indexer, or a plugin's probe such as
 * "stake data") and why. It never waits on a dependency for more than READY_DEADLINE_MS.
 */
import { Router, type Express } from "express";
import type { Kysely } from "kysely";
import type { Database } from "../../src/db/schema.ts";
import type { Logger } from "../../src/log.ts";
import { describeError } from "../../src/errors.ts";
import { HTTP_STATUS } from "../http-status.ts";
import { readIndexerStatus } from "../indexer-status.ts";

/** The longest /ready waits for the database. */
export const READY_DEADLINE_MS = 2_000;

/** A plugin's view of one dependency, asked at each /ready. */
export interface ReadinessProbe {
  name: string;
  check(): { ok: boolean; reason?: string; details?: Record<string, unknown> };
}

const PROBES = "kamiyoReadinessProbes";

/** Adds `probe` to the app's /ready (plugins call it when mounted). */
export function addReadinessProbe(app: Express, probe: ReadinessProbe): void {
  const probes = (app.locals[PROBES] ??= []) as ReadinessProbe[];
  probes.push(probe);
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

export function healthRoutes(deps: {
  db: Kysely<Database>;
  logger: Logger;
  /** An indexer status older than this means no leader is writing (it cannot, or none leads). 0: not checked. */
  statusMaxAgeMs?: number;
}): Router {
  const router = Router();
  const startedAt = Date.now();
  const statusMaxAgeMs = deps.statusMaxAgeMs ?? 0;

  router.get("/health", (_req, res) => {
    res.set("Cache-Control", "no-store").json({ status: "ok", uptimeSeconds: Math.floor((Date.now() - startedAt) / 1000) });
  });

  // Until the indexer has applied a full backfill, the stakes table may miss wallets: do not take traffic.
  router.get("/ready", async (req, res) => {
    res.set("Cache-Control", "no-store");
    const probes = ((req.app.locals[PROBES] ?? []) as ReadinessProbe[]).map((p) => ({ name: p.name, ...p.check() }));
    const details = Object.fromEntries(probes.map((p) => [p.name, { ok: p.ok, ...p.details }]));
    const down = (dependency: string, reason: string, extra: Record<string, unknown> = {}) =>
      res.status(HTTP_STATUS.unavailable).json({ ready: false, dependency, reason, ...extra, ...(probes.length > 0 ? { dependencies: details } : {}) });

    let status: Awaited<ReturnType<typeof readIndexerStatus>>;
    try {
      status = await withDeadline(readIndexerStatus(deps.db), READY_DEADLINE_MS);
    } catch (err) {
      deps.logger.warn({ reason: describeError(err) }, "readiness: cannot read the indexer status");
      down("database", "the database is unavailable");
      return;
    }
    if (status === null) {
      down("indexer", "the indexer has not reported a status yet");
      return;
    }
    const s = status.snapshot;
    if (s.backfillCompletedAt === null) {
      down("indexer", "the first backfill has not completed", { statusUpdatedAt: s.updatedAt });
      return;
    }
    const statusAgeMs = Date.now() - status.writtenAt.getTime();
    if (statusMaxAgeMs > 0 && statusAgeMs > statusMaxAgeMs) {
      down("indexer", `no indexer leader has written its status for ${Math.round(statusAgeMs / 1000)} s (it cannot write, or none leads)`, {
        statusUpdatedAt: s.updatedAt,
      });
      return;
    }
    const failing = probes.find((p) => !p.ok);
    if (failing) {
      down(failing.name, failing.reason ?? `${failing.name} is unavailable`);
      return;
    }
    res.json({
      ready: true,
      backfillCompletedAt: s.backfillCompletedAt,
      backfillSlot: s.backfillSlot,
      statusUpdatedAt: s.updatedAt,
      ...(probes.length > 0 ? { dependencies: details } : {}),
    });
  });
  return router;
}
