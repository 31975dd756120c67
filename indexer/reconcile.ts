/**
 * Reconciliation: diff a chain snapshot (getProgramAccounts, streamed) against `stakes` and repair through
 * the write path. Drift is counted as
 *  - missing: a UserStake on chain with no row;
 *  - differing: a row whose state is not the chain's, although the row is not newer than the snapshot;
 *  - extra: a live row (slot not newer than the snapshot) whose account is not in the snapshot; it is re-read
 *    and, being gone, closed (stake 0).
 * Rows newer than the snapshot are left alone: the live feed got there first. Memory stays bounded: the
 * snapshot is compared batch by batch, and the addresses seen are kept in a temporary table, not in memory.
 */
import type pg from "pg";
import type { Commitment } from "../src/config.ts";
import type { RpcClient } from "./rpc-client.ts";
import { toStakeChange, userStakeFilters, type PoolTarget } from "./stake-accounts.ts";
import type { SourcedRead } from "./write-path.ts";
import { StoppedError } from "./errors.ts";

export interface ReconcileOptions {
  rpc: RpcClient;
  pool: pg.Pool;
  target: PoolTarget;
  commitment: Commitment;
  batchSize: number;
  apply(reads: SourcedRead[]): Promise<unknown>;
  signal?: AbortSignal;
}

export interface ReconcileReport {
  slot: bigint;
  chainAccounts: number;
  missing: number;
  differing: number;
  extra: number;
  /** missing + differing + extra */
  drift: number;
}

interface StoredRow {
  address: string;
  owner: string;
  staked_amount: string;
  cooldown_amount: string;
  cooldown_end: string | null;
  effective_stake: string;
  discount_tier: string;
  program_tier: number;
  slot: string;
  closed: boolean;
}

const EXTRA_PAGE = 1000;

export async function runReconcile(o: ReconcileOptions): Promise<ReconcileReport> {
  const client = await o.pool.connect();
  const report: ReconcileReport = { slot: 0n, chainAccounts: 0, missing: 0, differing: 0, extra: 0, drift: 0 };
  try {
    await client.query("CREATE TEMP TABLE IF NOT EXISTS reconcile_seen (address text PRIMARY KEY)");
    await client.query("TRUNCATE reconcile_seen");
    let snapshotSlot: bigint | null = null;
    const stream = o.rpc.streamProgramAccounts(
      o.target.programId,
      { commitment: o.commitment, filters: userStakeFilters(o.target.pool), batchSize: o.batchSize },
      o.signal,
    );
    for await (const batch of stream) {
      snapshotSlot = batch.slot;
      if (batch.accounts.length === 0) continue;
      report.chainAccounts += batch.accounts.length;
      const addresses = batch.accounts.map((a) => a.address);
      await client.query("INSERT INTO reconcile_seen SELECT unnest($1::text[]) ON CONFLICT DO NOTHING", [addresses]);
      const stored = await client.query<StoredRow>(
        `SELECT address, owner, staked_amount::text, cooldown_amount::text, cooldown_end::text, effective_stake::text,
                discount_tier, program_tier, slot::text, closed
         FROM stakes WHERE address = ANY($1::text[])`,
        [addresses],
      );
      const byAddress = new Map(stored.rows.map((r) => [r.address, r]));
      const repairs: SourcedRead[] = [];
      for (const { address, account } of batch.accounts) {
        const read: SourcedRead = { address, slot: batch.slot, account, commitment: o.commitment };
        const change = toStakeChange(read, o.target, o.commitment);
        if (change.kind !== "live") continue;
        const row = byAddress.get(address);
        if (!row) {
          report.missing++;
          repairs.push(read);
          continue;
        }
        if (BigInt(row.slot) > batch.slot) continue;
        const same =
          !row.closed &&
          row.owner === change.owner &&
          BigInt(row.staked_amount) === change.stakedAmount &&
          BigInt(row.cooldown_amount) === change.cooldownAmount &&
          (row.cooldown_end === null ? null : BigInt(row.cooldown_end)) === change.cooldownEnd &&
          BigInt(row.effective_stake) === change.effectiveStake &&
          row.discount_tier === change.tier.name &&
          row.program_tier === change.programTier;
        if (!same) {
          report.differing++;
          repairs.push(read);
        }
      }
      if (repairs.length > 0) await o.apply(repairs);
    }
    if (snapshotSlot === null) throw new Error("getProgramAccounts stream ended without a context slot");
    report.slot = snapshotSlot;

    // Rows the snapshot does not have. Re-read rather than assume: the account may exist and have changed
    // into something else, or have come back after the snapshot.
    let after = "";
    for (;;) {
      if (o.signal?.aborted) throw new StoppedError();
      const extra = await client.query<{ address: string }>(
        `SELECT s.address FROM stakes s
         WHERE s.pool = $1 AND NOT s.closed AND s.slot <= $2 AND s.address > $3
           AND NOT EXISTS (SELECT 1 FROM reconcile_seen r WHERE r.address = s.address)
         ORDER BY s.address LIMIT ${EXTRA_PAGE}`,
        [o.target.pool, snapshotSlot.toString(), after],
      );
      if (extra.rows.length === 0) break;
      report.extra += extra.rows.length;
      after = extra.rows[extra.rows.length - 1]!.address;
      const reads = await o.rpc.getMultipleAccounts(
        extra.rows.map((r) => r.address),
        { commitment: o.commitment, minContextSlot: snapshotSlot },
        o.signal,
      );
      await o.apply(reads.map((r) => ({ ...r, commitment: o.commitment })));
      if (extra.rows.length < EXTRA_PAGE) break;
    }
    report.drift = report.missing + report.differing + report.extra;
    return report;
  } finally {
    try {
      await client.query("DROP TABLE IF EXISTS reconcile_seen");
      client.release();
    } catch (err) {
      // A connection that cannot even drop its temp table is not given back to the pool.
      client.release(err instanceof Error ? err : true);
    }
  }
}
