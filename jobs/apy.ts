/**
 * APY snapshots: the pool's total staked (StakePool, decoded by Anchor's coder), the reward vault balance,
 * the trailing 30 days of x402 revenue and the APY they imply at the latest buyback price
 * (core/allocation.ts `impliedApy`), one row in staking_apy_history per snapshot.
 */
import { APY_WINDOW_DAYS, averagePriceMicroUsdc, impliedApy } from "../src/domain/allocation.ts";
import { trailingDays } from "../src/domain/utc-day.ts";
import { NonRetryableError } from "../src/errors.ts";
import type { Logger } from "../src/log.ts";
import { decodeStakePool } from "../src/solana/accounts.ts";
import { stakingAddresses } from "../src/solana/instructions.ts";
import type { ChainGateway } from "./chain.ts";
import type { RunStore } from "./runs.ts";

export interface ApySnapshotDeps {
  store: RunStore;
  chain: ChainGateway;
  programId: string;
  kamiyoMint: string;
  allocationBps: number;
  logger: Logger;
  now?: () => Date;
}

export async function snapshotApy(deps: ApySnapshotDeps) {
  const addresses = stakingAddresses(deps.programId, deps.kamiyoMint);
  const data = await deps.chain.accountData(addresses.pool);
  if (!data) throw new NonRetryableError("not_found", `stake pool ${addresses.pool.toBase58()} does not exist`, { code: "stake_pool_missing" });
  const pool = decodeStakePool(data);
  const vaultBalance = await deps.chain.tokenBalance(addresses.rewardVault);
  const { start, end } = trailingDays((deps.now ?? (() => new Date()))(), Number(APY_WINDOW_DAYS));
  const { revenue } = await deps.store.revenueBetween(start, end);
  const price = await deps.store.latestBuyback();
  const figures = impliedApy({
    windowRevenueMicroUsdc: revenue,
    allocationBps: deps.allocationBps,
    priceUsdcSpent: price?.usdc_amount ?? 0n,
    priceKamiyoBought: price?.kamiyo_amount ?? 0n,
    totalStaked: pool.totalStaked,
  });
  const row = {
    recorded_at: end,
    total_staked: pool.totalStaked,
    total_stakers: pool.totalStakers,
    reward_rate_per_second: figures.rewardRatePerSecond,
    calculated_apy_bps: figures.apyBps,
    monthly_revenue_usdc: revenue,
    kamiyo_price_micro_usdc: price ? averagePriceMicroUsdc(price.usdc_amount, price.kamiyo_amount) : null,
    pool_balance: vaultBalance,
  };
  await deps.store.insertApySnapshot(row);
  deps.logger.info(
    { totalStaked: row.total_staked.toString(), apyBps: row.calculated_apy_bps?.toString() ?? null, vault: vaultBalance.toString() },
    "apy snapshot recorded",
  );
  return row;
}
