/** Rows the indexer would write, put in directly so route tests control every field. */
import { Keypair } from "@solana/web3.js";
import type { Kysely } from "kysely";
import type { IndexerStatusSnapshot } from "../../indexer/contracts.ts";
import type { Database } from "../../src/db/schema.ts";
import { stakePoolPda } from "../../src/solana/program.ts";
import type { Config } from "../../src/config.ts";

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

export async function insertStake(db: Kysely<Database>, r: StakeRow): Promise<string> {
  const cooldown = r.cooldown ?? 0n;
  const cooldownEnd = r.cooldownEnd ?? null;
  const effective = r.closed ? 0n : cooldownEnd === null ? r.staked : r.staked - cooldown;
  const address = r.address ?? randomAddress();
  await db
    .insertInto("stakes")
    .values({
      address,
      owner: r.owner,
      pool: r.pool,
      staked_amount: r.staked,
      cooldown_amount: cooldown,
      cooldown_end: cooldownEnd,
      effective_stake: effective,
      // Deliberately not what the configured tiers give: the API must derive the tier itself.
      discount_tier: "stored-tier",
      discount_bps: 1,
      program_tier: 0,
      slot: r.slot,
      commitment: "confirmed",
      closed: r.closed ?? false,
    })
    .execute();
  return address;
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
