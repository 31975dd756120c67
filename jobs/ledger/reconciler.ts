/**
 * The ledger reconciler: makes x402_usage equal to the payTo USDC account's history on chain.
 *
 * One pass, under the schema's reconciliation lock:
 *  1. notes the finalized slot, and which open reservations' blockhashes can no longer land (asked first, so
 *     any transaction using them is already in the finalized history the scan reads next);
 *  2. reads the account's signatures newest first, down to where the last pass stopped (or `since`, or the
 *     whole history the first time), and their transactions;
 *  3. for each transaction that increased payTo's USDC: a reservation with its payment key is completed with its
 *     signature and time; an x402 payment with no row is inserted (tier derived from the route's price when it
 *     can be, else marked recovered); any other transfer is recorded apart, never as revenue;
 *  4. releases the reservations found dead in step 1 that nothing on chain claimed;
 *  5. records the pass (through slot, signature, block time, counts) and alerts late rows for allocated days.
 * Step 3 writes each page of transactions (`chunk`) with one multi-row statement per kind of repair.
 * Every write is idempotent (unique payment key and signature), so a pass cut short is simply run again.
 */
import { getAssociatedTokenAddressSync } from "@solana/spl-token";
import { PublicKey } from "@solana/web3.js";
import type { Kysely } from "kysely";
import type { PaidRoute } from "../../src/config.ts";
import { createRevenueLedgerRepository, type IncomingTransfer, type RepairCounts } from "../../src/db/repositories/revenue-ledger.ts";
import { createUsageRepository, type RecoveredUsage } from "../../src/db/repositories/usage.ts";
import type { Database } from "../../src/db/schema.ts";
import type { DiscountTier } from "../../src/domain/tiers.ts";
import { describeError } from "../../src/errors.ts";
import type { Logger } from "../../src/log.ts";
import type { Alerter } from "../alerts.ts";
import type { ChainHistory, SignatureInfo } from "./chain-history.ts";
import { classifyTransaction, deriveUsage } from "./classify.ts";
import type { LedgerMetrics } from "./metrics.ts";

export interface LedgerReconcilerDeps {
  db: Kysely<Database>;
  history: ChainHistory;
  payTo: string;
  usdcMint: string;
  network: string;
  routes: readonly PaidRoute[];
  tiers: readonly DiscountTier[];
  logger: Logger;
  metrics?: LedgerMetrics | null;
  alerter?: Alerter | null;
  /** Transactions fetched and written per step (default 500). */
  chunk?: number;
}

export interface Repair {
  kind: "completed" | "inserted" | "released" | "unexplained";
  paymentKey: string | null;
  signature: string | null;
  amount: bigint;
  detail?: string;
}

export interface ReconcileReport extends RepairCounts {
  passId: bigint;
  payToAccount: string;
  throughSlot: bigint;
  throughBlockTime: Date | null;
  transactionsRead: number;
  repairs: Repair[];
  /** Late rows for allocated days alerted by this pass. */
  lateRows: number;
  ms: number;
}

export interface LedgerReconciler {
  readonly payToAccount: string;
  /** One pass; `since` scans back at least to that time (else from where the last pass stopped). */
  reconcile(options?: { since?: Date }): Promise<ReconcileReport>;
  /** The last successful pass's slot and block time, or null before the first. */
  reconciledThrough(): Promise<{ slot: bigint; blockTime: Date | null } | null>;
}

export function payToUsdcAccount(payTo: string, usdcMint: string): string {
  return getAssociatedTokenAddressSync(new PublicKey(usdcMint), new PublicKey(payTo), true).toBase58();
}

export function createLedgerReconciler(deps: LedgerReconcilerDeps): LedgerReconciler {
  const payToAccount = payToUsdcAccount(deps.payTo, deps.usdcMint);
  const log = deps.logger.child({ component: "ledger-reconciler" });
  const chunk = deps.chunk ?? 500;
  const ledgerRepo = createRevenueLedgerRepository(deps.db);

  /** Signatures to read, newest first, stopping at the last pass's signature or before `stopBefore`. */
  async function scan(until: string | undefined, stopBefore: Date | undefined): Promise<SignatureInfo[]> {
    const out: SignatureInfo[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await deps.history.signatures(payToAccount, { ...(before ? { before } : {}), ...(until ? { until } : {}), limit: 1000 });
      for (const s of page) {
        if (stopBefore && s.blockTime !== null && s.blockTime * 1000 < stopBefore.getTime()) return out;
        out.push(s);
      }
      if (page.length < 1000) return out;
      before = page[page.length - 1]!.signature;
    }
  }

  async function pass(db: Kysely<Database>, since: Date | undefined): Promise<ReconcileReport> {
    const started = performance.now();
    const usage = createUsageRepository(db);
    const repo = createRevenueLedgerRepository(db);
    const last = await repo.lastPass(payToAccount);
    const passId = await repo.startPass(payToAccount, since ?? null);
    try {
      // 1. What can no longer land, asked before the history is read.
      const finalized = await deps.history.finalizedSlot();
      const open = await usage.openReservations();
      const dead = new Set<string>();
      const validity = new Map<string, boolean>();
      for (const r of open) {
        if (r.recentBlockhash === null) continue; // a reservation from before blockhashes were recorded: never released by expiry
        let valid = validity.get(r.recentBlockhash);
        if (valid === undefined) validity.set(r.recentBlockhash, (valid = await deps.history.blockhashValid(r.recentBlockhash)));
        if (!valid) dead.add(r.paymentKey);
      }

      // 2. The history since the last pass (or since `since`, going back at least to the last pass).
      const stopBefore = since && last?.throughBlockTime && last.throughBlockTime < since ? last.throughBlockTime : since;
      const signatures = await scan(since ? undefined : (last?.throughSignature ?? undefined), stopBefore);
      const live = signatures.filter((s) => !s.failed).reverse(); // oldest first

      // 3. Each transaction that increased payTo's USDC.
      const counts: RepairCounts = { completed: 0, inserted: 0, released: 0, unexplained: 0 };
      const repairs: Repair[] = [];
      const claimed = new Set<string>();
      for (let i = 0; i < live.length; i += chunk) {
        const txs = await deps.history.transactions(live.slice(i, i + chunk).map((s) => s.signature));
        const seen = txs.flatMap((tx) => (tx ? [{ tx, c: classifyTransaction(tx, payToAccount, deps.usdcMint) }] : []));
        const rows = await usage.statusOf(seen.flatMap(({ c }) => (c.kind === "none" ? [] : [c.paymentKey])));
        // The page's repairs, gathered first and written in one multi-row statement per kind.
        const completions = new Map<string, { paymentKey: string; signature: string; payer: string; settledAt: Date; amount: bigint }>();
        const insertions = new Map<string, RecoveredUsage>();
        const incoming = new Map<string, IncomingTransfer & { detail: string }>();
        for (const { tx, c } of seen) {
          if (c.kind === "none") continue;
          claimed.add(c.paymentKey);
          const row = rows.get(c.paymentKey);
          const settledAt = tx.blockTime !== null ? new Date(tx.blockTime * 1000) : new Date();
          if (row?.settled) continue;
          if (row) {
            const payer = c.kind === "x402" ? c.payer : (c.sourceOwner ?? "");
            if (!completions.has(c.paymentKey)) completions.set(c.paymentKey, { paymentKey: c.paymentKey, signature: tx.signature, payer, settledAt, amount: c.amount });
            continue;
          }
          if (c.kind === "x402") {
            if (insertions.has(c.paymentKey)) continue;
            const d = deriveUsage(c.amount, deps.routes, deps.tiers);
            insertions.set(c.paymentKey, {
              paymentKey: c.paymentKey,
              payer: c.payer,
              endpoint: d.endpoint,
              method: d.method,
              statusCode: 200,
              amountCharged: c.amount,
              originalAmount: d.decision.original,
              discountTier: d.decision.tier,
              discountBps: d.decision.discountBps,
              savings: d.decision.savings,
              network: deps.network,
              asset: deps.usdcMint,
              payTo: deps.payTo,
              settlementSignature: tx.signature,
              responseTimeMs: 0,
              settledAt,
              recentBlockhash: c.recentBlockhash,
              source: d.source,
            });
            continue;
          }
          if (!incoming.has(tx.signature)) {
            incoming.set(tx.signature, {
              signature: tx.signature,
              slot: tx.slot,
              blockTime: tx.blockTime !== null ? settledAt : null,
              payToAccount,
              sourceOwner: c.sourceOwner,
              amount: c.amount,
              reason: c.reason,
              detail: c.reason,
            });
          }
        }
        const completed = await usage.completeFromChainMany([...completions.values()]);
        const inserted = await usage.insertRecoveredMany([...insertions.values()]);
        const recorded = await repo.recordIncomingMany([...incoming.values()]);
        for (const x of completions.values()) {
          if (!completed.has(x.paymentKey)) continue;
          counts.completed++;
          repairs.push({ kind: "completed", paymentKey: x.paymentKey, signature: x.signature, amount: x.amount });
        }
        for (const x of insertions.values()) {
          if (!inserted.has(x.paymentKey)) continue;
          counts.inserted++;
          repairs.push({ kind: "inserted", paymentKey: x.paymentKey, signature: x.settlementSignature, amount: x.amountCharged, detail: x.source });
        }
        for (const x of incoming.values()) {
          if (!recorded.has(x.signature)) continue;
          counts.unexplained++;
          repairs.push({ kind: "unexplained", paymentKey: null, signature: x.signature, amount: x.amount, detail: x.detail });
        }
      }

      // 4. Reservations that can no longer land and that nothing on chain claimed.
      for (const r of open) {
        if (!dead.has(r.paymentKey) || claimed.has(r.paymentKey)) continue;
        if (await usage.release(r.paymentKey)) {
          counts.released++;
          repairs.push({ kind: "released", paymentKey: r.paymentKey, signature: null, amount: r.amountCharged });
        }
      }

      // 5. The pass's record.
      const newest = signatures[0];
      const throughSlot = newest && newest.slot > finalized ? newest.slot : finalized;
      const throughBlockTime = await deps.history.blockTime(throughSlot);
      await repo.finishPass(passId, {
        ...counts,
        throughSlot,
        throughSignature: newest?.signature ?? last?.throughSignature ?? null,
        throughBlockTime,
        transactionsRead: live.length,
      });
      return { passId, payToAccount, ...counts, throughSlot, throughBlockTime, transactionsRead: live.length, repairs, lateRows: 0, ms: performance.now() - started };
    } catch (err) {
      await repo.failPass(passId, describeError(err)).catch(() => undefined);
      throw err;
    }
  }

  async function alertLateRows(): Promise<number> {
    const late = await ledgerRepo.lateRows({ unalertedOnly: true });
    if (late.length === 0) return 0;
    deps.metrics?.lateRows.inc(late.length);
    const total = late.reduce((sum, r) => sum + r.amount, 0n);
    const days = [...new Set(late.map((r) => r.runDate))].sort();
    const text = `${late.length} settled payment(s) (${total} micro-USDC) recorded after their day was allocated: ${days.join(", ")}`;
    if (deps.alerter) await deps.alerter.alert(text, { days, amount: total.toString(), signatures: late.slice(0, 20).map((r) => r.signature) });
    else log.error({ days, amount: total.toString() }, text);
    await ledgerRepo.markLateRowsAlerted(late.map((r) => r.usageId));
    return late.length;
  }

  return {
    payToAccount,
    async reconcile(options = {}) {
      let report: ReconcileReport;
      try {
        report = await ledgerRepo.withReconcileLock((locked) => pass(locked, options.since));
      } catch (err) {
        deps.metrics?.passes.inc({ outcome: "failed" });
        throw err;
      }
      report.lateRows = await alertLateRows();
      const m = deps.metrics;
      if (m) {
        m.passes.inc({ outcome: "ok" });
        for (const kind of ["completed", "inserted", "released"] as const) if (report[kind] > 0) m.repaired.inc({ kind }, report[kind]);
        if (report.unexplained > 0) m.unexplained.inc(report.unexplained);
        m.lastReconciledSlot.set(Number(report.throughSlot));
      }
      const repaired = report.completed + report.inserted + report.released + report.unexplained;
      log[repaired > 0 ? "warn" : "info"](
        {
          throughSlot: report.throughSlot.toString(),
          read: report.transactionsRead,
          completed: report.completed,
          inserted: report.inserted,
          released: report.released,
          unexplained: report.unexplained,
          ms: Math.round(report.ms),
        },
        repaired > 0 ? "ledger reconciled: drift repaired" : "ledger reconciled: no drift",
      );
      return report;
    },
    async reconciledThrough() {
      const last = await ledgerRepo.lastPass(payToAccount);
      return last ? { slot: last.throughSlot, blockTime: last.throughBlockTime } : null;
    },
  };
}
