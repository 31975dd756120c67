import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { describedBy, JOBS_OPERATIONS } from "../../api/openapi/operations.ts";
import { createJobsPlugin, createJobsRuntimeFromConfig, createPipelineQueue, createRedis } from "../../jobs/index.ts";
import type { CompositionOptions, CompositionState } from "../compose.ts";
import type { Service } from "../services.ts";
import { need, type LogFor } from "./common.ts";

/** The worker role runs the pipeline; the api role only needs the queue, for the queue UI. */
export function jobsService(state: CompositionState, o: CompositionOptions, log: LogFor): Service {
  let uiQueue: { queue: Queue; redis: Redis } | null = null;
  return {
    name: o.roles.includes("worker") ? "revenue pipeline" : "pipeline queue",
    async start() {
      const db = need(state.database, "the database");
      const prefix = o.jobsPrefix ?? state.config.jobs.queuePrefix;
      let queue: Queue;
      if (o.roles.includes("worker")) {
        const runtime = await createJobsRuntimeFromConfig({ config: state.config, db: db.db, logger: log("jobs"), prefix, registry: state.registry });
        state.jobs = runtime;
        if (o.schedule ?? true) await runtime.setup();
        queue = runtime.queue;
      } else {
        const redis = createRedis(state.config.redisUrl);
        uiQueue = { queue: createPipelineQueue(redis, prefix), redis };
        queue = uiQueue.queue;
      }
      if (o.roles.includes("api")) {
        const { queueUi, dashboard } = state.config.features;
        const operations = JOBS_OPERATIONS.filter((op) => (op.path === "/admin/queues" ? queueUi : dashboard));
        state.plugins.push(describedBy(createJobsPlugin({ db: db.db, adminKey: state.config.adminApiKey, queue, logger: log("jobs-ui"), queueUi, dashboard }), operations));
      }
      state.pipelineQueue = queue;
    },
    async stop() {
      state.pipelineQueue = null;
      await state.jobs?.close(10_000);
      state.jobs = null;
      if (uiQueue) {
        await uiQueue.queue.close();
        uiQueue.redis.disconnect();
        uiQueue = null;
      }
    },
  };
}
