import { createApp } from "../../api/app.ts";
import { createRateLimits, type RateLimits } from "../../api/rate-limit.ts";
import { listen } from "../../api/server.ts";
import { createIndexerApi } from "../../indexer/index.ts";
import { nextScheduledRun } from "../../jobs/metrics.ts";
import type { CompositionOptions, CompositionState } from "../compose.ts";
import type { Service } from "../services.ts";
import { need, type LogFor } from "./common.ts";

export function apiService(state: CompositionState, o: CompositionOptions, log: LogFor): Service {
  let limits: RateLimits | null = null;
  return {
    name: "api",
    async start() {
      const db = need(state.database, "the database");
      const { config } = state;
      limits = createRateLimits({
        redisUrl: config.redisUrl,
        prefix: o.jobsPrefix ?? config.jobs.queuePrefix,
        adminPerMinute: config.http.rateLimits.adminPerMinute,
        quotesPerMinute: config.features.paywall ? config.http.rateLimits.quotesPerMinute : 0,
        paidRoutes: config.x402.routes.map((r) => `${r.method} ${r.path}`),
        logger: log("api"),
      });
      const app = createApp({
        guards: [limits],
        config: state.config,
        db: db.db,
        logger: log("api"),
        metrics: state.registry,
        indexerApi: createIndexerApi({ config: state.config, db: db.db, logger: log("indexer-api") }),
        plugins: state.plugins,
        nextPipelineRun: async () => (state.pipelineQueue ? nextScheduledRun(state.pipelineQueue) : null),
      });
      try {
        state.api = await listen(app, { port: o.apiPort ?? state.config.port, host: o.apiHost ?? "127.0.0.1" });
      } catch (err) {
        await limits.close();
        limits = null;
        throw err;
      }
    },
    async stop() {
      await state.api?.close();
      state.api = null;
      await limits?.close();
      limits = null;
    },
  };
}
