/** `initialize_pool` (instructions/initialize_pool.rs). */
import type { StakePoolAccount } from "../../../src/solana/accounts.ts";
import { STAKE_POOL_SIZE } from "../../../src/solana/program.ts";
import type { ModelAccountMeta } from "../../types.ts";
import { initProgramAccount, initTokenAccount } from "../init.ts";
import { persist, serializeStakePool } from "../state.ts";
import { AccountCursor, checkInitSeeds, checkMut, checkRentExempt, pdaSeeds, type Env } from "../validation.ts";

const APY_FREE = 0;
const APY_PRO = 1_000;
const APY_TEAM = 1_500;
const APY_ENTERPRISE = 2_500;
const COOLDOWN_PERIOD = 1_209_600n;
const MIN_STAKE_AMOUNT = 100n * 1_000_000_000n;

export function initializePool(env: Env): void {
  const { ctx } = env;
  const accounts = new AccountCursor(env);
  const admin = accounts.signer("admin");
  const mint = accounts.mint("mint");
  const stakePoolMeta = accounts.take(null);
  const stakeVaultMeta = accounts.take(null);
  const rewardVaultMeta = accounts.take(null);
  const tokenProgram = accounts.tokenProgram("token_program");
  accounts.systemProgram("system_program");

  const stakePoolKey = stakePoolMeta.pubkey;
  const bump = checkInitSeeds(env, "stake_pool", stakePoolKey, pdaSeeds("stake_pool", mint.key));
  initProgramAccount(env, {
    field: "stake_pool",
    kind: "StakePool",
    key: stakePoolKey,
    payer: admin.pubkey,
    space: STAKE_POOL_SIZE,
    ifNeeded: false,
  });
  checkMut("stake_pool", stakePoolMeta);
  checkRentExempt(env, "stake_pool", stakePoolKey);

  const initVault = (field: "stake_vault" | "reward_vault", meta: ModelAccountMeta): number => {
    const vaultBump = checkInitSeeds(env, field, meta.pubkey, pdaSeeds(field, stakePoolKey));
    initTokenAccount(env, {
      key: meta.pubkey,
      payer: admin.pubkey,
      mint,
      authority: stakePoolKey,
      tokenProgram: tokenProgram.pubkey,
    });
    checkMut(field, meta);
    checkRentExempt(env, field, meta.pubkey);
    return vaultBump;
  };
  const stakeVaultBump = initVault("stake_vault", stakeVaultMeta);
  const rewardVaultBump = initVault("reward_vault", rewardVaultMeta);
  checkMut("admin", admin);

  const now = ctx.now();
  const pool: StakePoolAccount = {
    admin: admin.pubkey,
    mint: mint.key,
    stakeVault: stakeVaultMeta.pubkey,
    rewardVault: rewardVaultMeta.pubkey,
    totalStaked: 0n,
    totalStakers: 0n,
    apyFree: APY_FREE,
    apyPro: APY_PRO,
    apyTeam: APY_TEAM,
    apyEnterprise: APY_ENTERPRISE,
    cooldownPeriod: COOLDOWN_PERIOD,
    minStakeAmount: MIN_STAKE_AMOUNT,
    createdAt: now,
    lastUpdateTimestamp: now,
    rewardPerTokenStored: 0n,
    isActive: true,
    bump,
    stakeVaultBump,
    rewardVaultBump,
  };

  ctx.log("Staking pool initialized successfully");
  ctx.log(`Admin: ${pool.admin}`);
  ctx.log(`Mint: ${pool.mint}`);
  ctx.log(`APY rates - Pro: ${APY_PRO / 100}%, Team: ${APY_TEAM / 100}%, Enterprise: ${APY_ENTERPRISE / 100}%`);
  ctx.log(`Cooldown period: ${COOLDOWN_PERIOD / 86_400n} days`);
  ctx.log(`Minimum stake: ${MIN_STAKE_AMOUNT / 1_000_000_000n} KAMIYO`);

  persist(ctx, stakePoolKey, serializeStakePool(pool));
}
