/** `kamiyo-stake ledger reconcile [--since YYYY-MM-DD]`: makes x402_usage equal to the chain and prints what it repaired. */
import { parseUtcDay, utcDayWindow } from "../../src/domain/utc-day.ts";
import { formatUnits, USDC_DECIMALS } from "../../src/domain/units.ts";
import { createDatabase } from "../../src/db/database.ts";
import { assertMigrated } from "../../api/database-check.ts";
import { ledgerReconcilerFromConfig, type ReconcileReport } from "../../jobs/ledger/index.ts";
import { UsageError, type CommandModule, type Output } from "../command.ts";

const usdc = (v: bigint) => `${formatUnits(v, USDC_DECIMALS)} USDC`;

/** The kinds of repair, in the order printed, with the label of their line. */
const KINDS = [
  ["completed", "completed reservations"],
  ["inserted", "inserted missing payments"],
  ["released", "released dead reservations"],
  ["unexplained", "recorded non-x402 transfers"],
] as const;

/**
 * The report as an operator reads it: one line per kind of repair with its count and amount (every kind, zero
 * included), each repair of that kind indented under it, then the late rows alerted and the pass's extent.
 */
export function printReport(out: Output, r: ReconcileReport): void {
  const width = Math.max(...KINDS.map(([, label]) => label.length));
  for (const [kind, label] of KINDS) {
    const mine = r.repairs.filter((x) => x.kind === kind);
    const amount = mine.reduce((sum, x) => sum + x.amount, 0n);
    out.write(`${`${label}:`.padEnd(width + 2)}${String(r[kind]).padStart(6)}  ${usdc(amount).padStart(16)}\n`);
    for (const x of mine) {
      const parts = [`  ${usdc(x.amount).padStart(16)}`];
      if (x.signature) parts.push(`tx ${x.signature}`);
      if (x.paymentKey) parts.push(`payment ${x.paymentKey.slice(0, 16)}`);
      if (x.detail) parts.push(`(${x.detail})`);
      out.write(`${parts.join("  ")}\n`);
    }
  }
  out.write(`${"late rows alerted:".padEnd(width + 2)}${String(r.lateRows).padStart(6)}\n`);
  const through = r.throughBlockTime ? ` (${r.throughBlockTime.toISOString()})` : "";
  out.write(`reconciled ${r.payToAccount} through slot ${r.throughSlot}${through}: ${r.transactionsRead} transaction(s) read in ${Math.round(r.ms)} ms\n`);
}

export default {
  usage: `Usage: kamiyo-stake ledger reconcile [--since YYYY-MM-DD]

Reads the payTo wallet's USDC account history on chain (getSignaturesForAddress, getTransaction, finalized) and
makes x402_usage equal to it: completes reservations whose payment landed, inserts settled payments that have
no row (tier derived from the route's price, or marked recovered), releases reservations whose transaction can
no longer land, and records incoming transfers that are not x402 payments apart (never revenue). Prints each
repair and the totals.

Options:
  --since YYYY-MM-DD  scan back to the start of that UTC day (default: from where the last reconciliation
                      stopped, or the whole history the first time)
  -h, --help          show this help`,
  positionals: true,
  options: { since: { type: "string" } },
  async run(args, ctx) {
    if (args.positionals[0] !== "reconcile") throw new UsageError("expected a subcommand: reconcile");
    if (args.positionals.length > 1) throw new UsageError(`unexpected argument '${args.positionals[1]}'`);
    let since: Date | undefined;
    if (args.values.since !== undefined) {
      if (typeof args.values.since !== "string") throw new UsageError("--since takes a date (YYYY-MM-DD)");
      try {
        since = utcDayWindow(parseUtcDay(args.values.since)).start;
      } catch (err) {
        throw new UsageError(`--since: ${(err as Error).message}`);
      }
      if (since > new Date()) throw new UsageError(`--since ${args.values.since} is in the future`);
    }
    const config = ctx.config();
    const { db, close } = createDatabase({ url: config.databaseUrl, max: 2, applicationName: "kamiyo-stake ledger" });
    try {
      await assertMigrated(db);
      const reconciler = ledgerReconcilerFromConfig({ config, db, logger: ctx.logger("ledger") });
      printReport(ctx.stdout, await reconciler.reconcile(since ? { since } : {}));
      return 0;
    } finally {
      await close();
    }
  },
} satisfies CommandModule;
