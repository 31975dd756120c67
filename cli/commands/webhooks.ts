/**
 * `kamiyo-stake webhooks sync`: create or update the Helius webhook that feeds POST /webhooks/helius.
 * `kamiyo-stake webhooks check [--every SECONDS]`: verify it is active, covers the staking program and is raw.
 */
import { checkHeliusWebhook, syncHeliusWebhook, type WebhookSyncOptions } from "../../api/helius-webhook-sync.ts";
import { describeError } from "../../src/errors.ts";
import { sleep } from "../../src/retry.ts";
import { UsageError, type CommandModule } from "../command.ts";

export default {
  usage: `Usage: kamiyo-stake webhooks sync
       kamiyo-stake webhooks check [--every SECONDS]

sync   creates the Helius webhook for the staking program, or updates it when one already points at this
       service: type raw (rawDevnet on devnet), every transaction touching STAKING_PROGRAM_ID, delivered to
       PUBLIC_URL/webhooks/helius with HELIUS_WEBHOOK_AUTH as its Authorization header. Warns when Helius
       reports the webhook inactive.
check  changes nothing: checks that the webhook exists, is active, covers STAKING_PROGRAM_ID, is raw and
       carries HELIUS_WEBHOOK_AUTH. Exit 0 when it does, 1 (one line per problem on stderr) when not. With
       --every, checks again every SECONDS until SIGINT/SIGTERM (for a cron-less periodic check), exit 1 if
       the last check failed.

Environment: HELIUS_API_KEY (required), HELIUS_API_URL (optional, another Helius API origin),
PUBLIC_URL, HELIUS_WEBHOOK_AUTH, STAKING_PROGRAM_ID, KAMIYO_CLUSTER.

Options:
  --every SECONDS  (check) repeat the check at this interval (10 to 86400)
  -h, --help       show this help`,
  positionals: true,
  options: { every: { type: "string" } },
  async run(args, ctx) {
    const [sub, ...extra] = args.positionals;
    if (sub !== "sync" && sub !== "check") throw new UsageError(sub === undefined ? "missing subcommand (sync or check)" : `unknown subcommand '${sub}'`);
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
    if (sub === "sync" && args.values.every !== undefined) throw new UsageError("--every applies to check only");
    const every = args.values.every === undefined ? null : Number(args.values.every);
    if (every !== null && (!Number.isInteger(every) || every < 10 || every > 86_400)) throw new UsageError("--every must be a whole number of seconds in 10..86400");
    const config = ctx.config();
    const options: WebhookSyncOptions = {
      apiKey: config.helius.apiKey ?? "",
      apiUrl: config.helius.apiUrl,
      publicUrl: config.publicUrl,
      authHeader: config.helius.webhookAuth,
      programId: config.solana.programId,
      cluster: config.cluster,
    };
    if (sub === "sync") {
      const result = await syncHeliusWebhook(options);
      ctx.stdout.write(`${result.action} Helius webhook ${result.webhookID}: ${result.webhookURL} (program ${config.solana.programId})\n`);
      for (const warning of result.warnings) ctx.stderr.write(`kamiyo-stake: webhooks: warning: ${warning}\n`);
      return 0;
    }
    for (;;) {
      let ok: boolean;
      try {
        const result = await checkHeliusWebhook(options);
        ok = result.ok;
        if (ok) ctx.stdout.write(`${new Date().toISOString()} Helius webhook ${result.webhookID} is active, raw and covers program ${config.solana.programId}\n`);
        for (const problem of result.problems) ctx.stderr.write(`kamiyo-stake: webhooks: ${problem}\n`);
      } catch (err) {
        // Once: the caller sees the failure; periodically: say so and check again next time.
        if (every === null) throw err;
        ok = false;
        ctx.stderr.write(`kamiyo-stake: webhooks: ${describeError(err)}\n`);
      }
      if (every === null || ctx.signal.aborted) return ok ? 0 : 1;
      try {
        await sleep(every * 1000, ctx.signal);
      } catch {
        return ok ? 0 : 1;
      }
    }
  },
} satisfies CommandModule;
