/** What the indexer would have written, for route tests: stakes through its write path, its status snapshot. */
import { Keypair } from "@solana/web3.js";
import type { Kysely } from "kysely";
import type { IndexerStatusSnapshot } from "../../indexer/contracts.ts";
import type { Database } from "../../src/db/schema.ts";
import { stakePoolPda } from "../../src/solana/program.ts";
import { STAKING_PROGRAM_PLACEHOLDER_ID, type Config } from "../../src/config.ts";
import type { DiscountTier } from "../../src/domain/tiers.ts";
import { createStakeSeeder } from "../kit/stakes.ts";

export const KAMIYO = 10n ** 9n;

export const randomAddress = () => Keypair.generate().publicKey.toBase58();

export function configuredPool(config: Config): string {
  return stakePoolPda(config.solana.programId, config.solana.kamiyoMint)[0].toBase58();
}

export interface StakeRow {
  owner: string;
  pool: string;
  staked: bigint;
  cooldown?: bigint;
  cooldownEnd?: bigint | null;
  slot: bigint;
  closed?: boolean;
  address?: string;
}

/**
 * The tier table the stakes are written with: deliberately not what the configured tiers give (every row says
 * "stored-tier", 1 bps), so a route that answers the configured tier shows it derives the tier itself.
 */
const STORED_TIERS: readonly DiscountTier[] = [{ name: "stored-tier", minStake: 0n, discountBps: 1, priority: "standard" }];

/** Writes the stake through the indexer's write path; resolves with its account address. */
export async function insertStake(db: Kysely<Database>, r: StakeRow): Promise<string> {
  const seeder = createStakeSeeder({ db, programId: STAKING_PROGRAM_PLACEHOLDER_ID, tiers: STORED_TIERS });
  const { addresses } = await seeder.put(r);
  return addresses[0]!;
}

export function snapshot(overrides: Partial<IndexerStatusSnapshot> = {}): IndexerStatusSnapshot {
  return {
    backfillCompletedAt: null,
    backfillSlot: null,
    lastSlotBySource: {},
    chainSlot: null,
    lastEventAt: null,
    reconnects: 0,
    reconciliationDrift: 0,
    lastReconciliationAt: null,
    updatedAt: new Date().toISOString(),
    ...overrides,
  };
}

export async function writeStatus(db: Kysely<Database>, s: IndexerStatusSnapshot): Promise<void> {
  const value = JSON.stringify(s);
  await db
    .insertInto("indexer_state")
    .values({ key: "status", value })
    .onConflict((oc) => oc.column("key").doUpdateSet({ value, updated_at: new Date() }))
    .execute();
}
