/**
 * Backfill: every UserStake of the pool, streamed from getProgramAccounts at or after `minContextSlot`
 * (the slot recorded once the live feed was subscribed). Each account is staged as it arrives (bulk-write.ts:
 * decoded into its staging row at once) and every `batchSize` accounts the batch is written. Staging runs up
 * to `readAhead` batches ahead of the writes, so the node keeps producing while Postgres works; at most
 * maxInFlight + readAhead staged batches and one being read exist at a time, so memory does not depend on how
 * many accounts there are.
 */
import type { Commitment } from "../src/config.ts";
import { RpcCallError } from "./errors.ts";
import type { RpcClient } from "./rpc-client.ts";
import type { SourcedRead } from "./write-path.ts";
import { userStakeFilters, type PoolTarget } from "./stake-accounts.ts";
import type { BackfillProgress } from "./backfill-progress.ts";
import type { StagedBatch, Staging } from "./bulk-write.ts";

/**
 * Accounts the response scanner hands over at a time: small, so that the parsed objects of one hand-over are
 * staged and dead within a young-generation collection instead of being promoted while a batch fills.
 */
const READ_BATCH = 256;

export interface BackfillOptions {
  rpc: RpcClient;
  target: PoolTarget;
  commitment: Commitment;
  minContextSlot?: bigint;
  /** Accounts per write. */
  batchSize: number;
  /** Batches being written at once (the write queue's concurrency). */
  maxInFlight: number;
  /** Batches staged and waiting for a write slot. */
  readAhead: number;
  /** Where accounts are staged (one batch at a time). */
  staging: Staging;
  /** Writes one staged batch (through the bulk write path). */
  write(batch: StagedBatch): Promise<unknown>;
  signal?: AbortSignal;
  /** Told after each batch is handed to the writes (accounts so far, elapsed time), and once at the end. */
  onProgress?: { (p: BackfillProgress): void; done?(p: BackfillProgress): void };
  /** Accounts expected, when known (progress shows a percentage). */
  expectedAccounts?: number;
}

export interface BackfillResult {
  /** Context slot of the snapshot. */
  slot: bigint;
  accounts: number;
}

export async function runBackfill(o: BackfillOptions): Promise<BackfillResult> {
  let slot: bigint | null = null;
  let accounts = 0;
  const started = Date.now();
  const progress = (): BackfillProgress => ({
    accounts,
    elapsedMs: Date.now() - started,
    slot: slot ?? 0n,
    ...(o.expectedAccounts !== undefined ? { total: o.expectedAccounts } : {}),
  });
  const inFlight: Promise<unknown>[] = [];
  const flush = async () => {
    if (o.staging.size === 0) return;
    // Keep staging while earlier batches are written; past the bound, wait for the oldest write.
    if (inFlight.length >= Math.max(1, o.maxInFlight + o.readAhead)) await inFlight.shift();
    const write = o.write(o.staging.take());
    // Surfaced at its own await; until then it must not count as an unhandled rejection.
    write.catch(() => undefined);
    inFlight.push(write);
    o.onProgress?.(progress());
  };
  try {
    const stream = o.rpc.streamProgramAccounts(
      o.target.programId,
      {
        commitment: o.commitment,
        filters: userStakeFilters(o.target.pool),
        ...(o.minContextSlot !== undefined ? { minContextSlot: o.minContextSlot } : {}),
        batchSize: Math.min(READ_BATCH, o.batchSize),
      },
      o.signal,
    );
    for await (const batch of stream) {
      slot = batch.slot;
      for (const a of batch.accounts) o.staging.add({ address: a.address, slot: batch.slot, account: a.account, commitment: o.commitment });
      accounts += batch.accounts.length;
      if (o.staging.size >= o.batchSize) await flush();
    }
    while (o.staging.size > 0) await flush();
    for (const write of inFlight.splice(0)) await write;
  } catch (err) {
    // Do not leave writes running behind a failed stream.
    await Promise.allSettled(inFlight);
    o.staging.take();
    throw err;
  }
  if (slot === null) throw new Error("getProgramAccounts stream ended without a context slot");
  o.onProgress?.done?.(progress());
  return { slot, accounts };
}

/** getProgramAccountsV2 page size (Helius's maximum). */
export const INCREMENTAL_PAGE = 10_000;
/** JSON-RPC "method not found": the endpoint has no getProgramAccountsV2. */
const METHOD_NOT_FOUND = -32601;

export interface IncrementalOptions {
  rpc: RpcClient;
  target: PoolTarget;
  commitment: Commitment;
  /** Every change at or after this slot is fetched. */
  changedSinceSlot: bigint;
  minContextSlot?: bigint;
  apply(reads: SourcedRead[]): Promise<unknown>;
  signal?: AbortSignal;
}

interface V2Page {
  accounts: { pubkey: string; account: { data: [string, string]; lamports: number; owner: string } }[];
  paginationKey: string | null;
}

/** Whether the endpoint lacks getProgramAccountsV2 (a plain validator): the caller falls back to a full backfill. */
export function isUnsupportedMethod(err: unknown): boolean {
  return err instanceof RpcCallError && err.rpcCode === METHOD_NOT_FOUND;
}

/**
 * An incremental resync: only the UserStakes of the pool changed at or after `changedSinceSlot`, paged with
 * Helius's getProgramAccountsV2 (`changedSinceSlot`, `limit`, `paginationKey`), each page applied through the
 * write path at its context slot. Closed accounts are not returned by the method: the periodic full
 * reconciliation closes their rows.
 */
export async function runIncrementalResync(o: IncrementalOptions): Promise<BackfillResult> {
  const method = "getProgramAccountsV2";
  let paginationKey: string | null = null;
  let slot: bigint | null = null;
  let accounts = 0;
  do {
    const config: Record<string, unknown> = {
      commitment: o.commitment,
      encoding: "base64",
      withContext: true,
      filters: userStakeFilters(o.target.pool),
      limit: INCREMENTAL_PAGE,
      changedSinceSlot: Number(o.changedSinceSlot),
      ...(o.minContextSlot !== undefined ? { minContextSlot: Number(o.minContextSlot) } : {}),
      ...(paginationKey !== null ? { paginationKey } : {}),
    };
    const result = await o.rpc.call<{ context?: { slot: number }; value?: V2Page } & Partial<V2Page>>(method, [o.target.programId, config], o.signal);
    const page = result.value ?? (result as V2Page);
    if (!result.context || !Array.isArray(page.accounts)) {
      throw new RpcCallError(method, "response has no context slot or no accounts", { code: null, retryable: false });
    }
    const pageSlot = BigInt(result.context.slot);
    if (slot === null || pageSlot > slot) slot = pageSlot;
    const reads: SourcedRead[] = page.accounts.map((a) => {
      if (!Array.isArray(a.account.data) || a.account.data[1] !== "base64") {
        throw new RpcCallError(method, "account data is not base64-encoded", { code: null, retryable: false });
      }
      return {
        address: a.pubkey,
        slot: pageSlot,
        account: { owner: a.account.owner, lamports: BigInt(a.account.lamports), data: Buffer.from(a.account.data[0], "base64") },
        commitment: o.commitment,
      };
    });
    accounts += reads.length;
    if (reads.length > 0) await o.apply(reads);
    paginationKey = typeof page.paginationKey === "string" ? page.paginationKey : null;
  } while (paginationKey !== null);
  return { slot: slot!, accounts };
}
