/** `kamiyo-stake worker`: the revenue pipeline's BullMQ worker, plus its (idempotent) schedule set-up. */
import { listen, type ListeningServer } from "../../api/server.ts";
import { createWorkerHttpApp, workerHealth } from "../../jobs/metrics.ts";
import type { CommandModule } from "../command.ts";
import type { CompositionState } from "../compose.ts";
import { runProcess } from "../run-process.ts";
import type { Service } from "../services.ts";

/** The worker's /health and /metrics on WORKER_METRICS_PORT (under `start` they are the API's instead). */
export function workerHttpService(state: CompositionState, o: { port?: number; host?: string } = {}): Service & { url(): string | null } {
  let server: ListeningServer | null = null;
  return {
    name: "worker metrics",
    url: () => server?.url ?? null,
    async start() {
      const app = createWorkerHttpApp({ registry: state.registry, health: () => workerHealth(state.jobs) });
      server = await listen(app, { port: o.port ?? state.config.jobs.metricsPort, host: o.host ?? "127.0.0.1" });
    },
    async stop() {
      await server?.close();
      server = null;
    },
  };
}

export default {
  usage: `Usage: kamiyo-stake worker [--no-schedule]

Runs the revenue pipeline worker: allocate yesterday's x402 revenue (ALLOCATION_BPS), buy KAMIYO through
Jupiter (JUPITER_API_URL, JUPITER_API_KEY) with the admin wallet (ADMIN_KEYPAIR_PATH), and fund the
staking pool's reward vault, once per UTC day at PIPELINE_CRON, catching up missed days in order; and
APY snapshots at APY_SNAPSHOT_CRON. Setting the schedules up is safe to repeat from every replica.
Serves GET /health and GET /metrics (kamiyo_pipeline_* series) on WORKER_METRICS_PORT.
Stops on SIGINT/SIGTERM after the active job (bounded wait).

Options:
  --no-schedule  only work on queued jobs; do not upsert the schedulers or queue a catch-up
  -h, --help     show this help`,
  options: { "no-schedule": { type: "boolean" } },
  async run(args, ctx) {
    await runProcess(ctx, {
      roles: ["worker"],
      applicationName: "kamiyo-stake worker",
      schedule: args.values["no-schedule"] !== true,
      extra: (state) => [workerHttpService(state)],
      banner: (state) =>
        `pipeline worker running (daily at "${state.config.jobs.pipelineCron}" UTC); health and metrics on http://127.0.0.1:${state.config.jobs.metricsPort}/metrics`,
    });
  },
} satisfies CommandModule;
