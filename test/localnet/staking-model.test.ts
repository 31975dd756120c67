/**
 * The staking program model on the in-process chain: real signed transactions built by Anchor's `Program`
 * from the shipped IDL, real Token-2022 accounts, assertions on account bytes, token balances, events, and
 * on what `@coral-xyz/anchor`'s error parsing reads from the logs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { translateError } from "@coral-xyz/anchor";
import BN from "bn.js";
import { ACCOUNT_SIZE, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, unpackAccount } from "@solana/spl-token";
import { Keypair, PublicKey, TransactionInstruction } from "@solana/web3.js";
import {
  decodeStakePool,
  decodeUserStake,
  encodeStakePool,
  encodeUserStake,
  type StakePoolAccount,
  type UserStakeAccount,
} from "../../src/solana/accounts.ts";
import {
  rewardVaultPda,
  stakePoolPda,
  stakeVaultPda,
  stakingCoder,
  userStakePda,
  STAKE_POOL_SIZE,
  USER_STAKE_SIZE,
} from "../../src/solana/program.ts";
import { AnchorError } from "@coral-xyz/anchor";
import { AnchorFailure, orFail, reportFailure } from "../../localnet/staking-model/anchor-errors.ts";
import { instructionArgs, selectInstruction } from "../../localnet/staking-model/args.ts";
import { calculateRewards, I64_MAX, tierOf, U64_MAX } from "../../localnet/staking-model/math.ts";
import { kamiyo, percent, rustF64 } from "../../localnet/staking-model/rust-format.ts";
import type { ModelContext } from "../../localnet/types.ts";
import { KAMIYO, startStakingHarness, type StakingHarness } from "./helpers/staking-harness.ts";
import { anchorError, event, stakingInstructions } from "./helpers/staking-instructions.ts";

const DAY = 86_400n;
const FEE = 5_000n;

let h: StakingHarness;
let ix: ReturnType<typeof stakingInstructions>;
let admin: Keypair;
let adminTokens: PublicKey;
let initBounds: [bigint, bigint];

const pool = (): StakePoolAccount => decodeStakePool(h.account(h.stakePool)!.data);
const position = (user: Keypair): UserStakeAccount => decodeUserStake(h.account(h.userStake(user.publicKey))!.data);
const bytes = (key: PublicKey): Buffer => Buffer.from(h.account(key)!.data);

/** A wallet with a Token-2022 account holding `amount`, and a UserStake after staking `staked` (if any). */
async function staker(amount: bigint, staked?: bigint): Promise<{ user: Keypair; tokens: PublicKey; logs: string[] }> {
  const user = h.wallet();
  const tokens = await h.tokenAccount(user, amount);
  const logs = staked === undefined ? [] : h.send([await ix.stake(user, tokens, staked)], [user]).logs;
  return { user, tokens, logs };
}

beforeAll(async () => {
  h = await startStakingHarness();
  ix = stakingInstructions(h);
  admin = h.wallet();
  adminTokens = await h.tokenAccount(admin, 1_000_000n * KAMIYO);
  const before = h.now();
  h.send([await ix.initializePool(admin)], [admin]);
  initBounds = [before, h.now()];
});

afterAll(() => h.close());

/** The code and message of the Anchor error `run` throws. */
function thrown(run: () => unknown): [number, string] {
  try {
    run();
  } catch (err) {
    if (err instanceof AnchorFailure) return [err.code, err.errorMessage];
    throw err;
  }
  throw new Error("nothing thrown");
}

describe("pure parts of the model", () => {
  it("computes rewards in u128 like calculate_rewards, 0 on overflow, truncated by `as u64`", () => {
    const year = 31_536_000n;
    expect(calculateRewards(10_000n * KAMIYO, 1_500, year)).toBe(1_500n * KAMIYO);
    expect(calculateRewards(10_000n * KAMIYO, 1_500, year / 2n)).toBe(750n * KAMIYO);
    expect(calculateRewards(1n, 1, 1n)).toBe(0n);
    expect([calculateRewards(0n, 1_000, year), calculateRewards(KAMIYO, 0, year)]).toEqual([0n, 0n]);
    expect([calculateRewards(KAMIYO, 1_000, 0n), calculateRewards(KAMIYO, 1_000, -5n)]).toEqual([0n, 0n]);
    expect(calculateRewards(U64_MAX, 10_000, I64_MAX)).toBe(0n);
    expect(calculateRewards(U64_MAX, 10_000, 3n * year)).toBe(U64_MAX - 2n);
  });

  it("assigns tiers at 1k / 10k / 100k KAMIYO, inclusive", () => {
    expect([0n, 1_000n * KAMIYO - 1n, 1_000n * KAMIYO, 9_999n * KAMIYO, 10_000n * KAMIYO, 100_000n * KAMIYO].map(tierOf)).toEqual([
      "Free",
      "Free",
      "Pro",
      "Pro",
      "Team",
      "Enterprise",
    ]);
  });

  it("formats msg! floats as Rust's Display does", () => {
    expect([kamiyo(1n), kamiyo(1_500n * KAMIYO), kamiyo(1_234_567_891n)]).toEqual(["0.000000001", "1500", "1.234567891"]);
    expect([rustF64(1e21), rustF64(1.5e-7), percent(1_000), percent(1)]).toEqual(["1000000000000000000000", "0.00000015", "10", "0.01"]);
  });

  it("dispatches instruction data as Anchor 0.30's entrypoint does", () => {
    const stakeData = stakingCoder.instruction.encode("stake", { amount: new BN(5) });
    expect(thrown(() => selectInstruction(new Uint8Array(7)))).toEqual([100, "8 byte instruction identifier not provided"]);
    expect(thrown(() => selectInstruction(new Uint8Array(8)))[0]).toBe(101);
    expect(thrown(() => selectInstruction(Buffer.from("40f4bc78a7e9690a", "hex")))[0]).toBe(1000);
    expect(thrown(() => selectInstruction(Buffer.from("e445a52e51cb9a1d", "hex")))[0]).toBe(1500);
    expect(selectInstruction(stakeData)).toBe("stake");
    expect(thrown(() => instructionArgs("stake", stakeData.subarray(0, 12)))[0]).toBe(102);
    expect(String(instructionArgs("stake", Buffer.concat([stakeData, Buffer.from([9, 9])])).amount)).toBe("5");
    const update = stakingCoder.instruction.encode("update_pool", {
      new_apy_free: null,
      new_apy_pro: null,
      new_apy_team: null,
      new_apy_enterprise: null,
      new_cooldown_period: null,
      new_min_stake_amount: null,
      new_is_active: true,
    });
    const badBool = Buffer.from(update);
    badBool[badBool.length - 1] = 2;
    expect(thrown(() => instructionArgs("update_pool", badBool))[0]).toBe(102);
  });

  it("logs an origin-less error (`ok_or(...)?`) in the form AnchorError.parse reads", () => {
    const logs: string[] = [];
    const ctx = { log: (m: string) => logs.push(`Program log: ${m}`) } as unknown as ModelContext;
    let error: unknown;
    try {
      orFail(null, "MathOverflow");
    } catch (err) {
      error = reportFailure(ctx, err as AnchorFailure).error;
    }
    expect(error).toEqual({ Custom: 6008 });
    expect(logs).toEqual([
      "Program log: AnchorError occurred. Error Code: MathOverflow. Error Number: 6008. Error Message: Mathematical overflow in calculation.",
    ]);
    expect(AnchorError.parse(logs)?.error.errorCode).toEqual({ code: "MathOverflow", number: 6008 });
  });
});

describe("initialize_pool", () => {
  it("creates the StakePool with the program's defaults and both vaults owned by the pool", async () => {
    const data = bytes(h.stakePool);
    const p = pool();
    expect(p.createdAt).toBeGreaterThanOrEqual(initBounds[0]);
    expect(p.createdAt).toBeLessThanOrEqual(initBounds[1]);
    const expected: StakePoolAccount = {
      admin: admin.publicKey.toBase58(),
      mint: h.mint.toBase58(),
      stakeVault: h.stakeVault.toBase58(),
      rewardVault: h.rewardVault.toBase58(),
      totalStaked: 0n,
      totalStakers: 0n,
      apyFree: 0,
      apyPro: 1_000,
      apyTeam: 1_500,
      apyEnterprise: 2_500,
      cooldownPeriod: 1_209_600n,
      minStakeAmount: 100n * KAMIYO,
      createdAt: p.createdAt,
      lastUpdateTimestamp: p.createdAt,
      rewardPerTokenStored: 0n,
      isActive: true,
      bump: stakePoolPda(h.programId, h.mint)[1],
      stakeVaultBump: stakeVaultPda(h.programId, h.stakePool)[1],
      rewardVaultBump: rewardVaultPda(h.programId, h.stakePool)[1],
    };
    expect(p).toEqual(expected);
    expect(data).toEqual(encodeStakePool(expected));
    expect(data.length).toBe(STAKE_POOL_SIZE);
    const account = h.account(h.stakePool)!;
    expect(account.owner).toBe(h.programId.toBase58());
    expect(account.lamports).toBe(h.chain.minimumBalanceForRentExemption(STAKE_POOL_SIZE));

    for (const vault of [h.stakeVault, h.rewardVault]) {
      const info = h.account(vault)!;
      expect(info.owner).toBe(TOKEN_2022_PROGRAM_ID.toBase58());
      expect(info.data.length).toBe(ACCOUNT_SIZE);
      expect(info.lamports).toBe(h.chain.minimumBalanceForRentExemption(ACCOUNT_SIZE));
      const token = unpackAccount(
        vault,
        { data: Buffer.from(info.data), owner: TOKEN_2022_PROGRAM_ID, lamports: Number(info.lamports), executable: false },
        TOKEN_2022_PROGRAM_ID,
      );
      expect([token.mint.toBase58(), token.owner.toBase58(), token.amount]).toEqual([h.mint.toBase58(), h.stakePool.toBase58(), 0n]);
    }
  });

  it("refuses a second initialization for the same mint in the system program", async () => {
    const before = bytes(h.stakePool);
    const other = h.wallet();
    const failed = h.fail([await ix.initializePool(other)], [other]);
    expect(failed.err).toEqual({ InstructionError: [0, { Custom: 0 }] });
    expect(failed.logs.some((l) => l.includes("already in use"))).toBe(true);
    expect(bytes(h.stakePool)).toEqual(before);
  });
});

describe("stake", () => {
  it("creates the UserStake with the doc's initial fields and moves the tokens", async () => {
    const { user, tokens } = await staker(5_000n * KAMIYO);
    const before = pool();
    const vaultBefore = h.balance(h.stakeVault);
    const { logs } = h.send([await ix.stake(user, tokens, 1_500n * KAMIYO)], [user]);

    const e = event(logs, "StakeEvent");
    const now = e.timestamp as bigint;
    expect(e).toEqual({
      user: user.publicKey.toBase58(),
      amount: 1_500n * KAMIYO,
      total_staked: 1_500n * KAMIYO,
      tier: "Pro",
      old_tier: "Free",
      timestamp: now,
    });
    const expected: UserStakeAccount = {
      owner: user.publicKey.toBase58(),
      pool: h.stakePool.toBase58(),
      stakedAmount: 1_500n * KAMIYO,
      totalRewardsEarned: 0n,
      rewardsClaimed: 0n,
      stakeTimestamp: now,
      lastClaimTimestamp: now,
      tier: "Pro",
      rewardDebt: 0n,
      cooldownEnd: null,
      cooldownAmount: 0n,
      bump: userStakePda(h.programId, h.stakePool, user.publicKey)[1],
    };
    const key = h.userStake(user.publicKey);
    expect(bytes(key)).toEqual(encodeUserStake(expected));
    expect(bytes(key)[112]).toBe(1);
    expect(h.account(key)!.owner).toBe(h.programId.toBase58());
    expect(h.account(key)!.lamports).toBe(h.chain.minimumBalanceForRentExemption(USER_STAKE_SIZE));

    expect(pool()).toEqual({
      ...before,
      totalStaked: before.totalStaked + 1_500n * KAMIYO,
      totalStakers: before.totalStakers + 1n,
      lastUpdateTimestamp: now,
    });
    expect(h.balance(tokens)).toBe(3_500n * KAMIYO);
    expect(h.balance(h.stakeVault)).toBe(vaultBefore + 1_500n * KAMIYO);
    expect(logs).toContain("Program log: Instruction: Stake");
    expect(logs).toContain("Program log: Staked 1500 KAMIYO");
  });

  it("accrues rewards on a top-up without paying them, and recomputes the tier", async () => {
    const { user, tokens, logs: first } = await staker(20_000n * KAMIYO, 5_000n * KAMIYO);
    const start = event(first, "StakeEvent").timestamp as bigint;
    const stakers = pool().totalStakers;
    h.setTime(start + 10n * DAY);
    const { logs } = h.send([await ix.stake(user, tokens, 5_000n * KAMIYO)], [user]);
    const now = event(logs, "StakeEvent").timestamp as bigint;
    const accrued = calculateRewards(5_000n * KAMIYO, 1_000, now - start);
    expect(accrued).toBeGreaterThan(0n);
    expect(position(user)).toMatchObject({
      stakedAmount: 10_000n * KAMIYO,
      totalRewardsEarned: accrued,
      rewardsClaimed: 0n,
      stakeTimestamp: start,
      lastClaimTimestamp: now,
      tier: "Team",
    });
    expect(event(logs, "StakeEvent")).toMatchObject({ tier: "Team", old_tier: "Pro", total_staked: 10_000n * KAMIYO });
    expect(pool().totalStakers).toBe(stakers);
  });

  it("refuses an amount below the minimum with BelowMinimumStake (6001), creating nothing", async () => {
    const { user, tokens } = await staker(5_000n * KAMIYO);
    const { err, logs } = h.fail([await ix.stake(user, tokens, 99n * KAMIYO)], [user]);
    expect(err).toEqual({ InstructionError: [0, { Custom: 6001 }] });
    expect(anchorError(logs)).toMatchObject({
      number: 6001,
      code: "BelowMinimumStake",
      origin: { file: "programs/kamiyo-staking/src/instructions/stake.rs", line: 70 },
    });
    expect(h.account(h.userStake(user.publicKey))).toBeNull();
    expect(h.balance(tokens)).toBe(5_000n * KAMIYO);
  });
});

describe("unstake, cooldown and withdraw", () => {
  it("starts the cooldown without lowering staked_amount and refuses a second unstake or too much", async () => {
    const { user, tokens } = await staker(30_000n * KAMIYO, 20_000n * KAMIYO);
    const before = position(user);
    const poolBefore = pool();
    const { logs } = h.send([await ix.unstake(user, 15_000n * KAMIYO)], [user]);
    const e = event(logs, "UnstakeEvent");
    const now = e.timestamp as bigint;
    const expected: UserStakeAccount = { ...before, cooldownEnd: now + 1_209_600n, cooldownAmount: 15_000n * KAMIYO, tier: "Pro" };
    expect(bytes(h.userStake(user.publicKey))).toEqual(encodeUserStake(expected));
    expect(e).toEqual({
      user: user.publicKey.toBase58(),
      amount: 15_000n * KAMIYO,
      cooldown_end: now + 1_209_600n,
      old_tier: "Team",
      new_tier: "Pro",
      timestamp: now,
    });
    expect(pool()).toEqual(poolBefore);

    const again = h.fail([await ix.unstake(user, KAMIYO)], [user]);
    expect(anchorError(again.logs)).toMatchObject({ number: 6003, code: "CooldownAlreadyActive" });
    const tooMuch = h.fail([await ix.unstake(user, 20_001n * KAMIYO)], [user]);
    expect(anchorError(tooMuch.logs)).toMatchObject({ number: 6002, code: "InsufficientStake" });

    const during = h.fail([await ix.stake(user, tokens, 100n * KAMIYO)], [user]);
    expect(anchorError(during.logs)).toMatchObject({ number: 6013, code: "CannotStakeDuringCooldown" });
    h.setTime(now + 1_209_600n + DAY);
    const elapsed = h.fail([await ix.stake(user, tokens, 100n * KAMIYO)], [user]);
    expect(elapsed.err).toEqual({ InstructionError: [0, { Custom: 6013 }] });

    const stakers = pool().totalStakers;
    const withdrawn = h.send([await ix.withdraw(user, tokens)], [user]);
    expect(event(withdrawn.logs, "WithdrawEvent")).toMatchObject({ remaining_staked: 5_000n * KAMIYO, fully_withdrawn: false });
    expect(pool().totalStakers).toBe(stakers);
  });

  it("withdraws only once the cooldown has ended, keeps the account, and decrements total_stakers at zero", async () => {
    const { user, tokens } = await staker(1_000n * KAMIYO, 1_000n * KAMIYO);
    const { logs } = h.send([await ix.unstake(user, 1_000n * KAMIYO)], [user]);
    const cooldownEnd = event(logs, "UnstakeEvent").cooldown_end as bigint;

    const early = h.fail([await ix.withdraw(user, tokens)], [user]);
    expect(anchorError(early.logs)).toMatchObject({
      number: 6005,
      code: "CooldownNotComplete",
      origin: { file: "programs/kamiyo-staking/src/instructions/withdraw.rs", line: 66 },
    });
    h.setTime(cooldownEnd - 5n);
    expect(h.fail([await ix.withdraw(user, tokens)], [user]).err).toEqual({ InstructionError: [0, { Custom: 6005 }] });

    h.setTime(cooldownEnd);
    const key = h.userStake(user.publicKey);
    const dataBefore = bytes(key);
    const before = position(user);
    const poolBefore = pool();
    const vaultBefore = h.balance(h.stakeVault);
    const done = h.send([await ix.withdraw(user, tokens)], [user]);
    const now = event(done.logs, "WithdrawEvent").timestamp as bigint;
    expect(event(done.logs, "WithdrawEvent")).toEqual({
      user: user.publicKey.toBase58(),
      amount: 1_000n * KAMIYO,
      remaining_staked: 0n,
      fully_withdrawn: true,
      timestamp: now,
    });
    const after: UserStakeAccount = { ...before, stakedAmount: 0n, cooldownEnd: null, cooldownAmount: 0n };
    expect(position(user)).toEqual(after);
    // exit() writes the shorter None encoding over the old bytes: the tail keeps the old cooldown bytes.
    const encoded = encodeUserStake(after).subarray(0, 139);
    expect(bytes(key)).toEqual(Buffer.concat([encoded, dataBefore.subarray(139)]));
    expect(h.account(key)!.lamports).toBe(h.chain.minimumBalanceForRentExemption(USER_STAKE_SIZE));
    expect(h.balance(tokens)).toBe(1_000n * KAMIYO);
    expect(h.balance(h.stakeVault)).toBe(vaultBefore - 1_000n * KAMIYO);
    expect(pool()).toEqual({
      ...poolBefore,
      totalStaked: poolBefore.totalStaked - 1_000n * KAMIYO,
      totalStakers: poolBefore.totalStakers - 1n,
      lastUpdateTimestamp: now,
    });
    expect(anchorError(h.fail([await ix.withdraw(user, tokens)], [user]).logs)).toMatchObject({ number: 6004 });
  });
});

describe("fund_pool and claim_rewards", () => {
  it("lets the admin fund the reward vault and reports the new vault balance", async () => {
    const vaultBefore = h.balance(h.rewardVault);
    const adminBefore = h.balance(adminTokens);
    const { logs } = h.send([await ix.fundPool(admin, adminTokens, 50_000n * KAMIYO)], [admin]);
    const e = event(logs, "FundPoolEvent");
    expect(e).toEqual({
      admin: admin.publicKey.toBase58(),
      amount: 50_000n * KAMIYO,
      reward_vault_balance: vaultBefore + 50_000n * KAMIYO,
      timestamp: e.timestamp,
    });
    expect(h.balance(h.rewardVault)).toBe(vaultBefore + 50_000n * KAMIYO);
    expect(h.balance(adminTokens)).toBe(adminBefore - 50_000n * KAMIYO);

    const zero = h.fail([await ix.fundPool(admin, adminTokens, 0n)], [admin]);
    expect(anchorError(zero.logs)).toMatchObject({ number: 6014, origin: { file: "programs/kamiyo-staking/src/instructions/fund_pool.rs", line: 53 } });
  });

  it("refuses fund_pool from anyone but the admin with Unauthorized (6007) on stake_pool", async () => {
    const { user, tokens } = await staker(1_000n * KAMIYO);
    const { err, logs } = h.fail([await ix.fundPool(user, tokens, KAMIYO)], [user]);
    expect(err).toEqual({ InstructionError: [0, { Custom: 6007 }] });
    expect(anchorError(logs)).toMatchObject({ number: 6007, code: "Unauthorized", origin: "stake_pool" });
    expect(h.balance(tokens)).toBe(1_000n * KAMIYO);
  });

  it("pays claimable rewards from the reward vault and refuses a claim with nothing accrued", async () => {
    const { user, tokens, logs: staked } = await staker(10_000n * KAMIYO, 10_000n * KAMIYO);
    const start = event(staked, "StakeEvent").timestamp as bigint;
    h.setTime(start + 30n * DAY);
    const vaultBefore = h.balance(h.rewardVault);
    const { logs } = h.send([await ix.claimRewards(user, tokens)], [user]);
    const e = event(logs, "ClaimRewardsEvent");
    const now = e.timestamp as bigint;
    const reward = calculateRewards(10_000n * KAMIYO, 1_500, now - start);
    expect(e).toEqual({ user: user.publicKey.toBase58(), amount: reward, total_claimed: reward, timestamp: now });
    expect(position(user)).toMatchObject({ totalRewardsEarned: reward, rewardsClaimed: reward, lastClaimTimestamp: now });
    expect(h.balance(tokens)).toBe(reward);
    expect(h.balance(h.rewardVault)).toBe(vaultBefore - reward);

    const none = h.fail([await ix.claimRewards(user, tokens)], [user]);
    expect(anchorError(none.logs)).toMatchObject({ number: 6006, code: "NoRewardsToClaim" });
  });
});

describe("Anchor account validation", () => {
  it("refuses a token program other than Token-2022 with InvalidProgramId (3008)", async () => {
    const { user, tokens } = await staker(1_000n * KAMIYO);
    const wrong = await ix
      .methods("stake")(new BN((100n * KAMIYO).toString()))
      .accountsStrict({ ...ix.stakeAccounts(user, tokens), tokenProgram: TOKEN_PROGRAM_ID })
      .instruction();
    const { err, logs } = h.fail([wrong], [user]);
    expect(err).toEqual({ InstructionError: [0, { Custom: 3008 }] });
    expect(anchorError(logs)).toEqual({
      number: 3008,
      code: "InvalidProgramId",
      origin: "token_program",
      compared: [TOKEN_PROGRAM_ID.toBase58(), TOKEN_2022_PROGRAM_ID.toBase58()],
    });
  });

  it("refuses an instruction whose user did not sign with AccountNotSigner (3010)", async () => {
    const { user, tokens } = await staker(1_000n * KAMIYO);
    const payer = h.wallet();
    const built = await ix.stake(user, tokens, 100n * KAMIYO);
    const unsigned = new TransactionInstruction({
      programId: built.programId,
      data: built.data,
      keys: built.keys.map((k) => (k.pubkey.equals(user.publicKey) ? { ...k, isSigner: false } : k)),
    });
    const { err, logs } = h.fail([unsigned], [payer]);
    expect(err).toEqual({ InstructionError: [0, { Custom: 3010 }] });
    expect(anchorError(logs)).toMatchObject({ number: 3010, code: "AccountNotSigner", origin: "user" });
    const translated = translateError(Object.assign(new Error("failed"), { logs }), new Map());
    expect((translated as { error: { errorCode: { number: number } } }).error.errorCode.number).toBe(3010);
  });

  it("maps unknown discriminators, bad arguments and missing accounts to Anchor's codes", async () => {
    const { user, tokens } = await staker(1_000n * KAMIYO);
    const built = await ix.stake(user, tokens, 100n * KAMIYO);
    const variant = (data: Buffer, keys = built.keys) => new TransactionInstruction({ programId: built.programId, data, keys });
    const cases: [TransactionInstruction, number, string][] = [
      [variant(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])), 101, "InstructionFallbackNotFound"],
      [variant(built.data.subarray(0, 12)), 102, "InstructionDidNotDeserialize"],
      [variant(built.data, built.keys.slice(0, 3)), 3005, "AccountNotEnoughKeys"],
    ];
    for (const [instruction, number, code] of cases) {
      const { err, logs } = h.fail([instruction], [user]);
      expect(err).toEqual({ InstructionError: [0, { Custom: number }] });
      expect(anchorError(logs)).toMatchObject({ number, code });
    }
  });
});

describe("atomicity and pool administration", () => {
  it("leaves every account unchanged when a later instruction fails (only the fee is charged)", async () => {
    const { user, tokens } = await staker(2_000n * KAMIYO);
    const keys = [h.userStake(user.publicKey), h.stakePool, tokens, h.stakeVault];
    const before = keys.map((k) => h.account(k));
    const lamports = h.account(user.publicKey)!.lamports;
    const landed = h.land([await ix.stake(user, tokens, 1_000n * KAMIYO), await ix.unstake(user, 5_000n * KAMIYO)], [user]);
    expect(landed.err).toEqual({ InstructionError: [1, { Custom: 6002 }] });
    expect(landed.logs).toContain("Program log: Instruction: Unstake");
    expect(keys.map((k) => h.account(k))).toEqual(before);
    expect(h.account(user.publicKey)!.lamports).toBe(lamports - FEE);
  });

  it("pauses and resumes the pool through update_pool, validating each argument in order", async () => {
    const { user, tokens } = await staker(1_000n * KAMIYO);
    const outsider = h.fail([await ix.updatePool(user, { isActive: false })], [user]);
    expect(anchorError(outsider.logs)).toMatchObject({ number: 6007, origin: "stake_pool" });

    const badApy = h.fail([await ix.updatePool(admin, { apyFree: 100, apyPro: 10_001 })], [admin]);
    expect(badApy.logs).toContain("Program log: Updated Free tier APY to 1%");
    expect(anchorError(badApy.logs)).toMatchObject({
      number: 6010,
      origin: { file: "programs/kamiyo-staking/src/instructions/update_pool.rs", line: 49 },
    });
    expect(anchorError(h.fail([await ix.updatePool(admin, {})], [admin]).logs)).toMatchObject({ number: 6014 });

    const paused = h.send([await ix.updatePool(admin, { isActive: false })], [admin]);
    expect(event(paused.logs, "PoolUpdateEvent")).toMatchObject({ is_active: false, apy_pro: 1_000, cooldown_period: 1_209_600n });
    expect(pool().isActive).toBe(false);
    const refused = h.fail([await ix.stake(user, tokens, 100n * KAMIYO)], [user]);
    expect(anchorError(refused.logs)).toMatchObject({ number: 6000, code: "PoolInactive" });

    h.send([await ix.updatePool(admin, { isActive: true })], [admin]);
    h.send([await ix.stake(user, tokens, 100n * KAMIYO)], [user]);
    expect(position(user).stakedAmount).toBe(100n * KAMIYO);
  });
});
