/**
 * The shipped IDL and Anchor's coder against account bytes written by hand at the offsets given in
 * docs/staking-program.md. The expected bytes never come from the encoder under test.
 */
import { createHash } from "node:crypto";
import BN from "bn.js";
import { PublicKey } from "@solana/web3.js";
import { describe, expect, it } from "vitest";
import {
  AccountDecodeError,
  decodeStakePool,
  decodeUserStake,
  encodeStakePool,
  encodeUserStake,
  isUserStakeData,
  type ProgramTier,
  type StakePoolAccount,
  type UserStakeAccount,
} from "../../src/solana/accounts.ts";
import {
  eventCoder,
  STAKE_POOL_DISCRIMINATOR,
  STAKE_POOL_SIZE,
  STAKING_IDL,
  stakingCoder,
  USER_STAKE_DISCRIMINATOR,
  USER_STAKE_SIZE,
} from "../../src/solana/program.ts";
import { U64_MAX } from "../../src/domain/units.ts";

// The table in docs/staking-program.md, copied by hand.
const DOC_DISCRIMINATORS = {
  account: {
    UserStake: [102, 53, 163, 107, 9, 138, 87, 153],
    StakePool: [121, 34, 206, 21, 79, 127, 255, 28],
  },
  global: {
    stake: [206, 176, 202, 18, 200, 209, 179, 108],
    unstake: [90, 95, 107, 42, 205, 124, 50, 225],
    withdraw: [183, 18, 70, 156, 148, 109, 161, 34],
    claim_rewards: [4, 144, 132, 71, 116, 23, 151, 80],
    initialize_pool: [95, 180, 10, 172, 84, 174, 232, 40],
    update_pool: [239, 214, 170, 78, 36, 35, 30, 34],
    fund_pool: [36, 57, 233, 176, 181, 20, 87, 159],
  },
  event: {
    FundPoolEvent: [189, 145, 41, 192, 130, 184, 131, 196],
    StakeEvent: [226, 134, 188, 173, 19, 33, 75, 175],
    UnstakeEvent: [162, 104, 137, 228, 81, 3, 79, 197],
    WithdrawEvent: [22, 9, 133, 26, 160, 44, 71, 192],
    ClaimRewardsEvent: [224, 197, 51, 113, 233, 72, 117, 183],
    PoolUpdateEvent: [124, 213, 52, 182, 189, 225, 61, 254],
  },
} as const;

const I64_MIN = -(2n ** 63n);
const U128_MAX = 2n ** 128n - 1n;
const TIER_NAMES: readonly ProgramTier[] = ["Free", "Pro", "Team", "Enterprise"];

/** A key whose 32 bytes are start, start+1, ... so a field read at a wrong offset shows. */
const key = (start: number) => new PublicKey(Uint8Array.from({ length: 32 }, (_, i) => (start + i) % 256));
const OWNER = key(1);
const POOL = key(101);

function writeU128(b: Buffer, value: bigint, offset: number): void {
  b.writeBigUInt64LE(value & U64_MAX, offset);
  b.writeBigUInt64LE(value >> 64n, offset + 8);
}

/** UserStake bytes at the documented offsets; the Option at 129 decides where the tail sits. */
function userStakeBytes(a: UserStakeAccount): Buffer {
  const b = Buffer.alloc(147);
  Buffer.from(DOC_DISCRIMINATORS.account.UserStake).copy(b, 0);
  new PublicKey(a.owner).toBuffer().copy(b, 8);
  new PublicKey(a.pool).toBuffer().copy(b, 40);
  b.writeBigUInt64LE(a.stakedAmount, 72);
  b.writeBigUInt64LE(a.totalRewardsEarned, 80);
  b.writeBigUInt64LE(a.rewardsClaimed, 88);
  b.writeBigInt64LE(a.stakeTimestamp, 96);
  b.writeBigInt64LE(a.lastClaimTimestamp, 104);
  b.writeUInt8(TIER_NAMES.indexOf(a.tier), 112);
  writeU128(b, a.rewardDebt, 113);
  if (a.cooldownEnd === null) {
    b.writeUInt8(0, 129);
    b.writeBigUInt64LE(a.cooldownAmount, 130);
    b.writeUInt8(a.bump, 138);
  } else {
    b.writeUInt8(1, 129);
    b.writeBigInt64LE(a.cooldownEnd, 130);
    b.writeBigUInt64LE(a.cooldownAmount, 138);
    b.writeUInt8(a.bump, 146);
  }
  return b;
}

function stakePoolBytes(p: StakePoolAccount): Buffer {
  const b = Buffer.alloc(212);
  Buffer.from(DOC_DISCRIMINATORS.account.StakePool).copy(b, 0);
  new PublicKey(p.admin).toBuffer().copy(b, 8);
  new PublicKey(p.mint).toBuffer().copy(b, 40);
  new PublicKey(p.stakeVault).toBuffer().copy(b, 72);
  new PublicKey(p.rewardVault).toBuffer().copy(b, 104);
  b.writeBigUInt64LE(p.totalStaked, 136);
  b.writeBigUInt64LE(p.totalStakers, 144);
  b.writeUInt16LE(p.apyFree, 152);
  b.writeUInt16LE(p.apyPro, 154);
  b.writeUInt16LE(p.apyTeam, 156);
  b.writeUInt16LE(p.apyEnterprise, 158);
  b.writeBigInt64LE(p.cooldownPeriod, 160);
  b.writeBigUInt64LE(p.minStakeAmount, 168);
  b.writeBigInt64LE(p.createdAt, 176);
  b.writeBigInt64LE(p.lastUpdateTimestamp, 184);
  writeU128(b, p.rewardPerTokenStored, 192);
  b.writeUInt8(p.isActive ? 1 : 0, 208);
  b.writeUInt8(p.bump, 209);
  b.writeUInt8(p.stakeVaultBump, 210);
  b.writeUInt8(p.rewardVaultBump, 211);
  return b;
}

const base: UserStakeAccount = {
  owner: OWNER.toBase58(),
  pool: POOL.toBase58(),
  stakedAmount: 600_000n * 10n ** 9n,
  totalRewardsEarned: 1_234_567n,
  rewardsClaimed: 1_000n,
  stakeTimestamp: 1_764_000_000n,
  lastClaimTimestamp: 1_764_000_500n,
  tier: "Enterprise",
  rewardDebt: 0n,
  cooldownEnd: null,
  cooldownAmount: 0n,
  bump: 254,
};

describe("UserStake layout", () => {
  it("cooldown_end None: cooldown_amount at 130, bump at 138, zero padding after", async () => {
    // A stale cooldown_amount with None is representable; it proves where the field is read from.
    const account = { ...base, cooldownAmount: 0x0102030405060708n, bump: 0xfd };
    const bytes = userStakeBytes(account);
    expect(bytes[129]).toBe(0);
    expect(bytes.readBigUInt64LE(130)).toBe(0x0102030405060708n);
    expect(bytes[138]).toBe(0xfd);
    expect(bytes.subarray(139).every((x) => x === 0)).toBe(true);
    expect(decodeUserStake(bytes)).toEqual(account);
    expect(encodeUserStake(account)).toEqual(bytes);
  });

  it("cooldown_end Some: cooldown_end at 130, cooldown_amount at 138, bump at 146", async () => {
    const account = { ...base, cooldownEnd: 1_765_209_600n, cooldownAmount: 250_000n * 10n ** 9n, tier: "Team" as const };
    const bytes = userStakeBytes(account);
    expect(bytes[129]).toBe(1);
    expect(bytes.readBigInt64LE(130)).toBe(1_765_209_600n);
    expect(bytes.readBigUInt64LE(138)).toBe(250_000n * 10n ** 9n);
    expect(bytes[146]).toBe(254);
    expect(decodeUserStake(bytes)).toEqual(account);
    expect(encodeUserStake(account)).toEqual(bytes);
  });

  it("fills its whole 147-byte allocation with u64 max amounts and negative timestamps", async () => {
    const account: UserStakeAccount = {
      owner: key(200).toBase58(),
      pool: key(50).toBase58(),
      stakedAmount: U64_MAX,
      totalRewardsEarned: U64_MAX,
      rewardsClaimed: U64_MAX,
      stakeTimestamp: I64_MIN,
      lastClaimTimestamp: -1n,
      tier: "Enterprise",
      rewardDebt: U128_MAX,
      cooldownEnd: -86_400n,
      cooldownAmount: U64_MAX,
      bump: 255,
    };
    const bytes = userStakeBytes(account);
    expect(bytes.length).toBe(USER_STAKE_SIZE);
    expect(bytes[146]).toBe(255);
    const decoded = decodeUserStake(bytes);
    expect(decoded).toEqual(account);
    expect(decoded.stakedAmount).toBe(18_446_744_073_709_551_615n);
    expect(decoded.stakeTimestamp).toBe(-9_223_372_036_854_775_808n);
    expect(encodeUserStake(account)).toEqual(bytes);
  });

  it.each(TIER_NAMES.map((name, byte) => [byte, name] as const))("tier byte %i is %s", (byte, name) => {
    const bytes = userStakeBytes(base);
    bytes.writeUInt8(byte, 112);
    expect(decodeUserStake(bytes).tier).toBe(name);
  });

  it("rejects a tier byte outside the enum", () => {
    const bytes = userStakeBytes(base);
    bytes.writeUInt8(4, 112);
    expect(() => decodeUserStake(bytes)).toThrow(AccountDecodeError);
  });

  it("decodes a view into a larger buffer (as RPC responses give)", () => {
    const bytes = userStakeBytes(base);
    const outer = new Uint8Array(bytes.length + 5);
    outer.set(bytes, 5);
    expect(decodeUserStake(outer.subarray(5))).toEqual(base);
  });

  it("keeps the pool at offset 40 for getProgramAccounts memcmp filters", async () => {
    const bytes = encodeUserStake(base);
    expect(bytes.subarray(40, 72)).toEqual(POOL.toBuffer());
  });

  it("rejects a wrong discriminator", () => {
    const bytes = userStakeBytes(base);
    bytes[0] = bytes[0]! ^ 0xff;
    expect(() => decodeUserStake(bytes)).toThrow(AccountDecodeError);
    expect(isUserStakeData(bytes)).toBe(false);
  });

  it("rejects a closed account's empty data", () => {
    expect(() => decodeUserStake(new Uint8Array(0))).toThrow(AccountDecodeError);
    expect(isUserStakeData(new Uint8Array(0))).toBe(false);
  });

  it("recognizes stake accounts by size and discriminator", () => {
    const bytes = userStakeBytes(base);
    expect(isUserStakeData(bytes)).toBe(true);
    expect(isUserStakeData(bytes.subarray(0, 146))).toBe(false);
  });
});

describe("StakePool layout", () => {
  const pool: StakePoolAccount = {
    admin: key(10).toBase58(),
    mint: key(42).toBase58(),
    stakeVault: key(74).toBase58(),
    rewardVault: key(106).toBase58(),
    totalStaked: U64_MAX - 5n,
    totalStakers: 3n,
    apyFree: 0,
    apyPro: 1000,
    apyTeam: 1500,
    apyEnterprise: 0xfffe,
    cooldownPeriod: 1_209_600n,
    minStakeAmount: 100n * 10n ** 9n,
    createdAt: -5n,
    lastUpdateTimestamp: 1_764_000_000n,
    rewardPerTokenStored: U128_MAX - 1n,
    isActive: true,
    bump: 253,
    stakeVaultBump: 252,
    rewardVaultBump: 251,
  };

  it("decodes the 212-byte account written at the documented offsets, and encodes back to it", async () => {
    const bytes = stakePoolBytes(pool);
    expect(bytes.length).toBe(STAKE_POOL_SIZE);
    expect(decodeStakePool(bytes)).toEqual(pool);
    expect(encodeStakePool(pool)).toEqual(bytes);
  });

  it("reads is_active false", () => {
    const bytes = stakePoolBytes({ ...pool, isActive: false });
    expect(decodeStakePool(bytes).isActive).toBe(false);
  });

  it("is not a UserStake, and a UserStake is not a pool", () => {
    expect(() => decodeUserStake(stakePoolBytes(pool))).toThrow(AccountDecodeError);
    expect(() => decodeStakePool(userStakeBytes(base))).toThrow(AccountDecodeError);
  });
});

describe("discriminators", () => {
  const sha8 = (preimage: string) => [...createHash("sha256").update(preimage).digest().subarray(0, 8)];

  it("the doc's table is sha256(preimage)[0..8]", () => {
    for (const [kind, entries] of Object.entries(DOC_DISCRIMINATORS)) {
      for (const [name, bytes] of Object.entries(entries)) expect(sha8(`${kind}:${name}`), `${kind}:${name}`).toEqual(bytes);
    }
  });

  it("the IDL's accounts match the table", () => {
    const fromIdl = Object.fromEntries((STAKING_IDL.accounts ?? []).map((a) => [a.name, a.discriminator]));
    expect(fromIdl).toEqual(DOC_DISCRIMINATORS.account);
    expect([...USER_STAKE_DISCRIMINATOR]).toEqual(DOC_DISCRIMINATORS.account.UserStake);
    expect([...STAKE_POOL_DISCRIMINATOR]).toEqual(DOC_DISCRIMINATORS.account.StakePool);
  });

  it("the IDL's instructions match the table", () => {
    const fromIdl = Object.fromEntries(STAKING_IDL.instructions.map((ix) => [ix.name, ix.discriminator]));
    expect(fromIdl).toEqual(DOC_DISCRIMINATORS.global);
  });

  it("the IDL's events match the table", () => {
    const fromIdl = Object.fromEntries((STAKING_IDL.events ?? []).map((e) => [e.name, e.discriminator]));
    expect(fromIdl).toEqual(DOC_DISCRIMINATORS.event);
  });
});

describe("instruction data", () => {
  it("stake(amount) is the discriminator then a u64", () => {
    const expected = Buffer.alloc(16);
    Buffer.from(DOC_DISCRIMINATORS.global.stake).copy(expected, 0);
    expected.writeBigUInt64LE(U64_MAX, 8);
    expect(stakingCoder.instruction.encode("stake", { amount: new BN(U64_MAX.toString()) })).toEqual(expected);
  });

  it("fund_pool(amount) is the discriminator then a u64", () => {
    const expected = Buffer.alloc(16);
    Buffer.from(DOC_DISCRIMINATORS.global.fund_pool).copy(expected, 0);
    expected.writeBigUInt64LE(123_456_789n, 8);
    expect(stakingCoder.instruction.encode("fund_pool", { amount: new BN(123_456_789) })).toEqual(expected);
  });

  it("update_pool writes each Option as 0x00 or 0x01 then the value", () => {
    const expected = Buffer.concat([
      Buffer.from(DOC_DISCRIMINATORS.global.update_pool),
      Buffer.from([0]), // new_apy_free: None
      Buffer.from([1, 0xe8, 0x03]), // new_apy_pro: Some(1000u16)
      Buffer.from([0, 0]), // team, enterprise: None
      Buffer.from([1, 0x80, 0x51, 0x01, 0, 0, 0, 0, 0]), // new_cooldown_period: Some(86400i64)
      Buffer.from([0]), // new_min_stake_amount: None
      Buffer.from([1, 1]), // new_is_active: Some(true)
    ]);
    const data = stakingCoder.instruction.encode("update_pool", {
      new_apy_free: null,
      new_apy_pro: 1000,
      new_apy_team: null,
      new_apy_enterprise: null,
      new_cooldown_period: new BN(86_400),
      new_min_stake_amount: null,
      new_is_active: true,
    });
    expect(data).toEqual(expected);
  });
});

describe("events", () => {
  it("decodes a StakeEvent from its Program data payload", () => {
    const b = Buffer.alloc(8 + 32 + 8 + 8 + 1 + 1 + 8);
    Buffer.from(DOC_DISCRIMINATORS.event.StakeEvent).copy(b, 0);
    OWNER.toBuffer().copy(b, 8);
    b.writeBigUInt64LE(500n * 10n ** 9n, 40);
    b.writeBigUInt64LE(U64_MAX, 48);
    b.writeUInt8(3, 56); // tier Enterprise
    b.writeUInt8(1, 57); // old_tier Pro
    b.writeBigInt64LE(1_764_000_000n, 58);
    const event = eventCoder.decode(b.toString("base64"));
    expect(event?.name).toBe("StakeEvent");
    const data = event!.data as Record<string, unknown>;
    expect((data.user as PublicKey).toBase58()).toBe(OWNER.toBase58());
    expect((data.amount as BN).toString()).toBe("500000000000");
    expect((data.total_staked as BN).toString()).toBe(U64_MAX.toString());
    expect(Object.keys(data.tier as object)[0]?.toLowerCase()).toBe("enterprise");
    expect(Object.keys(data.old_tier as object)[0]?.toLowerCase()).toBe("pro");
    expect((data.timestamp as BN).toString()).toBe("1764000000");
  });

  it("decodes a FundPoolEvent from its Program data payload", () => {
    const b = Buffer.alloc(8 + 32 + 8 + 8 + 8);
    Buffer.from(DOC_DISCRIMINATORS.event.FundPoolEvent).copy(b, 0);
    key(10).toBuffer().copy(b, 8);
    b.writeBigUInt64LE(7n, 40);
    b.writeBigUInt64LE(1_000_007n, 48);
    b.writeBigInt64LE(-1n, 56);
    const event = eventCoder.decode(b.toString("base64"));
    expect(event?.name).toBe("FundPoolEvent");
    const data = event!.data as Record<string, unknown>;
    expect((data.admin as PublicKey).toBase58()).toBe(key(10).toBase58());
    expect((data.amount as BN).toString()).toBe("7");
    expect((data.reward_vault_balance as BN).toString()).toBe("1000007");
    expect((data.timestamp as BN).toString()).toBe("-1");
  });

  it("does not take an account for an event", () => {
    expect(eventCoder.decode(userStakeBytes(base).toString("base64"))).toBeNull();
  });
});
