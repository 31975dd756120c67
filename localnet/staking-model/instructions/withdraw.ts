/** `withdraw()` (instructions/withdraw.rs). Line numbers are the `require!` sites in that file. */
import { orFail, requireThat } from "../anchor-errors.ts";
import { emitWithdraw } from "../events.ts";
import { checkedSubU64 } from "../math.ts";
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

const FILE = "programs/kamiyo-staking/src/instructions/withdraw.rs";

export function withdraw(env: Env): void {
  const { ctx } = env;
  const accounts = new AccountCursor(env);
  const user = accounts.signer("user");
  const stakePool = accounts.programAccount("stake_pool", "StakePool");
  const userStake = accounts.programAccount("user_stake", "UserStake");
  const userTokenAccount = accounts.tokenAccount("user_token_account");
  const stakeVault = accounts.tokenAccount("stake_vault");
  const mint = accounts.mint("mint");
  const tokenProgram = accounts.tokenProgram("token_program");

  checkMut("user", user);
  checkSeeds(env, "stake_pool", stakePool.key, pdaSeeds("stake_pool", mint.key), stakePool.value.bump);
  checkMut("stake_pool", stakePool.meta);
  checkUserStake(env, userStake, stakePool.key, user.pubkey);
  checkHolderTokenAccount("user_token_account", userTokenAccount, mint.key, user.pubkey);
  checkVault(env, "stake_vault", stakeVault, stakePool.key, stakePool.value.stakeVaultBump, stakePool.value.stakeVault);

  const pool = { ...stakePool.value };
  const position = { ...userStake.value };
  const now = ctx.now();

  requireThat(position.cooldownEnd !== null, "NoCooldownActive", FILE, 65);
  requireThat(position.cooldownEnd !== null && now >= position.cooldownEnd, "CooldownNotComplete", FILE, 66);
  const amount = position.cooldownAmount;
  requireThat(stakeVault.value.amount >= amount, "InsufficientStake", FILE, 74);

  const signer = stakePoolSigner(env, pool.mint, pool.bump);
  transferCpi(ctx, tokenProgram.pubkey, stakeVault.key, userTokenAccount.key, stakePool.key, amount, [signer]);

  position.stakedAmount = orFail(checkedSubU64(position.stakedAmount, amount), "CalculationUnderflow");
  position.cooldownEnd = null;
  position.cooldownAmount = 0n;
  pool.totalStaked = orFail(checkedSubU64(pool.totalStaked, amount), "CalculationUnderflow");
  const fullyWithdrawn = position.stakedAmount === 0n;
  if (fullyWithdrawn) pool.totalStakers = orFail(checkedSubU64(pool.totalStakers, 1n), "CalculationUnderflow");
  pool.lastUpdateTimestamp = now;

  emitWithdraw(ctx, { user: user.pubkey, amount, remainingStaked: position.stakedAmount, fullyWithdrawn, timestamp: now });
  ctx.log(`Withdrew ${kamiyo(amount)} KAMIYO`);
  ctx.log(`Remaining staked: ${kamiyo(position.stakedAmount)} KAMIYO`);
  if (fullyWithdrawn) ctx.log("User has fully withdrawn all staked tokens");

  persist(ctx, stakePool.key, serializeStakePool(pool));
  persist(ctx, userStake.key, serializeUserStake(position));
}
