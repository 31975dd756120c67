/**
 * The jobs' HTTP surface, as a plugin for api/app.ts: bull-board at /admin/queues and the analytics
 * dashboard at /x402/analytics/dashboard, both behind the admin key (Bearer, x-admin-key, or HTTP Basic
 * with the key as password so a browser can open the queue UI).
 *
 * bull-board itself has no auth and its API accepts add, edit, retry, clean and obliterate on a writable
 * queue. That is allowed on purpose: a job carries only a run id, and the run row's state machine plus the
 * stored transactions decide what happens, so no retry, edit or re-add can spend twice.
 */
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import type { Queue } from "bullmq";
import type { Express, RequestHandler } from "express";
import type { Kysely } from "kysely";
import { adminAuth } from "../api/admin-auth.ts";
import type { Database } from "../src/db/schema.ts";
import type { Logger } from "../src/log.ts";
import { dashboardMetrics } from "./dashboard.ts";

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
}

export function createJobsPlugin(deps: JobsPluginDeps): (app: Express) => void {
  return (app) => {
    const auth = adminAuth({ key: deps.adminKey, realm: "kamiyo-stake jobs" });
    const serverAdapter = new ExpressAdapter();
    serverAdapter.setBasePath(QUEUES_PATH);
    createBullBoard({
      queues: [new BullMQAdapter(deps.queue, { description: "daily revenue -> KAMIYO buyback -> reward vault" })],
      serverAdapter,
      options: { uiConfig: { boardTitle: "kamiyo-stake jobs" } },
    });
    app.use(QUEUES_PATH, auth, serverAdapter.getRouter() as RequestHandler);

    app.get(DASHBOARD_PATH, auth, async (_req, res, next) => {
      try {
        res.json(await dashboardMetrics(deps.db, deps.now?.() ?? new Date()));
      } catch (err) {
        next(err);
      }
    });
  };
}
