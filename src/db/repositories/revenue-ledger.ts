/**
 * The ledger reconciler's own tables (migrations/2026_11_29_140_revenue_ledger.ts): its passes over the payTo
 * USDC account's history, incoming transfers that are not x402 payments, late rows for allocated days, and
 * the slot a run's allocation was reconciled through. Amounts are micro-USDC (bigint).
 */
import { sql, type Kysely } from "kysely";
import type { Database } from "../schema.ts";

/** What one reconciliation pass repaired, by kind. */
export interface RepairCounts {
  /** Reservations completed with the signature of their transaction on chain. */
  completed: number;
  /** Settled payments that had no row, inserted. */
  inserted: number;
  /** Reservations whose transaction can no longer land, released. */
  released: number;
  /** Incoming transfers that are not x402 payments, recorded (never revenue). */
  unexplained: number;
}

export interface FinishedPass extends RepairCounts {
  throughSlot: bigint;
  throughSignature: string | null;
  throughBlockTime: Date | null;
  transactionsRead: number;
}

export interface ReconciliationRow extends FinishedPass {
  id: bigint;
  startedAt: Date;
  finishedAt: Date;
  since: Date | null;
}

/** The reconciler's status for the dashboard: its newest successful pass and its newest attempt of any outcome. */
export interface ReconciliationStatus {
  lastPass: (ReconciliationRow & { payToAccount: string }) | null;
  /** The newest pass started: running (finishedAt null), failed (error) or the same as lastPass. */
  latest: { id: bigint; startedAt: Date; finishedAt: Date | null; error: string | null } | null;
}

export interface IncomingTransfer {
  signature: string;
  slot: bigint;
  blockTime: Date | null;
  payToAccount: string;
  sourceOwner: string | null;
  amount: bigint;
  reason: string;
}

export interface LateRow {
  usageId: bigint;
  runId: bigint;
  runDate: string;
  amount: bigint;
  signature: string;
  detectedAt: Date;
  alertedAt: Date | null;
}

export function createRevenueLedgerRepository(db: Kysely<Database>) {
  return {
    /**
     * Runs `fn` holding this schema's reconciliation lock (a session advisory lock on one connection): passes
     * from the worker, the allocate step and the CLI take turns. `fn` gets the locked connection's database.
     */
    async withReconcileLock<T>(fn: (locked: Kysely<Database>) => Promise<T>): Promise<T> {
      return db.connection().execute(async (conn) => {
        await sql`SELECT pg_advisory_lock(hashtext(current_schema() || ':ledger_reconcile'))`.execute(conn);
        try {
          return await fn(conn);
        } finally {
          await sql`SELECT pg_advisory_unlock(hashtext(current_schema() || ':ledger_reconcile'))`.execute(conn);
        }
      });
    },

    async startPass(payToAccount: string, since: Date | null): Promise<bigint> {
      const row = await db.insertInto("ledger_reconciliations").values({ pay_to_account: payToAccount, since }).returning("id").executeTakeFirstOrThrow();
      return BigInt(row.id);
    },

    async finishPass(id: bigint, p: FinishedPass): Promise<void> {
      await db
        .updateTable("ledger_reconciliations")
        .set({
          finished_at: sql<Date>`now()`,
          through_slot: p.throughSlot,
          through_signature: p.throughSignature,
          through_block_time: p.throughBlockTime,
          transactions_read: p.transactionsRead,
          completed: p.completed,
          inserted: p.inserted,
          released: p.released,
          unexplained: p.unexplained,
        })
        .where("id", "=", id)
        .execute();
    },

    async failPass(id: bigint, error: string): Promise<void> {
      await db.updateTable("ledger_reconciliations").set({ finished_at: sql<Date>`now()`, error: error.slice(0, 2000) }).where("id", "=", id).execute();
    },

    /** The newest successful pass over `payToAccount`: where the next one starts. */
    async lastPass(payToAccount: string): Promise<ReconciliationRow | null> {
      const r = await db
        .selectFrom("ledger_reconciliations")
        .selectAll()
        .where("pay_to_account", "=", payToAccount)
        .where("finished_at", "is not", null)
        .where("error", "is", null)
        .orderBy("id", "desc")
        .limit(1)
        .executeTakeFirst();
      if (!r) return null;
      return {
        id: BigInt(r.id),
        startedAt: r.started_at,
        finishedAt: r.finished_at!,
        since: r.since,
        throughSlot: BigInt(r.through_slot ?? 0n),
        throughSignature: r.through_signature,
        throughBlockTime: r.through_block_time,
        transactionsRead: r.transactions_read,
        completed: r.completed,
        inserted: r.inserted,
        released: r.released,
        unexplained: r.unexplained,
      };
    },

    /** The newest successful pass over any payTo account and the newest pass started (for the dashboard). */
    async status(): Promise<ReconciliationStatus> {
      const [ok, latest] = await Promise.all([
        db
          .selectFrom("ledger_reconciliations")
          .selectAll()
          .where("finished_at", "is not", null)
          .where("error", "is", null)
          .orderBy("id", "desc")
          .limit(1)
          .executeTakeFirst(),
        db.selectFrom("ledger_reconciliations").select(["id", "started_at", "finished_at", "error"]).orderBy("id", "desc").limit(1).executeTakeFirst(),
      ]);
      return {
        lastPass: ok
          ? {
              id: BigInt(ok.id),
              payToAccount: ok.pay_to_account,
              startedAt: ok.started_at,
              finishedAt: ok.finished_at!,
              since: ok.since,
              throughSlot: BigInt(ok.through_slot ?? 0n),
              throughSignature: ok.through_signature,
              throughBlockTime: ok.through_block_time,
              transactionsRead: ok.transactions_read,
              completed: ok.completed,
              inserted: ok.inserted,
              released: ok.released,
              unexplained: ok.unexplained,
            }
          : null,
        latest: latest ? { id: BigInt(latest.id), startedAt: latest.started_at, finishedAt: latest.finished_at, error: latest.error } : null,
      };
    },

    /** Records incoming transfers that are not x402 payments (one multi-row INSERT): the signatures not recorded before. */
    async recordIncomingMany(list: readonly IncomingTransfer[]): Promise<Set<string>> {
      if (list.length === 0) return new Set();
      const rows = await db
        .insertInto("ledger_incoming_transfers")
        .values(
          list.map((t) => ({
            signature: t.signature,
            slot: t.slot,
            block_time: t.blockTime,
            pay_to_account: t.payToAccount,
            source_owner: t.sourceOwner,
            amount: t.amount,
            reason: t.reason,
          })),
        )
        .onConflict((oc) => oc.column("signature").doNothing())
        .returning("signature")
        .execute();
      return new Set(rows.map((r) => r.signature));
    },

    /** Incoming transfers recorded as not x402 (newest first). */
    async incomingTransfers(limit = 100): Promise<IncomingTransfer[]> {
      const rows = await db.selectFrom("ledger_incoming_transfers").selectAll().orderBy("slot", "desc").limit(limit).execute();
      return rows.map((r) => ({
        signature: r.signature,
        slot: BigInt(r.slot),
        blockTime: r.block_time,
        payToAccount: r.pay_to_account,
        sourceOwner: r.source_owner,
        amount: BigInt(r.amount),
        reason: r.reason,
      }));
    },

    /** Settled rows that arrived for days already allocated (what the dashboard shows), newest first. */
    async lateRows(options: { unalertedOnly?: boolean; limit?: number } = {}): Promise<LateRow[]> {
      let q = db
        .selectFrom("ledger_late_rows")
        .select(["usage_id", "run_id", sql<string>`to_char(run_date, 'YYYY-MM-DD')`.as("run_date"), "amount", "signature", "detected_at", "alerted_at"]);
      if (options.unalertedOnly) q = q.where("alerted_at", "is", null);
      const rows = await q.orderBy("detected_at", "desc").limit(options.limit ?? 1000).execute();
      return rows.map((r) => ({
        usageId: BigInt(r.usage_id),
        runId: BigInt(r.run_id),
        runDate: r.run_date,
        amount: BigInt(r.amount),
        signature: r.signature,
        detectedAt: r.detected_at,
        alertedAt: r.alerted_at,
      }));
    },

    /** How many late rows there are and what they add up to (micro-USDC), all of them. */
    async lateRowTotals(): Promise<{ count: bigint; amount: bigint }> {
      const r = await db
        .selectFrom("ledger_late_rows")
        .select([sql<bigint>`count(*)::bigint`.as("count"), sql<bigint>`coalesce(sum(amount), 0)::numeric(20, 0)`.as("amount")])
        .executeTakeFirstOrThrow();
      return { count: BigInt(r.count), amount: BigInt(r.amount) };
    },

    async markLateRowsAlerted(usageIds: readonly bigint[]): Promise<void> {
      if (usageIds.length === 0) return;
      await db.updateTable("ledger_late_rows").set({ alerted_at: sql<Date>`now()` }).where("usage_id", "in", [...usageIds]).execute();
    },

    /** Records the slot the ledger was reconciled through on a run that is still about to allocate. */
    async setRunReconciledSlot(runId: bigint, slot: bigint): Promise<boolean> {
      const res = await db
        .updateTable("pipeline_runs")
        .set({ ledger_reconciled_slot: slot })
        .where("id", "=", runId)
        .where("status", "=", "scheduled")
        .executeTakeFirst();
      return res.numUpdatedRows === 1n;
    },
  };
}

export type RevenueLedgerRepository = ReturnType<typeof createRevenueLedgerRepository>;
