/** `update_pool(...)` (instructions/update_pool.rs). Line numbers are the `require!` sites in that file. */
import { requireThat } from "../anchor-errors.ts";
import { optionalBigArg, optionalBoolArg, optionalNumberArg, type RawArgs } from "../args.ts";
import { emitPoolUpdate } from "../events.ts";
import { days, kamiyo, percent } from "../rust-format.ts";
import { persist, serializeStakePool } from "../state.ts";
import { AccountCursor, checkConstraint, checkMut, checkSeeds, pdaSeeds, type Env } from "../validation.ts";

const FILE = "programs/kamiyo-staking/src/instructions/update_pool.rs";

type ApyField = "apyFree" | "apyPro" | "apyTeam" | "apyEnterprise";

/** Argument, pool field, tier label in the log line, `require!` line. */
const APY_ARGS: readonly [string, ApyField, string, number][] = [
  ["new_apy_free", "apyFree", "Free", 42],
  ["new_apy_pro", "apyPro", "Pro", 49],
  ["new_apy_team", "apyTeam", "Team", 56],
  ["new_apy_enterprise", "apyEnterprise", "Enterprise", 63],
];

export function updatePool(env: Env, args: RawArgs): void {
  const { ctx } = env;
  const accounts = new AccountCursor(env);
  const admin = accounts.signer("admin");
  const stakePool = accounts.programAccount("stake_pool", "StakePool");

  checkMut("admin", admin);
  checkSeeds(env, "stake_pool", stakePool.key, pdaSeeds("stake_pool", stakePool.value.mint), stakePool.value.bump);
  checkMut("stake_pool", stakePool.meta);
  checkConstraint(stakePool.value.admin === admin.pubkey, "stake_pool", "Unauthorized");

  const pool = { ...stakePool.value };
  const now = ctx.now();
  let changesMade = false;

  // Each Some value is checked, applied and logged in argument order; a later failure still leaves the
  // earlier log lines in the transaction's logs.
  for (const [arg, field, label, line] of APY_ARGS) {
    const apy = optionalNumberArg(args, arg);
    if (apy === null) continue;
    requireThat(apy <= 10_000, "InvalidAPY", FILE, line);
    pool[field] = apy;
    changesMade = true;
    ctx.log(`Updated ${label} tier APY to ${percent(apy)}%`);
  }

  const cooldown = optionalBigArg(args, "new_cooldown_period");
  if (cooldown !== null) {
    requireThat(cooldown > 0n, "InvalidCooldownPeriod", FILE, 71);
    pool.cooldownPeriod = cooldown;
    changesMade = true;
    ctx.log(`Updated cooldown period to ${days(cooldown)} days`);
  }

  const minStake = optionalBigArg(args, "new_min_stake_amount");
  if (minStake !== null) {
    requireThat(minStake > 0n, "InvalidMinStakeAmount", FILE, 79);
    pool.minStakeAmount = minStake;
    changesMade = true;
    ctx.log(`Updated minimum stake to ${kamiyo(minStake)} KAMIYO`);
  }

  const isActive = optionalBoolArg(args, "new_is_active");
  if (isActive !== null) {
    pool.isActive = isActive;
    changesMade = true;
    ctx.log(`Pool active status set to: ${isActive}`);
  }

  requireThat(changesMade, "InvalidAmount", FILE, 92);
  pool.lastUpdateTimestamp = now;

  emitPoolUpdate(ctx, {
    admin: admin.pubkey,
    apyFree: pool.apyFree,
    apyPro: pool.apyPro,
    apyTeam: pool.apyTeam,
    apyEnterprise: pool.apyEnterprise,
    cooldownPeriod: pool.cooldownPeriod,
    minStakeAmount: pool.minStakeAmount,
    isActive: pool.isActive,
    timestamp: now,
  });
  ctx.log("Pool configuration updated successfully");

  persist(ctx, stakePool.key, serializeStakePool(pool));
}
