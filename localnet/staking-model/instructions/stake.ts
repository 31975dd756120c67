/** `stake(amount)` (instructions/stake.rs). Line numbers are the `require!` sites in that file. */
import { USER_STAKE_SIZE } from "../../../src/solana/program.ts";
import { orFail, requireThat } from "../anchor-errors.ts";
import { u64Arg, type RawArgs } from "../args.ts";
import { emitStake } from "../events.ts";
import { initProgramAccount } from "../init.ts";
import { apyFor, calculateRewards, checkedAddU64, tierOf } from "../math.ts";
import { kamiyo, percent } from "../rust-format.ts";
import { persist, serializeStakePool, serializeUserStake } from "../state.ts";
import { transferCpi } from "../token.ts";
import {
  AccountCursor,
  checkHolderTokenAccount,
  checkInitSeeds,
  checkMut,
  checkRentExempt,
  checkSeeds,
  checkVault,
  pdaSeeds,
  type Env,
} from "../validation.ts";

const FILE = "programs/kamiyo-staking/src/instructions/stake.rs";

export function stake(env: Env, args: RawArgs): void {
  const amount = u64Arg(args, "amount");
  const { ctx } = env;
  const accounts = new AccountCursor(env);
  const user = accounts.signer("user");
  const stakePool = accounts.programAccount("stake_pool", "StakePool");
  const userStakeMeta = accounts.take(null);
  const userTokenAccount = accounts.tokenAccount("user_token_account");
  const stakeVault = accounts.tokenAccount("stake_vault");
  const mint = accounts.mint("mint");
  const tokenProgram = accounts.tokenProgram("token_program");
  accounts.systemProgram("system_program");

  const userStakeKey = userStakeMeta.pubkey;
  const userStakeBump = checkInitSeeds(env, "user_stake", userStakeKey, pdaSeeds("user_stake", stakePool.key, user.pubkey));
  const loadedUserStake = initProgramAccount(env, {
    field: "user_stake",
    kind: "UserStake",
    key: userStakeKey,
    payer: user.pubkey,
    space: USER_STAKE_SIZE,
    ifNeeded: true,
  });
  checkMut("user_stake", userStakeMeta);
  checkRentExempt(env, "user_stake", userStakeKey);

  checkMut("user", user);
  checkSeeds(env, "stake_pool", stakePool.key, pdaSeeds("stake_pool", mint.key), stakePool.value.bump);
  checkMut("stake_pool", stakePool.meta);
  checkHolderTokenAccount("user_token_account", userTokenAccount, mint.key, user.pubkey);
  checkVault(env, "stake_vault", stakeVault, stakePool.key, stakePool.value.stakeVaultBump, stakePool.value.stakeVault);

  const pool = { ...stakePool.value };
  const position = { ...loadedUserStake };
  const now = ctx.now();

  requireThat(pool.isActive, "PoolInactive", FILE, 68);
  requireThat(amount > 0n, "InvalidAmount", FILE, 69);
  requireThat(amount >= pool.minStakeAmount, "BelowMinimumStake", FILE, 70);
  requireThat(position.cooldownEnd === null, "CannotStakeDuringCooldown", FILE, 71);
  requireThat(userTokenAccount.value.amount >= amount, "InsufficientTokenBalance", FILE, 74);

  if (position.stakedAmount === 0n) {
    position.owner = user.pubkey;
    position.pool = stakePool.key;
    position.stakedAmount = 0n;
    position.totalRewardsEarned = 0n;
    position.rewardsClaimed = 0n;
    position.stakeTimestamp = now;
    position.lastClaimTimestamp = now;
    position.tier = tierOf(0n);
    position.rewardDebt = 0n;
    position.cooldownEnd = null;
    position.cooldownAmount = 0n;
    position.bump = userStakeBump;
    pool.totalStakers = orFail(checkedAddU64(pool.totalStakers, 1n), "MathOverflow");
  } else {
    // Both timestamps come from the clock, so the i64 difference cannot overflow.
    const elapsed = now - position.lastClaimTimestamp;
    if (elapsed > 0n && position.stakedAmount > 0n) {
      const pending = calculateRewards(position.stakedAmount, apyFor(pool, position.tier), elapsed);
      if (pending > 0n) {
        position.totalRewardsEarned = orFail(checkedAddU64(position.totalRewardsEarned, pending), "MathOverflow");
        ctx.log(`Accrued ${kamiyo(pending)} KAMIYO in rewards before staking`);
      }
      position.lastClaimTimestamp = now;
    }
  }

  transferCpi(ctx, tokenProgram.pubkey, userTokenAccount.key, stakeVault.key, user.pubkey, amount);

  position.stakedAmount = orFail(checkedAddU64(position.stakedAmount, amount), "MathOverflow");
  const oldTier = position.tier;
  position.tier = tierOf(position.stakedAmount);
  pool.totalStaked = orFail(checkedAddU64(pool.totalStaked, amount), "MathOverflow");
  pool.lastUpdateTimestamp = now;

  emitStake(ctx, {
    user: user.pubkey,
    amount,
    totalStaked: position.stakedAmount,
    tier: position.tier,
    oldTier,
    timestamp: now,
  });
  ctx.log(`Staked ${kamiyo(amount)} KAMIYO`);
  ctx.log(`Total staked: ${kamiyo(position.stakedAmount)} KAMIYO`);
  ctx.log(`Tier: ${position.tier}`);
  ctx.log(`APY: ${percent(apyFor(pool, position.tier))}%`);

  persist(ctx, stakePool.key, serializeStakePool(pool));
  persist(ctx, userStakeKey, serializeUserStake(position));
}
