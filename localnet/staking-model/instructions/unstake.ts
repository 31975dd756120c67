/** `unstake(amount)` (instructions/unstake.rs). Line numbers are the `require!` sites in that file. */
import { orFail, requireThat } from "../anchor-errors.ts";
import { u64Arg, type RawArgs } from "../args.ts";
import { emitUnstake } from "../events.ts";
import { checkedSubU64, inI64, tierOf } from "../math.ts";
import { days, kamiyo } from "../rust-format.ts";
import { persist, serializeUserStake } from "../state.ts";
import { AccountCursor, checkMut, checkSeeds, checkUserStake, pdaSeeds, type Env } from "../validation.ts";

const FILE = "programs/kamiyo-staking/src/instructions/unstake.rs";

export function unstake(env: Env, args: RawArgs): void {
  const amount = u64Arg(args, "amount");
  const { ctx } = env;
  const accounts = new AccountCursor(env);
  const user = accounts.signer("user");
  const stakePool = accounts.programAccount("stake_pool", "StakePool");
  const userStake = accounts.programAccount("user_stake", "UserStake");

  checkMut("user", user);
  checkSeeds(env, "stake_pool", stakePool.key, pdaSeeds("stake_pool", stakePool.value.mint), stakePool.value.bump);
  checkUserStake(env, userStake, stakePool.key, user.pubkey);

  const pool = stakePool.value;
  const position = { ...userStake.value };
  const now = ctx.now();

  requireThat(amount > 0n, "InvalidAmount", FILE, 39);
  requireThat(position.stakedAmount >= amount, "InsufficientStake", FILE, 40);
  requireThat(position.cooldownEnd === null, "CooldownAlreadyActive", FILE, 41);

  const cooldownEnd = orFail(inI64(now + pool.cooldownPeriod), "MathOverflow");
  position.cooldownEnd = cooldownEnd;
  position.cooldownAmount = amount;
  const activeStake = orFail(checkedSubU64(position.stakedAmount, amount), "CalculationUnderflow");
  const oldTier = position.tier;
  position.tier = tierOf(activeStake);

  emitUnstake(ctx, { user: user.pubkey, amount, cooldownEnd, oldTier, newTier: position.tier, timestamp: now });
  ctx.log(`Initiated unstake of ${kamiyo(amount)} KAMIYO`);
  ctx.log(`Cooldown ends at: ${cooldownEnd} (Unix timestamp)`);
  ctx.log(`Tier downgraded from ${oldTier} to ${position.tier}`);
  ctx.log(`You can withdraw after ${days(pool.cooldownPeriod)} days`);

  persist(ctx, userStake.key, serializeUserStake(position));
}
