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
import { openReconcileSession } from "../src/db/repositories/stakes-reconcile.ts";
import type { LiveStake } from "../src/db/repositories/stakes.ts";
import type { RpcClient } from "./rpc-client.ts";
import { toStakeChange, userStakeFilters, type PoolTarget } from "./stake-accounts.ts";
import type { SourcedRead } from "./write-path.ts";
import { StoppedError } from "../src/errors.ts";

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

const EXTRA_PAGE = 1000;

export async function runReconcile(o: ReconcileOptions): Promise<ReconcileReport> {
  const session = await openReconcileSession(o.pool);
  const report: ReconcileReport = { slot: 0n, chainAccounts: 0, missing: 0, differing: 0, extra: 0, drift: 0 };
  try {
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
      const reads: SourcedRead[] = batch.accounts.map(({ address, account }) => ({ address, slot: batch.slot, account, commitment: o.commitment }));
      const live: LiveStake[] = [];
      for (const read of reads) {
        const change = toStakeChange(read, o.target, o.commitment);
        if (change.kind === "live") live.push(change);
      }
      const drift = await session.compareBatch(batch.accounts.map((a) => a.address), live, batch.slot);
      report.missing += drift.missing.size;
      report.differing += drift.differing.size;
      const repairs = reads.filter((r) => drift.missing.has(r.address) || drift.differing.has(r.address));
      if (repairs.length > 0) await o.apply(repairs);
    }
    if (snapshotSlot === null) throw new Error("getProgramAccounts stream ended without a context slot");
    report.slot = snapshotSlot;

    // Rows the snapshot does not have. Re-read rather than assume: the account may exist and have changed
    // into something else, or have come back after the snapshot.
    let after = "";
    for (;;) {
      if (o.signal?.aborted) throw new StoppedError();
      const extra = await session.unseenPage(o.target.pool, snapshotSlot, after, EXTRA_PAGE);
      if (extra.length === 0) break;
      report.extra += extra.length;
      after = extra[extra.length - 1]!;
      const reads = await o.rpc.getMultipleAccounts(extra, { commitment: o.commitment, minContextSlot: snapshotSlot }, o.signal);
      await o.apply(reads.map((r) => ({ ...r, commitment: o.commitment })));
      if (extra.length < EXTRA_PAGE) break;
    }
    report.drift = report.missing + report.differing + report.extra;
    return report;
  } finally {
    await session.close();
  }
}
