/** `kamiyo-stake webhooks sync`: create or update the Helius webhook that feeds POST /webhooks/helius. */
import { syncHeliusWebhook } from "../../api/helius-webhook-sync.ts";
import { UsageError, type CommandModule } from "../command.ts";

export default {
  usage: `Usage: kamiyo-stake webhooks sync

Creates the Helius webhook for the staking program, or updates it when one already points at this
service: type raw (rawDevnet on devnet), every transaction touching STAKING_PROGRAM_ID, delivered to
PUBLIC_URL/webhooks/helius with HELIUS_WEBHOOK_AUTH as its Authorization header. Warns when Helius
reports the webhook inactive.

Environment: HELIUS_API_KEY (required), HELIUS_API_URL (optional, another Helius API origin),
PUBLIC_URL, HELIUS_WEBHOOK_AUTH, STAKING_PROGRAM_ID, KAMIYO_CLUSTER.

Options:
  -h, --help  show this help`,
  positionals: true,
  async run(args, ctx) {
    const [sub, ...extra] = args.positionals;
    if (sub !== "sync") throw new UsageError(sub === undefined ? "missing subcommand (sync)" : `unknown subcommand '${sub}'`);
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const config = ctx.config();
    const result = await syncHeliusWebhook({
      apiKey: config.helius.apiKey ?? "",
      apiUrl: config.helius.apiUrl,
      publicUrl: config.publicUrl,
      authHeader: config.helius.webhookAuth,
      programId: config.solana.programId,
      cluster: config.cluster,
    });
    ctx.stdout.write(`${result.action} Helius webhook ${result.webhookID}: ${result.webhookURL} (program ${config.solana.programId})\n`);
    for (const warning of result.warnings) ctx.stderr.write(`kamiyo-stake: webhooks: warning: ${warning}\n`);
  },
} satisfies CommandModule;
