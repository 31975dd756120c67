/**
 * The indexer's fixed-offset UserStake reader against Anchor's coder: on random accounts (valid ones of every
 * shape, and ones with a broken tier, option tag, discriminator or length) both accept the same bytes and read
 * the same owner, pool, amounts, tier and cooldown.
 */
import { randomBytes } from "node:crypto";
import bs58 from "bs58";
import { describe, expect, it } from "vitest";
import { AccountDecodeError, decodeUserStake, encodeUserStake, type ProgramTier } from "../../src/solana/accounts.ts";
import { readUserStakeHoldings, userStakeHoldingsError } from "../../src/solana/user-stake-holdings.ts";

const TIERS: ProgramTier[] = ["Free", "Pro", "Team", "Enterprise"];
const key = () => bs58.encode(randomBytes(32));
const u64 = () => randomBytes(8).readBigUInt64LE();
const i64 = () => randomBytes(8).readBigInt64LE();
/** Small, large and boundary values: where a decoder that read the wrong width or sign would show. */
const amount = (i: number) => [0n, 1n, 2n ** 63n, 2n ** 64n - 1n, u64()][i % 5]!;

function randomAccount(i: number): Buffer {
  return encodeUserStake({
    owner: key(),
    pool: key(),
    stakedAmount: amount(i),
    totalRewardsEarned: u64(),
    rewardsClaimed: u64(),
    stakeTimestamp: i64(),
    lastClaimTimestamp: i64(),
    tier: TIERS[i % 4]!,
    rewardDebt: u64() * u64(),
    cooldownEnd: i % 3 === 0 ? null : [i64(), -1n, 0n, 2n ** 63n - 1n, -(2n ** 63n)][i % 5]!,
    cooldownAmount: amount(i + 2),
    bump: i % 256,
  });
}

/** What Anchor's coder reads, or its refusal. */
function anchor(data: Buffer) {
  try {
    const s = decodeUserStake(data);
    return { owner: s.owner, pool: s.pool, stakedAmount: s.stakedAmount, tier: s.tier, cooldownEnd: s.cooldownEnd, cooldownAmount: s.cooldownAmount };
  } catch (err) {
    if (err instanceof AccountDecodeError) return null;
    throw err;
  }
}

function fixed(data: Buffer) {
  const s = readUserStakeHoldings(data);
  if (!s) return null;
  const { poolKey, ...rest } = s;
  return { ...rest, pool: bs58.encode(poolKey) };
}

describe("readUserStakeHoldings", () => {
  it("reads what Anchor's coder reads from 2,000 valid accounts", () => {
    for (let i = 0; i < 2_000; i++) {
      const data = randomAccount(i);
      const expected = anchor(data);
      expect(expected).not.toBeNull();
      expect(fixed(data)).toEqual(expected);
      expect(userStakeHoldingsError(data)).toBeNull();
    }
  });

  it("refuses exactly what Anchor's coder refuses", () => {
    const cases: [string, (d: Buffer) => Buffer][] = [
      ["tier byte past Enterprise", (d) => ((d[112] = 4 + (randomBytes(1)[0]! % 252)), d)],
      ["option tag above 1", (d) => ((d[129] = 2 + (randomBytes(1)[0]! % 254)), d)],
      ["wrong discriminator", (d) => ((d[3] = d[3]! ^ 0xff), d)],
      ["cut after the option tag", (d) => d.subarray(0, 131)],
      ["cut inside cooldown_amount", (d) => d.subarray(0, d[129] === 1 ? 145 : 137)],
      ["cut before the tier", (d) => d.subarray(0, 100)],
    ];
    for (const [name, breakIt] of cases) {
      for (let i = 0; i < 1_000; i++) {
        const data = breakIt(randomAccount(i));
        const expected = anchor(data);
        expect(fixed(data), `${name} #${i}`).toEqual(expected);
        if (expected === null) expect(userStakeHoldingsError(data), name).toMatch(/./);
      }
    }
    // The broken cases above are refusals, not accidents of the random bytes.
    const refused = (d: Buffer) => readUserStakeHoldings(d) === null;
    expect(cases.every(([, breakIt]) => refused(breakIt(randomAccount(1))))).toBe(true);
  });

  it("ignores the zero padding after bump, whatever the option", () => {
    for (const cooldownEnd of [null, 5n]) {
      const data = randomAccount(7);
      const s = decodeUserStake(data);
      const again = encodeUserStake({ ...s, cooldownEnd });
      expect(fixed(again)).toEqual(anchor(again));
      expect(again).toHaveLength(147);
    }
  });
});
