/** `claim_rewards()` (instructions/claim_rewards.rs). Line numbers are the `require!` sites in that file. */
import { orFail, requireThat } from "../anchor-errors.ts";
import { emitClaimRewards } from "../events.ts";
import { apyFor, calculateRewards, checkedAddU64, inI64 } from "../math.ts";
import { kamiyo } from "../rust-format.ts";
import { persist, serializeStakePool, serializeUserStake } from "../state.ts";
import { transferCpi } from "../token.ts";
import {
  AccountCursor,
  checkHolderTokenAccount,
  checkMut,
  checkSeeds,
  checkUserStake,
  checkVault,
  pdaSeeds,
  stakePoolSigner,
  type Env,
} from "../validation.ts";

const FILE = "programs/kamiyo-staking/src/instructions/claim_rewards.rs";

export function claimRewards(env: Env): void {
  const { ctx } = env;
  const accounts = new AccountCursor(env);
  const user = accounts.signer("user");
  const stakePool = accounts.programAccount("stake_pool", "StakePool");
  const userStake = accounts.programAccount("user_stake", "UserStake");
  const userTokenAccount = accounts.tokenAccount("user_token_account");
  const rewardVault = accounts.tokenAccount("reward_vault");
  const mint = accounts.mint("mint");
  const tokenProgram = accounts.tokenProgram("token_program");

  checkMut("user", user);
  checkSeeds(env, "stake_pool", stakePool.key, pdaSeeds("stake_pool", mint.key), stakePool.value.bump);
  checkMut("stake_pool", stakePool.meta);
  checkUserStake(env, userStake, stakePool.key, user.pubkey);
  checkHolderTokenAccount("user_token_account", userTokenAccount, mint.key, user.pubkey);
  checkVault(env, "reward_vault", rewardVault, stakePool.key, stakePool.value.rewardVaultBump, stakePool.value.rewardVault);

  const pool = stakePool.value;
  const position = { ...userStake.value };
  const now = ctx.now();

  requireThat(pool.isActive, "PoolInactive", FILE, 63);
  requireThat(position.stakedAmount > 0n, "NoTokensStaked", FILE, 64);
  const elapsed = orFail(inI64(now - position.lastClaimTimestamp), "CalculationUnderflow");
  requireThat(elapsed >= 0n, "InvalidTimestamp", FILE, 72);

  const newRewards = calculateRewards(position.stakedAmount, apyFor(pool, position.tier), elapsed);
  if (newRewards > 0n) {
    position.totalRewardsEarned = orFail(checkedAddU64(position.totalRewardsEarned, newRewards), "MathOverflow");
  }
  // `unclaimed_rewards` is a saturating subtraction.
  const claimable =
    position.totalRewardsEarned > position.rewardsClaimed ? position.totalRewardsEarned - position.rewardsClaimed : 0n;
  requireThat(claimable > 0n, "NoRewardsToClaim", FILE, 91);
  requireThat(rewardVault.value.amount >= claimable, "InsufficientRewardFunds", FILE, 94);

  const signer = stakePoolSigner(env, pool.mint, pool.bump);
  transferCpi(ctx, tokenProgram.pubkey, rewardVault.key, userTokenAccount.key, stakePool.key, claimable, [signer]);

  position.rewardsClaimed = orFail(checkedAddU64(position.rewardsClaimed, claimable), "MathOverflow");
  position.lastClaimTimestamp = now;

  emitClaimRewards(ctx, { user: user.pubkey, amount: claimable, totalClaimed: position.rewardsClaimed, timestamp: now });
  ctx.log(`Claimed ${kamiyo(claimable)} KAMIYO in rewards`);
  ctx.log(`Total rewards claimed lifetime: ${kamiyo(position.rewardsClaimed)} KAMIYO`);

  // The pool is declared `mut` but its value is unchanged, so exit() rewrites identical bytes.
  persist(ctx, stakePool.key, serializeStakePool(pool));
  persist(ctx, userStake.key, serializeUserStake(position));
}
