/** `kamiyo-stake worker`: the revenue pipeline's BullMQ worker, plus its (idempotent) schedule set-up. */
import { createDatabase } from "../../src/db/database.ts";
import { createJobsRuntimeFromConfig } from "../../jobs/runtime.ts";
import type { CommandModule } from "../command.ts";

export default {
  usage: `Usage: kamiyo-stake worker [--no-schedule]

Runs the revenue pipeline worker: allocate yesterday's x402 revenue (ALLOCATION_BPS), buy KAMIYO through
Jupiter (JUPITER_API_URL, JUPITER_API_KEY) with the admin wallet (ADMIN_KEYPAIR_PATH), and fund the
staking pool's reward vault, once per UTC day at PIPELINE_CRON, catching up missed days in order; and
APY snapshots at APY_SNAPSHOT_CRON. Setting the schedules up is safe to repeat from every replica.
Stops on SIGINT/SIGTERM after the active job (bounded wait).

Options:
  --no-schedule  only work on queued jobs; do not upsert the schedulers or queue a catch-up
  -h, --help     show this help`,
  options: { "no-schedule": { type: "boolean" } },
  async run(args, ctx) {
    const config = ctx.config();
    const logger = ctx.logger("worker");
    const { db, close } = createDatabase({ url: config.databaseUrl, applicationName: "kamiyo-stake worker", onIdleError: (err) => logger.warn({ err: err.message }, "idle database connection failed") });
    try {
      const runtime = await createJobsRuntimeFromConfig({ config, db, logger });
      try {
        if (args.values["no-schedule"] !== true) await runtime.setup();
        ctx.stdout.write(`pipeline worker running (daily at "${config.jobs.pipelineCron}" UTC)\n`);
        await new Promise<void>((resolve) => {
          if (ctx.signal.aborted) resolve();
          else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
        });
      } finally {
        await runtime.close(30_000);
      }
    } finally {
      await close();
    }
  },
} satisfies CommandModule;
