/**
 * What a raw account means for the `stakes` table. Decoding reads the fixed layout
 * (src/solana/user-stake-holdings.ts, checked against Anchor's coder); effective stake and tier come from
 * src/domain/tiers.ts with the configured table.
 */
import bs58 from "bs58";
import type { Commitment, Config } from "../src/config.ts";
import type { GoneStake, StakeChange } from "../src/db/repositories/stakes.ts";
import { CLOSED_HOLDINGS, effectiveStake, tierFor, type DiscountTier } from "../src/domain/tiers.ts";
import { isUserStakeData, type ProgramTier } from "../src/solana/accounts.ts";
import { readUserStakeHoldings, userStakeHoldingsError } from "../src/solana/user-stake-holdings.ts";
import { stakePoolPda, USER_STAKE_DISCRIMINATOR, USER_STAKE_SIZE } from "../src/solana/program.ts";
import type { AccountRead, ProgramAccountsFilter } from "./rpc-client.ts";

export type { GoneStake, LiveStake, StakeChange } from "../src/db/repositories/stakes.ts";

/** The pool whose user stakes are indexed. */
export interface PoolTarget {
  programId: string;
  pool: string;
  tiers: readonly DiscountTier[];
}

export function poolTarget(config: Config): PoolTarget {
  return {
    programId: config.solana.programId,
    pool: stakePoolPda(config.solana.programId, config.solana.kamiyoMint)[0].toBase58(),
    tiers: config.tiers,
  };
}

/** UserStake accounts of one pool: size, discriminator at 0, pool at 40 (the fixed-offset prefix). */
export function userStakeFilters(pool: string): ProgramAccountsFilter[] {
  return [
    { dataSize: USER_STAKE_SIZE },
    { memcmp: { offset: 0, bytes: bs58.encode(USER_STAKE_DISCRIMINATOR) } },
    { memcmp: { offset: 40, bytes: pool } },
  ];
}

/** The pools' keys as bytes (one pool per indexer; a handful in tests). */
const poolKeys = new Map<string, Uint8Array>();
function samePool(key: Uint8Array, pool: string): boolean {
  let bytes = poolKeys.get(pool);
  if (!bytes) poolKeys.set(pool, (bytes = bs58.decode(pool)));
  return Buffer.compare(key, bytes) === 0;
}

const PROGRAM_TIER_INDEX: Record<ProgramTier, number> = { Free: 0, Pro: 1, Team: 2, Enterprise: 3 };

export interface Undecodable {
  kind: "undecodable";
  address: string;
  reason: string;
}

export function toStakeChange(
  read: AccountRead,
  target: PoolTarget,
  commitment: Commitment,
  signature: string | null = null,
): StakeChange | Undecodable {
  const { address, slot, account } = read;
  const gone = (): GoneStake => ({
    kind: "gone",
    address,
    slot,
    commitment,
    signature,
    tier: tierFor(CLOSED_HOLDINGS.effectiveStake, target.tiers),
  });
  if (!account || account.lamports === 0n || account.data.length === 0) return gone();
  if (account.owner !== target.programId || !isUserStakeData(account.data)) return gone();
  const decoded = readUserStakeHoldings(account.data);
  if (!decoded) return { kind: "undecodable", address, reason: `UserStake does not decode: ${userStakeHoldingsError(account.data)}` };
  if (!samePool(decoded.poolKey, target.pool)) return gone();
  const effective = effectiveStake(decoded);
  return {
    kind: "live",
    address,
    owner: decoded.owner,
    pool: target.pool,
    stakedAmount: decoded.stakedAmount,
    cooldownAmount: decoded.cooldownAmount,
    cooldownEnd: decoded.cooldownEnd,
    effectiveStake: effective,
    tier: tierFor(effective, target.tiers),
    programTier: PROGRAM_TIER_INDEX[decoded.tier],
    slot,
    commitment,
    signature,
  };
}
