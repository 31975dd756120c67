/**
 * What the API process calls: storing webhook deliveries, and re-reading one wallet's stake on demand.
 * resyncWallet writes through the same slot-guarded write path as the leader (a single row, so it cannot
 * deadlock with the leader's batches, and a stale answer cannot overwrite a newer row).
 */
import { PublicKey } from "@solana/web3.js";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Config } from "../src/config.ts";
import { tierFor } from "../src/domain/tiers.ts";
import { createTierTableRepository } from "../src/db/repositories/tier-table.ts";
import { isWalletAddress } from "../src/domain/wallet.ts";
import { createStakesRepository } from "../src/db/repositories/stakes.ts";
import type { Database } from "../src/db/schema.ts";
import { userStakePda } from "../src/solana/program.ts";
import type { IndexerApi } from "./contracts.ts";
import { InvalidWalletError } from "./errors.ts";
import { exponentialBackoff, withRetry } from "../src/retry.ts";
import { createRpcClient, type FetchLike, type RpcClient } from "./rpc-client.ts";
import { poolTarget } from "./stake-accounts.ts";
import { enqueueWebhookDelivery } from "./webhook-inbox.ts";
import { createWritePath } from "./write-path.ts";

export interface ResyncResult {
  /** The wallet's UserStake address. */
  address: string;
  /** Slot the stored row reflects (or of the read, when the wallet has no stake account). */
  slot: string;
  effectiveStake: string;
  tier: string;
}

export interface IndexerApiDeps {
  config: Config;
  db: Kysely<Database>;
  logger: Logger;
  /** Replaces global fetch for JSON-RPC. */
  fetch?: FetchLike;
  rpc?: RpcClient;
}

/** The wallet's public key, or an InvalidWalletError when the text is not a base58 32-byte key. */
export function parseWallet(wallet: string): PublicKey {
  // The API passes request text through; a non-string must be refused here, not crash the check.
  if (typeof wallet !== "string" || !isWalletAddress(wallet)) {
    throw new InvalidWalletError(`"${String(wallet).slice(0, 60)}" is not a base58 Solana address`);
  }
  return new PublicKey(wallet);
}

export function createIndexerApi(deps: IndexerApiDeps): IndexerApi & { resyncWallet(wallet: string): Promise<ResyncResult> } {
  const target = poolTarget(deps.config);
  const commitment = deps.config.solana.commitment;
  const rpc = deps.rpc ?? createRpcClient({ url: deps.config.solana.rpcUrl, ...(deps.fetch ? { fetch: deps.fetch } : {}) });
  const stakes = createStakesRepository(deps.db);
  const tierTable = createTierTableRepository(deps.db);

  async function resyncWallet(wallet: string): Promise<ResyncResult> {
    const owner = parseWallet(wallet);
    const address = userStakePda(target.programId, target.pool, owner)[0].toBase58();
    const reads = await withRetry(() => rpc.getMultipleAccounts([address], { commitment }), {
      attempts: 3,
      backoff: exponentialBackoff(100, 1_000),
    });
    const read = reads[0]!;
    // Tiers as the table in effect says (the indexer leader's), not this process's own DISCOUNT_TIERS.
    const tiers = (await tierTable.read()) ?? target.tiers;
    await createWritePath({ db: deps.db, target: { ...target, tiers }, logger: deps.logger }).apply([{ ...read, commitment }], "resync");
    const row = await stakes.findByAddress(address);
    if (!row) return { address, slot: read.slot.toString(), effectiveStake: "0", tier: tierFor(0n, tiers).name };
    return { address, slot: row.slot.toString(), effectiveStake: row.effective_stake.toString(), tier: row.discount_tier };
  }

  return { enqueueWebhookDelivery, resyncWallet };
}
