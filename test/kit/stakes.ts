/**
 * The one way a test puts stakes into Postgres: as UserStake accounts, encoded as the program writes them,
 * applied by the indexer's own write path. Rows, stake_events and the NOTIFY are therefore exactly what the
 * indexer would produce (effective stake, tier, "closed means zero", the slot guard), never hand-built.
 */
import { Keypair } from "@solana/web3.js";
import type { Kysely } from "kysely";
import { pino } from "pino";
import type { RawAccount } from "../../indexer/rpc-client.ts";
import { createWritePath, type SourcedRead } from "../../indexer/write-path.ts";
import type { Database, StakeEventSource } from "../../src/db/schema.ts";
import type { DiscountTier } from "../../src/domain/tiers.ts";
import { encodeUserStake, type ProgramTier } from "../../src/solana/accounts.ts";
import { userStakePda } from "../../src/solana/program.ts";

export interface UserStakeFields {
  owner?: string;
  pool: string;
  staked: bigint;
  cooldownAmount?: bigint;
  cooldownEnd?: bigint | null;
  tier?: ProgramTier;
}

/** A UserStake account owned by `programId`, as getAccountInfo would return it. */
export async function userStakeAccount(programId: string, f: UserStakeFields): Promise<RawAccount> {
  const data = encodeUserStake({
    owner: f.owner ?? Keypair.generate().publicKey.toBase58(),
    pool: f.pool,
    stakedAmount: f.staked,
    totalRewardsEarned: 0n,
    rewardsClaimed: 0n,
    stakeTimestamp: 1_700_000_000n,
    lastClaimTimestamp: 1_700_000_000n,
    tier: f.tier ?? "Free",
    rewardDebt: 0n,
    cooldownEnd: f.cooldownEnd ?? null,
    cooldownAmount: f.cooldownAmount ?? 0n,
    bump: 255,
  });
  return { owner: programId, lamports: 2_000_000n, data };
}

export interface SeedStake {
  owner: string;
  pool: string;
  staked: bigint;
  cooldown?: bigint;
  cooldownEnd?: bigint | null;
  /** The slot the account is read at. */
  slot: bigint;
  /** The account is gone at `slot`; it is first written live (with `staked`) at `slot - 1`. */
  closed?: boolean;
  /** Default: the owner's UserStake PDA in `pool`. */
  address?: string;
}

export interface SeedResult {
  /** One per stake, in order. */
  addresses: string[];
  /** Reads the write path applied and refused (an older or equal slot than the row it has is refused). */
  applied: number;
  refused: number;
}

export interface StakeSeeder {
  put(...stakes: SeedStake[]): Promise<SeedResult>;
}

export function createStakeSeeder(o: {
  db: Kysely<Database>;
  programId: string;
  /** The tier table the "indexer" writes with; readers that derive the tier themselves may be given another. */
  tiers: readonly DiscountTier[];
  source?: StakeEventSource;
}): StakeSeeder {
  const logger = pino({ level: "silent" });
  const source = o.source ?? "backfill";
  // The write path serves one pool; stakes of other pools go through a write path of their own.
  const writers = new Map<string, ReturnType<typeof createWritePath>>();
  const writerFor = (pool: string) => {
    let w = writers.get(pool);
    if (!w) writers.set(pool, (w = createWritePath({ db: o.db, target: { programId: o.programId, pool, tiers: o.tiers }, logger })));
    return w;
  };
  const read = (address: string, slot: bigint, account: RawAccount | null): SourcedRead => ({ address, slot, account, commitment: "confirmed", signature: null });

  return {
    async put(...stakes) {
      const out: SeedResult = { addresses: [], applied: 0, refused: 0 };
      for (const s of stakes) {
        const address = s.address ?? userStakePda(o.programId, s.pool, s.owner)[0].toBase58();
        out.addresses.push(address);
        const account = await userStakeAccount(o.programId, {
          owner: s.owner,
          pool: s.pool,
          staked: s.staked,
          cooldownAmount: s.cooldown ?? 0n,
          cooldownEnd: s.cooldownEnd ?? null,
        });
        const reads = s.closed ? [read(address, s.slot - 1n, account), read(address, s.slot, null)] : [read(address, s.slot, account)];
        // One read per call: the write path keeps only the newest read per address within a call.
        for (const r of reads) {
          const result = await writerFor(s.pool).apply([r], source);
          out.applied += result.applied;
          out.refused += result.refused;
        }
      }
      return out;
    },
  };
}
