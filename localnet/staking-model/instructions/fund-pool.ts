/** `fund_pool(amount)` (instructions/fund_pool.rs). Line numbers are the `require!` sites in that file. */
import { requireThat } from "../anchor-errors.ts";
import { u64Arg, type RawArgs } from "../args.ts";
import { emitFundPool } from "../events.ts";
import { kamiyo } from "../rust-format.ts";
import { transferCpi } from "../token.ts";
import {
  AccountCursor,
  checkConstraint,
  checkHolderTokenAccount,
  checkMut,
  checkSeeds,
  checkVault,
  pdaSeeds,
  type Env,
} from "../validation.ts";

const FILE = "programs/kamiyo-staking/src/instructions/fund_pool.rs";

export function fundPool(env: Env, args: RawArgs): void {
  const amount = u64Arg(args, "amount");
  const { ctx } = env;
  const accounts = new AccountCursor(env);
  const admin = accounts.signer("admin");
  const stakePool = accounts.programAccount("stake_pool", "StakePool");
  const adminTokenAccount = accounts.tokenAccount("admin_token_account");
  const rewardVault = accounts.tokenAccount("reward_vault");
  const mint = accounts.mint("mint");
  const tokenProgram = accounts.tokenProgram("token_program");

  checkMut("admin", admin);
  checkSeeds(env, "stake_pool", stakePool.key, pdaSeeds("stake_pool", mint.key), stakePool.value.bump);
  checkConstraint(stakePool.value.admin === admin.pubkey, "stake_pool", "Unauthorized");
  checkHolderTokenAccount("admin_token_account", adminTokenAccount, mint.key, admin.pubkey);
  checkVault(env, "reward_vault", rewardVault, stakePool.key, stakePool.value.rewardVaultBump, stakePool.value.rewardVault);

  const now = ctx.now();
  requireThat(amount > 0n, "InvalidAmount", FILE, 53);

  transferCpi(ctx, tokenProgram.pubkey, adminTokenAccount.key, rewardVault.key, admin.pubkey, amount);

  // The vault's balance as deserialized before the transfer, plus the amount; both sides are balances of
  // one mint, so the sum stays within its u64 supply.
  const rewardVaultBalance = rewardVault.value.amount + amount;
  emitFundPool(ctx, { admin: admin.pubkey, amount, rewardVaultBalance, timestamp: now });
  ctx.log(`Funded reward vault with ${kamiyo(amount)} KAMIYO`);
  ctx.log(`New reward vault balance: ${kamiyo(rewardVaultBalance)} KAMIYO`);
}
