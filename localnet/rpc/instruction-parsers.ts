/**
 * jsonParsed instructions: System, SPL Token / Token-2022, Associated Token Account, Memo, address lookup tables,
 * Stake and the upgradeable BPF loader are decoded into
 * `{program, programId, parsed: {type, info}}` like the validator; anything else (or malformed data) is shown
 * partially decoded as `{programId, accounts, data}`.
 */
import { encodeBase58 } from "../../src/solana/base58.ts";
import { accountAt, Cursor, ParseFailure } from "./instruction-cursor.ts";
import { parseAddressLookupTable, parseStake, parseUpgradeableLoader } from "./native-instruction-parsers.ts";
import { TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID, uiTokenAmount } from "./token-accounts.ts";

export const SYSTEM_PROGRAM_ID = "11111111111111111111111111111111";
export const ATA_PROGRAM_ID = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL";
export const MEMO_V1_PROGRAM_ID = "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo";
export const MEMO_PROGRAM_ID = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr";
const ADDRESS_LOOKUP_TABLE_PROGRAM_ID = "AddressLookupTab1e1111111111111111111111111";
const STAKE_PROGRAM_ID = "Stake11111111111111111111111111111111111111";
const UPGRADEABLE_LOADER_ID = "BPFLoaderUpgradeab1e11111111111111111111111";

export interface ParsedInstructionJson {
  program: string;
  programId: string;
  parsed: unknown;
  stackHeight: number | null;
}

export interface PartiallyDecodedInstructionJson {
  programId: string;
  accounts: string[];
  data: string;
  stackHeight: number | null;
}

function parseSystem(data: Uint8Array, accounts: string[]): { type: string; info: Record<string, unknown> } {
  const c = new Cursor(data);
  const a = (i: number) => accountAt(accounts, i);
  switch (c.u32()) {
    case 0: {
      const lamports = c.u64();
      const space = c.u64();
      return { type: "createAccount", info: { source: a(0), newAccount: a(1), lamports, space, owner: c.key() } };
    }
    case 1:
      return { type: "assign", info: { account: a(0), owner: c.key() } };
    case 2:
      return { type: "transfer", info: { source: a(0), destination: a(1), lamports: c.u64() } };
    case 3: {
      const base = c.key();
      const seed = c.bincodeString();
      const lamports = c.u64();
      const space = c.u64();
      const owner = c.key();
      return { type: "createAccountWithSeed", info: { source: a(0), newAccount: a(1), base, seed, lamports, space, owner } };
    }
    case 4:
      return { type: "advanceNonce", info: { nonceAccount: a(0), recentBlockhashesSysvar: a(1), nonceAuthority: a(2) } };
    case 5: {
      const lamports = c.u64();
      return {
        type: "withdrawFromNonce",
        info: { nonceAccount: a(0), destination: a(1), recentBlockhashesSysvar: a(2), rentSysvar: a(3), nonceAuthority: a(4), lamports },
      };
    }
    case 6:
      return {
        type: "initializeNonce",
        info: { nonceAccount: a(0), recentBlockhashesSysvar: a(1), rentSysvar: a(2), nonceAuthority: c.key() },
      };
    case 7:
      return { type: "authorizeNonce", info: { nonceAccount: a(0), nonceAuthority: a(1), newAuthorized: c.key() } };
    case 8:
      return { type: "allocate", info: { account: a(0), space: c.u64() } };
    case 9: {
      const base = c.key();
      const seed = c.bincodeString();
      const space = c.u64();
      return { type: "allocateWithSeed", info: { account: a(0), base, seed, space, owner: c.key() } };
    }
    case 10: {
      const base = c.key();
      const seed = c.bincodeString();
      return { type: "assignWithSeed", info: { account: a(0), base, seed, owner: c.key() } };
    }
    case 11: {
      const lamports = c.u64();
      const sourceSeed = c.bincodeString();
      const sourceOwner = c.key();
      return {
        type: "transferWithSeed",
        info: { source: a(0), sourceBase: a(1), destination: a(2), lamports, sourceSeed, sourceOwner },
      };
    }
    case 12:
      return { type: "upgradeNonce", info: { nonceAccount: a(0) } };
    default:
      throw new ParseFailure("unknown system instruction");
  }
}

const AUTHORITY_TYPES = ["mintTokens", "freezeAccount", "accountOwner", "closeAccount"] as const;

/** spl-token names a single signer "<role>", a multisig "multisig<Role>" plus "signers". */
function signer(info: Record<string, unknown>, accounts: string[], index: number, role: string): Record<string, unknown> {
  const authority = accountAt(accounts, index);
  if (accounts.length > index + 1) {
    info[`multisig${role[0]!.toUpperCase()}${role.slice(1)}`] = authority;
    info.signers = accounts.slice(index + 1);
  } else {
    info[role] = authority;
  }
  return info;
}

function parseToken(data: Uint8Array, accounts: string[]): { type: string; info: Record<string, unknown> } {
  const c = new Cursor(data);
  const a = (i: number) => accountAt(accounts, i);
  const tag = c.u8();
  switch (tag) {
    case 0:
    case 20: {
      const decimals = c.u8();
      const mintAuthority = c.key();
      const freezeAuthority = c.optionKey();
      const info: Record<string, unknown> = { mint: a(0), decimals, mintAuthority };
      if (tag === 0) info.rentSysvar = a(1);
      if (freezeAuthority !== null) info.freezeAuthority = freezeAuthority;
      return { type: tag === 0 ? "initializeMint" : "initializeMint2", info };
    }
    case 1:
      return { type: "initializeAccount", info: { account: a(0), mint: a(1), owner: a(2), rentSysvar: a(3) } };
    case 16:
      return { type: "initializeAccount2", info: { account: a(0), mint: a(1), owner: c.key(), rentSysvar: a(2) } };
    case 18:
      return { type: "initializeAccount3", info: { account: a(0), mint: a(1), owner: c.key() } };
    case 3:
      return { type: "transfer", info: signer({ source: a(0), destination: a(1), amount: c.u64().toString() }, accounts, 2, "authority") };
    case 4:
      return { type: "approve", info: signer({ source: a(0), delegate: a(1), amount: c.u64().toString() }, accounts, 2, "owner") };
    case 5:
      return { type: "revoke", info: signer({ source: a(0) }, accounts, 1, "owner") };
    case 6: {
      const authorityType = AUTHORITY_TYPES[c.u8()];
      if (!authorityType) throw new ParseFailure("unknown authority type");
      const newAuthority = c.optionKey();
      const target = authorityType === "mintTokens" || authorityType === "freezeAccount" ? "mint" : "account";
      return { type: "setAuthority", info: signer({ [target]: a(0), authorityType, newAuthority }, accounts, 1, "authority") };
    }
    case 7:
      return { type: "mintTo", info: signer({ mint: a(0), account: a(1), amount: c.u64().toString() }, accounts, 2, "mintAuthority") };
    case 8:
      return { type: "burn", info: signer({ account: a(0), mint: a(1), amount: c.u64().toString() }, accounts, 2, "authority") };
    case 9:
      return { type: "closeAccount", info: signer({ account: a(0), destination: a(1) }, accounts, 2, "owner") };
    case 10:
      return { type: "freezeAccount", info: signer({ account: a(0), mint: a(1) }, accounts, 2, "freezeAuthority") };
    case 11:
      return { type: "thawAccount", info: signer({ account: a(0), mint: a(1) }, accounts, 2, "freezeAuthority") };
    case 12: {
      const amount = c.u64();
      const tokenAmount = uiTokenAmount(amount, c.u8());
      return { type: "transferChecked", info: signer({ source: a(0), mint: a(1), destination: a(2), tokenAmount }, accounts, 3, "authority") };
    }
    case 13: {
      const amount = c.u64();
      const tokenAmount = uiTokenAmount(amount, c.u8());
      return { type: "approveChecked", info: signer({ source: a(0), mint: a(1), delegate: a(2), tokenAmount }, accounts, 3, "owner") };
    }
    case 14: {
      const amount = c.u64();
      const tokenAmount = uiTokenAmount(amount, c.u8());
      return { type: "mintToChecked", info: signer({ mint: a(0), account: a(1), tokenAmount }, accounts, 2, "mintAuthority") };
    }
    case 15: {
      const amount = c.u64();
      const tokenAmount = uiTokenAmount(amount, c.u8());
      return { type: "burnChecked", info: signer({ account: a(0), mint: a(1), tokenAmount }, accounts, 2, "authority") };
    }
    case 17:
      return { type: "syncNative", info: { account: a(0) } };
    case 21:
      return { type: "getAccountDataSize", info: { mint: a(0) } };
    case 22:
      return { type: "initializeImmutableOwner", info: { account: a(0) } };
    case 23:
      return { type: "amountToUiAmount", info: { mint: a(0), amount: c.u64().toString() } };
    case 25:
      return { type: "initializeMintCloseAuthority", info: { mint: a(0), newAuthority: c.optionKey() } };
    default:
      throw new ParseFailure("instruction not decoded here");
  }
}

function parseAta(data: Uint8Array, accounts: string[]): { type: string; info: Record<string, unknown> } {
  const a = (i: number) => accountAt(accounts, i);
  const tag = data.length === 0 ? 0 : data[0];
  if (data.length > 1) throw new ParseFailure("unexpected data");
  if (tag === 0 || tag === 1) {
    return {
      type: tag === 0 ? "create" : "createIdempotent",
      info: { source: a(0), account: a(1), wallet: a(2), mint: a(3), systemProgram: a(4), tokenProgram: a(5) },
    };
  }
  if (tag === 2) {
    return {
      type: "recoverNested",
      info: { nestedSource: a(0), nestedMint: a(1), destination: a(2), nestedOwner: a(3), ownerMint: a(4), wallet: a(5), tokenProgram: a(6) },
    };
  }
  throw new ParseFailure("unknown associated token account instruction");
}

/** One instruction in jsonParsed form. `accounts` are the instruction's account addresses in order. */
export function parseInstruction(
  programId: string,
  accounts: string[],
  data: Uint8Array,
  stackHeight: number | null,
): ParsedInstructionJson | PartiallyDecodedInstructionJson {
  try {
    switch (programId) {
      case SYSTEM_PROGRAM_ID:
        return { program: "system", programId, parsed: parseSystem(data, accounts), stackHeight };
      case TOKEN_PROGRAM_ID:
      case TOKEN_2022_PROGRAM_ID:
        return { program: "spl-token", programId, parsed: parseToken(data, accounts), stackHeight };
      case ATA_PROGRAM_ID:
        return { program: "spl-associated-token-account", programId, parsed: parseAta(data, accounts), stackHeight };
      case ADDRESS_LOOKUP_TABLE_PROGRAM_ID:
        return { program: "address-lookup-table", programId, parsed: parseAddressLookupTable(data, accounts), stackHeight };
      case STAKE_PROGRAM_ID:
        return { program: "stake", programId, parsed: parseStake(data, accounts), stackHeight };
      case UPGRADEABLE_LOADER_ID:
        return { program: "bpf-upgradeable-loader", programId, parsed: parseUpgradeableLoader(data, accounts), stackHeight };
      case MEMO_PROGRAM_ID:
      case MEMO_V1_PROGRAM_ID:
        return { program: "spl-memo", programId, parsed: new TextDecoder("utf-8", { fatal: true }).decode(data), stackHeight };
    }
  } catch (err) {
    if (!(err instanceof ParseFailure) && !(err instanceof TypeError)) throw err;
  }
  return { programId, accounts, data: encodeBase58(data), stackHeight };
}
