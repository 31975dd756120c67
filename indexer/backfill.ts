/**
 * Backfill: every UserStake of the pool, streamed from getProgramAccounts at or after `minContextSlot`
 * (the slot recorded once the live feed was subscribed), applied batch by batch. Reading runs up to
 * `readAhead` batches ahead of the writes, so the node keeps producing while Postgres works; at most
 * maxInFlight + readAhead + 1 batches exist at a time, so memory does not depend on how many accounts
 * there are.
 */
import type { Commitment } from "../src/config.ts";
import type { RpcClient } from "./rpc-client.ts";
import type { SourcedRead } from "./write-path.ts";
import { userStakeFilters, type PoolTarget } from "./stake-accounts.ts";

export interface BackfillOptions {
  rpc: RpcClient;
  target: PoolTarget;
  commitment: Commitment;
  minContextSlot?: bigint;
  batchSize: number;
  /** Batches being written at once (the write queue's concurrency). */
  maxInFlight: number;
  /** Batches read and waiting for a write slot. */
  readAhead: number;
  /** Applies one batch (through the write path). */
  apply(reads: SourcedRead[]): Promise<unknown>;
  signal?: AbortSignal;
}

export interface BackfillResult {
  /** Context slot of the snapshot. */
  slot: bigint;
  accounts: number;
}

export async function runBackfill(o: BackfillOptions): Promise<BackfillResult> {
  let slot: bigint | null = null;
  let accounts = 0;
  const inFlight: Promise<unknown>[] = [];
  try {
    const stream = o.rpc.streamProgramAccounts(
      o.target.programId,
      {
        commitment: o.commitment,
        filters: userStakeFilters(o.target.pool),
        ...(o.minContextSlot !== undefined ? { minContextSlot: o.minContextSlot } : {}),
        batchSize: o.batchSize,
      },
      o.signal,
    );
    for await (const batch of stream) {
      slot = batch.slot;
      if (batch.accounts.length === 0) continue;
      accounts += batch.accounts.length;
      const reads: SourcedRead[] = batch.accounts.map((a) => ({
        address: a.address,
        slot: batch.slot,
        account: a.account,
        commitment: o.commitment,
      }));
      // Keep reading while earlier batches are written; past the bound, wait for the oldest write.
      if (inFlight.length >= Math.max(1, o.maxInFlight + o.readAhead)) await inFlight.shift();
      const write = o.apply(reads);
      // Surfaced at its own await; until then it must not count as an unhandled rejection.
      write.catch(() => undefined);
      inFlight.push(write);
    }
    for (const write of inFlight.splice(0)) await write;
  } catch (err) {
    // Do not leave writes running behind a failed stream.
    await Promise.allSettled(inFlight);
    throw err;
  }
  if (slot === null) throw new Error("getProgramAccounts stream ended without a context slot");
  return { slot, accounts };
}
