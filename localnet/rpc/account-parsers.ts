/**
 * jsonParsed account data for the programs a validator's account decoder knows besides the token programs:
 * address lookup tables, nonce accounts (System), stake, vote, config (stake config, validator info), the
 * upgradeable BPF loader and the sysvars. Shapes are solana-account-decoder's as Agave 2.3 (the apiVersion the
 * chain reports) gives them: u64 fields the decoder stringifies are strings, the rest numbers. Data that does not
 * decode yields null, and the caller falls back to base64 as the validator does.
 */
import type { AccountState } from "../types.ts";
import { encodeBase58 } from "./base58.ts";

export const ADDRESS_LOOKUP_TABLE_PROGRAM = "AddressLookupTab1e1111111111111111111111111";
export const STAKE_PROGRAM = "Stake11111111111111111111111111111111111111";
export const VOTE_PROGRAM = "Vote111111111111111111111111111111111111111";
export const CONFIG_PROGRAM = "Config1111111111111111111111111111111111111";
export const UPGRADEABLE_LOADER = "BPFLoaderUpgradeab1e11111111111111111111111";
export const SYSVAR_OWNER = "Sysvar1111111111111111111111111111111111111";
const SYSTEM_PROGRAM = "11111111111111111111111111111111";
const STAKE_CONFIG = "StakeConfig11111111111111111111111111111111";
const VALIDATOR_INFO = "Va1idator1nfo111111111111111111111111111111";
const NONCE_ACCOUNT_SIZE = 80;
const LOOKUP_TABLE_META_SIZE = 56;

export interface ParsedAccountData {
  program: string;
  parsed: unknown;
  space: number;
}

class Short extends Error {}

/** A little-endian bincode reader that throws Short past the end. */
class Reader {
  private readonly dv: DataView;
  private readonly bytes: Uint8Array;
  offset: number;
  constructor(bytes: Uint8Array, offset = 0) {
    this.bytes = bytes;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = offset;
  }
  private take(n: number): number {
    if (this.offset + n > this.bytes.length) throw new Short();
    const at = this.offset;
    this.offset += n;
    return at;
  }
  u8(): number {
    return this.bytes[this.take(1)]!;
  }
  bool(): boolean {
    const v = this.u8();
    if (v > 1) throw new Short();
    return v === 1;
  }
  u16(): number {
    return this.dv.getUint16(this.take(2), true);
  }
  i16(): number {
    return this.dv.getInt16(this.take(2), true);
  }
  u32(): number {
    return this.dv.getUint32(this.take(4), true);
  }
  u64(): bigint {
    return this.dv.getBigUint64(this.take(8), true);
  }
  i64(): bigint {
    return this.dv.getBigInt64(this.take(8), true);
  }
  f64(): number {
    return this.dv.getFloat64(this.take(8), true);
  }
  u128(): bigint {
    const lo = this.u64();
    return (this.u64() << 64n) | lo;
  }
  key(): string {
    const at = this.take(32);
    return encodeBase58(this.bytes.subarray(at, at + 32));
  }
  /** bincode Option<T>: a one-byte tag. */
  option<T>(read: () => T): T | null {
    return this.bool() ? read() : null;
  }
  /** bincode Vec<T>/VecDeque<T>: a u64 length. */
  vec<T>(read: () => T): T[] {
    const n = this.u64();
    if (n > BigInt(this.bytes.length)) throw new Short();
    return Array.from({ length: Number(n) }, read);
  }
  /** solana short_vec length (compact-u16). */
  shortVec<T>(read: () => T): T[] {
    let n = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = this.u8();
      n |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
    }
    return Array.from({ length: n }, read);
  }
  string(): string {
    const n = Number(this.u64());
    const at = this.take(n);
    return new TextDecoder("utf-8", { fatal: true }).decode(this.bytes.subarray(at, at + n));
  }
  rest(): Uint8Array {
    return this.bytes.subarray(this.offset);
  }
}

const base64 = (bytes: Uint8Array): [string, string] => [Buffer.from(bytes).toString("base64"), "base64"];

function lookupTable(data: Uint8Array): unknown {
  const r = new Reader(data);
  const discriminator = r.u32();
  if (discriminator === 0) return { type: "uninitialized" };
  if (discriminator !== 1 || data.length < LOOKUP_TABLE_META_SIZE) throw new Short();
  const deactivationSlot = r.u64();
  const lastExtendedSlot = r.u64();
  const lastExtendedSlotStartIndex = r.u8();
  const authority = r.option(() => r.key());
  const addressBytes = data.subarray(LOOKUP_TABLE_META_SIZE);
  if (addressBytes.length % 32 !== 0) throw new Short();
  const addresses: string[] = [];
  for (let i = 0; i < addressBytes.length; i += 32) addresses.push(encodeBase58(addressBytes.subarray(i, i + 32)));
  const info: Record<string, unknown> = {
    deactivationSlot: deactivationSlot.toString(),
    lastExtendedSlot: lastExtendedSlot.toString(),
    lastExtendedSlotStartIndex,
  };
  if (authority !== null) info.authority = authority;
  info.addresses = addresses;
  return { type: "lookupTable", info };
}

function nonce(data: Uint8Array): unknown {
  if (data.length !== NONCE_ACCOUNT_SIZE) throw new Short();
  const r = new Reader(data);
  r.u32(); // versions: legacy or current, same layout
  const state = r.u32();
  if (state === 0) return { type: "uninitialized" };
  if (state !== 1) throw new Short();
  const authority = r.key();
  const blockhash = r.key();
  return { type: "initialized", info: { authority, blockhash, feeCalculator: { lamportsPerSignature: r.u64().toString() } } };
}

function stakeMeta(r: Reader): Record<string, unknown> {
  const rentExemptReserve = r.u64().toString();
  const staker = r.key();
  const withdrawer = r.key();
  const unixTimestamp = r.i64();
  const epoch = r.u64();
  const custodian = r.key();
  return { rentExemptReserve, authorized: { staker, withdrawer }, lockup: { unixTimestamp, epoch, custodian } };
}

function stake(data: Uint8Array): unknown {
  const r = new Reader(data);
  switch (r.u32()) {
    case 0:
      return { type: "uninitialized" };
    case 1:
      return { type: "initialized", info: { meta: stakeMeta(r), stake: null } };
    case 2: {
      const meta = stakeMeta(r);
      const voter = r.key();
      const amount = r.u64().toString();
      const activationEpoch = r.u64().toString();
      const deactivationEpoch = r.u64().toString();
      const warmupCooldownRate = r.f64();
      const creditsObserved = r.u64();
      return {
        type: "delegated",
        info: { meta, stake: { delegation: { voter, stake: amount, activationEpoch, deactivationEpoch, warmupCooldownRate }, creditsObserved } },
      };
    }
    case 3:
      return { type: "rewardsPool" };
    default:
      throw new Short();
  }
}

const MAX_PRIOR_VOTERS = 32;

/** Votes, root, authorized voters: the part every vote state version shares after its own header. */
function voteHistory(r: Reader, withLatency: boolean) {
  const votes = r.vec(() => {
    const latency = withLatency ? r.u8() : 0;
    const slot = r.u64();
    return { slot, confirmationCount: r.u32(), latency };
  });
  const rootSlot = r.option(() => r.u64());
  const authorizedVoters = r.vec(() => {
    const epoch = r.u64();
    return { epoch, authorizedVoter: r.key() };
  });
  return { votes, rootSlot, authorizedVoters };
}

function voteTail(r: Reader) {
  const epochCredits = r.vec(() => {
    const epoch = r.u64();
    const credits = r.u64().toString();
    return { epoch, credits, previousCredits: r.u64().toString() };
  });
  const slot = r.u64();
  return { epochCredits, lastTimestamp: { slot, timestamp: r.i64() } };
}

/** VoteStateV4 (SIMD-0185, what the current vote program writes), in the decoder's V4 shape. */
function voteV4(r: Reader): unknown {
  const nodePubkey = r.key();
  const authorizedWithdrawer = r.key();
  const inflationRewardsCollector = r.key();
  const blockRevenueCollector = r.key();
  const inflationRewardsCommissionBps = r.u16();
  const blockRevenueCommissionBps = r.u16();
  const pendingDelegatorRewards = r.u64().toString();
  const bls = r.option(() => new Uint8Array(Array.from({ length: 48 }, () => r.u8())));
  const { votes, rootSlot, authorizedVoters } = voteHistory(r, true);
  return {
    type: "vote",
    info: {
      nodePubkey,
      authorizedWithdrawer,
      commission: Math.floor(inflationRewardsCommissionBps / 100),
      inflationRewardsCollector,
      blockRevenueCollector,
      inflationRewardsCommissionBps,
      blockRevenueCommissionBps,
      pendingDelegatorRewards,
      blsPubkeyCompressed: bls ? encodeBase58(bls) : null,
      votes,
      rootSlot,
      authorizedVoters,
      priorVoters: [],
      ...voteTail(r),
    },
  };
}

function vote(data: Uint8Array): unknown {
  const r = new Reader(data);
  const version = r.u32();
  if (version === 3) return voteV4(r);
  // 1: V1_14_11 (lockouts without latency), 2: V3 (landed votes with latency); V0_23_5 is long gone
  if (version !== 1 && version !== 2) throw new Short();
  const nodePubkey = r.key();
  const authorizedWithdrawer = r.key();
  const commission = r.u8();
  const history = voteHistory(r, version === 2);
  // the 2.3 decoder shows lockouts as slot and confirmation count only
  const votes = history.votes.map(({ slot, confirmationCount }) => ({ slot, confirmationCount }));
  const { rootSlot, authorizedVoters } = history;
  const buffer = Array.from({ length: MAX_PRIOR_VOTERS }, () => {
    const authorizedPubkey = r.key();
    const epochOfLastAuthorizedSwitch = r.u64();
    return { authorizedPubkey, epochOfLastAuthorizedSwitch, targetEpoch: r.u64() };
  });
  r.u64(); // circular buffer index
  r.bool(); // is_empty
  // the decoder lists the buffer in storage order, leaving out unused (default-key) slots
  const priorVoters = buffer.filter((v) => v.authorizedPubkey !== SYSTEM_PROGRAM);
  return {
    type: "vote",
    info: { nodePubkey, authorizedWithdrawer, commission, votes, rootSlot, authorizedVoters, priorVoters, ...voteTail(r) },
  };
}

function config(pubkey: string | undefined, data: Uint8Array): unknown {
  const r = new Reader(data);
  const keys = r.shortVec(() => {
    const key = r.key();
    return { pubkey: key, signer: r.bool() };
  });
  if (pubkey === STAKE_CONFIG) {
    const warmupCooldownRate = r.f64();
    return { type: "stakeConfig", info: { warmupCooldownRate, slashPenalty: r.u8() } };
  }
  if (keys[0]?.pubkey === VALIDATOR_INFO) {
    return { type: "validatorInfo", info: { keys, configData: JSON.parse(r.string()) as unknown } };
  }
  throw new Short();
}

function upgradeableLoader(data: Uint8Array): unknown {
  const r = new Reader(data);
  switch (r.u32()) {
    case 0:
      return { type: "uninitialized" };
    case 1: {
      const authority = r.option(() => r.key());
      return { type: "buffer", info: { ...(authority ? { authority } : {}), data: base64(r.rest()) } };
    }
    case 2:
      return { type: "program", info: { programData: r.key() } };
    case 3: {
      const slot = r.u64();
      const authority = r.option(() => r.key());
      // the program bytes start after the fixed header whether or not an authority is set
      return { type: "programData", info: { slot, ...(authority ? { authority } : {}), data: base64(data.subarray(45)) } };
    }
    default:
      throw new Short();
  }
}

const SLOT_HISTORY_BITS = 1024 * 1024;

function sysvar(pubkey: string | undefined, data: Uint8Array): unknown {
  const r = new Reader(data);
  switch (pubkey) {
    case "SysvarC1ock11111111111111111111111111111111": {
      const slot = r.u64();
      const epochStartTimestamp = r.i64();
      const epoch = r.u64();
      const leaderScheduleEpoch = r.u64();
      return { type: "clock", info: { slot, epoch, epochStartTimestamp, leaderScheduleEpoch, unixTimestamp: r.i64() } };
    }
    case "SysvarEpochSchedu1e111111111111111111111111": {
      const slotsPerEpoch = r.u64();
      const leaderScheduleSlotOffset = r.u64();
      const warmup = r.bool();
      const firstNormalEpoch = r.u64();
      return { type: "epochSchedule", info: { slotsPerEpoch, leaderScheduleSlotOffset, warmup, firstNormalEpoch, firstNormalSlot: r.u64() } };
    }
    case "SysvarFees111111111111111111111111111111111":
      return { type: "fees", info: { feeCalculator: { lamportsPerSignature: r.u64().toString() } } };
    case "SysvarRecentB1ockHashes11111111111111111111":
      return {
        type: "recentBlockhashes",
        info: r.vec(() => {
          const blockhash = r.key();
          return { blockhash, feeCalculator: { lamportsPerSignature: r.u64().toString() } };
        }),
      };
    case "SysvarRent111111111111111111111111111111111": {
      const lamportsPerByteYear = r.u64().toString();
      const exemptionThreshold = r.f64();
      return { type: "rent", info: { lamportsPerByteYear, exemptionThreshold, burnPercent: r.u8() } };
    }
    case "SysvarRewards111111111111111111111111111111":
      return { type: "rewards", info: { validatorPointValue: r.f64() } };
    case "SysvarS1otHashes111111111111111111111111111":
      return {
        type: "slotHashes",
        info: r.vec(() => {
          const slot = r.u64();
          return { slot, hash: r.key() };
        }),
      };
    case "SysvarS1otHistory11111111111111111111111111": {
      const words = r.option(() => r.vec(() => r.u64())) ?? [];
      r.u64(); // bit length
      const nextSlot = r.u64();
      const bits = new Uint8Array(SLOT_HISTORY_BITS).fill(48); // '0'
      words.forEach((word, w) => {
        for (let b = 0; b < 64 && word !== 0n; b++, word >>= 1n) if (word & 1n) bits[w * 64 + b] = 49; // '1'
      });
      return { type: "slotHistory", info: { nextSlot, bits: Buffer.from(bits).toString("latin1") } };
    }
    case "SysvarStakeHistory1111111111111111111111111":
      return {
        type: "stakeHistory",
        info: r.vec(() => {
          const epoch = r.u64();
          const effective = r.u64();
          const activating = r.u64();
          return { epoch, stakeHistory: { effective, activating, deactivating: r.u64() } };
        }),
      };
    case "SysvarLastRestartS1ot1111111111111111111111":
      return { type: "lastRestartSlot", info: { lastRestartSlot: r.u64() } };
    case "SysvarEpochRewards1111111111111111111111111": {
      const distributionStartingBlockHeight = r.u64();
      const numPartitions = r.u64();
      const parentBlockhash = r.key();
      const totalPoints = r.u128().toString();
      const totalRewards = r.u64().toString();
      const distributedRewards = r.u64().toString();
      const active = r.bool();
      return {
        type: "epochRewards",
        info: { distributionStartingBlockHeight, numPartitions, parentBlockhash, totalPoints, totalRewards, distributedRewards, active },
      };
    }
    case undefined:
    default:
      throw new Short();
  }
}

/**
 * The jsonParsed `data` member for an account of one of these programs, or null (not one of them, or data that
 * does not decode: the caller then answers base64).
 */
export function parseProgramAccount(pubkey: string | undefined, account: AccountState): ParsedAccountData | null {
  const data = account.data;
  const space = data.length;
  const as = (program: string, parse: () => unknown): ParsedAccountData | null => {
    try {
      return { program, parsed: parse(), space };
    } catch (err) {
      if (err instanceof Short || err instanceof SyntaxError || err instanceof TypeError) return null;
      throw err;
    }
  };
  switch (account.owner) {
    case ADDRESS_LOOKUP_TABLE_PROGRAM:
      return as("address-lookup-table", () => lookupTable(data));
    case SYSTEM_PROGRAM:
      return space === NONCE_ACCOUNT_SIZE ? as("nonce", () => nonce(data)) : null;
    case STAKE_PROGRAM:
      return as("stake", () => stake(data));
    case VOTE_PROGRAM:
      return as("vote", () => vote(data));
    case CONFIG_PROGRAM:
      return as("config", () => config(pubkey, data));
    case UPGRADEABLE_LOADER:
      return as("bpf-upgradeable-loader", () => upgradeableLoader(data));
    case SYSVAR_OWNER:
      return as("sysvar", () => sysvar(pubkey, data));
    default:
      return null;
  }
}
