/** Building UserStake accounts and reads for tests, encoded by Anchor's coder as the program writes them. */
import { loadLocalnetConfig } from "../../../localnet/demo-env.ts";
import { Keypair } from "@solana/web3.js";
import { type Config } from "../../../src/config.ts";
import { encodeUserStake, type ProgramTier } from "../../../src/solana/accounts.ts";
import { poolTarget, type PoolTarget } from "../../../indexer/stake-accounts.ts";
import type { RawAccount } from "../../../indexer/rpc-client.ts";
import type { SourcedRead } from "../../../indexer/write-path.ts";

export const KAMIYO = 10n ** 9n;

export function testConfig(env: Record<string, string> = {}): Config {
  return loadLocalnetConfig({ LOG_LEVEL: "silent", ...env });
}

export function testTarget(config: Config = testConfig()): PoolTarget {
  return poolTarget(config);
}

export interface StakeFields {
  owner?: string;
  pool: string;
  staked: bigint;
  cooldownAmount?: bigint;
  cooldownEnd?: bigint | null;
  tier?: ProgramTier;
}

export async function userStakeAccount(programId: string, f: StakeFields): Promise<RawAccount> {
  const data = await encodeUserStake({
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

export function read(address: string, slot: bigint, account: RawAccount | null, signature?: string): SourcedRead {
  return { address, slot, account, commitment: "confirmed", signature: signature ?? null };
}

export const randomAddress = () => Keypair.generate().publicKey.toBase58();
