/**
 * The jobs' HTTP surface, as a plugin for api/app.ts: bull-board at /admin/queues and the analytics
 * dashboard at /x402/analytics/dashboard, both behind the admin key (Bearer, x-admin-key, or HTTP Basic
 * with the key as password so a browser can open the queue UI).
 *
 * bull-board itself has no auth and its API accepts add, edit, retry, clean and obliterate on a writable
 * queue. No retry, edit or re-add can spend twice (a job carries only a run id; the run row's state machine
 * and the stored transactions decide), but removing or re-timing the daily scheduler, or obliterating,
 * emptying or cleaning the queue, would silently stop the money. So its handler hooks refuse those, adding
 * jobs and editing job data (see REFUSED_UI_ROUTES); retry and promote stay. Every write through the UI is
 * logged with who made it and what it was.
 */
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import type { Queue } from "bullmq";
import type { Express, RequestHandler } from "express";
import type { Kysely } from "kysely";
import type { BeforeHookResult, HookContext } from "@bull-board/api/typings/app";
import { adminActor, adminAuth } from "../api/admin-auth.ts";
import { HttpError } from "../api/errors.ts";
import type { Database } from "../src/db/schema.ts";
import type { Logger } from "../src/log.ts";
import { dashboardMetrics } from "./dashboard.ts";

/** The queue UI answers 503 when Redis has not answered a small query within this (its own calls would wait forever). */
export const QUEUE_UI_REDIS_DEADLINE_MS = 2_000;

/** Refuses the queue UI at once, in one line, while Redis does not answer: bull-board's calls have no deadline. */
function redisGuard(queue: Queue, logger: Logger | undefined): RequestHandler {
  return (_req, _res, next) => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${QUEUE_UI_REDIS_DEADLINE_MS} ms`)), QUEUE_UI_REDIS_DEADLINE_MS);
    });
    const asked = queue.getJobCounts("waiting");
    asked.catch(() => undefined);
    Promise.race([asked, deadline]).then(
        () => {
          clearTimeout(timer);
          next();
        },
        (err: unknown) => {
          clearTimeout(timer);
          logger?.warn({ err: err instanceof Error ? err.message : String(err) }, "queue UI: Redis does not answer");
          next(new HttpError("unavailable", "redis_unavailable", "the queue UI needs Redis, which does not answer; the API's other routes are unaffected"));
        },
      );
  };
}

export const QUEUES_PATH = "/admin/queues";
export const DASHBOARD_PATH = "/x402/analytics/dashboard";

export interface JobsPluginDeps {
  db: Kysely<Database>;
  adminKey: string;
  /** The pipeline queue (jobs/queue.ts createPipelineQueue); its connection is the caller's to close. */
  queue: Queue;
  logger?: Logger;
  /** The dashboard's clock (its window is the 30 days before now). */
  now?: () => Date;
  /** Mount the queue UI (default true) and the dashboard (default true): API_QUEUE_UI, API_DASHBOARD. */
  queueUi?: boolean;
  dashboard?: boolean;
}

/** bull-board API routes (method route) the UI may not use: each could stop the pipeline or change what a job is. */
export const REFUSED_UI_ROUTES: ReadonlyMap<string, string> = new Map([
  ["put /api/queues/:queueName/job-schedulers/:schedulerId/remove", "removing the pipeline's scheduler"],
  ["patch /api/queues/:queueName/job-schedulers/:schedulerId", "editing the pipeline's scheduler"],
  ["put /api/queues/:queueName/obliterate", "obliterating the queue"],
  ["put /api/queues/:queueName/empty", "emptying the queue"],
  ["put /api/queues/:queueName/clean/:queueStatus", "cleaning the queue"],
  ["put /api/queues/:queueName/:jobId/clean", "removing a job"],
  ["put /api/queues/:queueName/:jobId/remove-unprocessed-children", "removing jobs"],
  ["post /api/queues/:queueName/add", "adding jobs"],
  ["patch /api/queues/:queueName/:jobId/update-data", "editing job data"],
]);

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

function refuseStoppingTheMoney(logger: Logger | undefined) {
  return (ctx: HookContext): BeforeHookResult => {
    const what = REFUSED_UI_ROUTES.get(`${ctx.method.toLowerCase()} ${ctx.route}`);
    if (what === undefined) return;
    logger?.warn({ route: ctx.route, method: ctx.method, params: ctx.request.params }, `queue UI refused ${what}`);
    return { allow: false, status: 403, message: `${what} is not allowed from the queue UI: it would stop or change the revenue pipeline` };
  };
}

export function createJobsPlugin(deps: JobsPluginDeps): (app: Express) => void {
  return (app) => {
    const auth = adminAuth({ key: deps.adminKey, realm: "kamiyo-stake jobs" });
    if (deps.dashboard !== false) {
      app.get(DASHBOARD_PATH, auth, async (_req, res, next) => {
        try {
          res.json(await dashboardMetrics(deps.db, deps.now?.() ?? new Date()));
        } catch (err) {
          next(err);
        }
      });
    }
    if (deps.queueUi === false) return;
    const serverAdapter = new ExpressAdapter();
    serverAdapter.setBasePath(QUEUES_PATH);
    createBullBoard({
      queues: [new BullMQAdapter(deps.queue, { description: "daily revenue -> KAMIYO buyback -> reward vault" })],
      serverAdapter,
      options: { uiConfig: { boardTitle: "kamiyo-stake jobs", miscLinks: [{ text: "Dashboard", url: "/admin" }, { text: "API docs", url: "/docs" }] }, handlerHooks: { before: refuseStoppingTheMoney(deps.logger) } },
    });
    // The audit line of every write through the UI: who (Basic user name, address), what, and the answer.
    const audit: RequestHandler = (req, res, next) => {
      if (WRITE_METHODS.has(req.method)) {
        res.on("finish", () =>
          deps.logger?.info({ ...adminActor(req), method: req.method, path: `${QUEUES_PATH}${req.path}`, status: res.statusCode }, "queue UI write"),
        );
      }
      next();
    };
    app.use(QUEUES_PATH, auth, redisGuard(deps.queue, deps.logger), audit, serverAdapter.getRouter() as RequestHandler);
  };
}
