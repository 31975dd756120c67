/** `kamiyo-stake worker`: the revenue pipeline's BullMQ worker, plus its (idempotent) schedule set-up. */
import type { CommandModule } from "../command.ts";
import { runProcess } from "../run-process.ts";

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
    await runProcess(ctx, {
      roles: ["worker"],
      applicationName: "kamiyo-stake worker",
      schedule: args.values["no-schedule"] !== true,
      banner: (state) => `pipeline worker running (daily at "${state.config.jobs.pipelineCron}" UTC)`,
    });
  },
} satisfies CommandModule;
