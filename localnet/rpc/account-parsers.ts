/**
 * jsonParsed account data for the programs a validator's account decoder knows besides the token programs:
 * address lookup tables, nonce accounts (System), stake, vote, config (stake config, validator info), the
 * upgradeable BPF loader and the sysvars. Shapes are solana-account-decoder's as Agave 2.3 (the apiVersion the
 * chain reports) gives them: u64 fields the decoder stringifies are strings, the rest numbers. Data that does not
 * decode yields null, and the caller falls back to base64 as the validator does.
 */
import type { AccountState } from "../types.ts";
import { encodeBase58 } from "../../src/solana/base58.ts";
import { base64, Reader, Short } from "./bincode-reader.ts";
import { sysvar } from "./sysvar-accounts.ts";
import { vote } from "./vote-account.ts";

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
