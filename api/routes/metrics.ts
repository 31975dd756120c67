/** `GET /metrics`: Prometheus text. The indexer series are refreshed from its snapshot at each scrape. */
import { Router } from "express";
import type { Registry } from "prom-client";
import type { ApiMetrics } from "../metrics.ts";

export function metricsRoutes(deps: { registry: Registry; apiMetrics: ApiMetrics }): Router {
  const router = Router();
  router.get("/metrics", async (_req, res) => {
    await deps.apiMetrics.refresh();
    const text = await deps.registry.metrics();
    res.set("Content-Type", deps.registry.contentType).set("Cache-Control", "no-store").send(text);
  });
  return router;
}
