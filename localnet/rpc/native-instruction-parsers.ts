/**
 * jsonParsed instructions of the address lookup table program, the Stake program and the upgradeable BPF loader,
 * in solana-transaction-status's shapes. Instructions not decoded here throw ParseFailure (shown partially
 * decoded, as the validator shows what it cannot parse).
 */
import { accountAt, Cursor, ParseFailure } from "./instruction-cursor.ts";

type Parsed = { type: string; info: Record<string, unknown> };

export function parseAddressLookupTable(data: Uint8Array, accounts: string[]): Parsed {
  const c = new Cursor(data);
  const a = (i: number) => accountAt(accounts, i);
  switch (c.u32()) {
    case 0: {
      const recentSlot = c.u64();
      const bumpSeed = c.u8();
      return {
        type: "createLookupTable",
        info: { lookupTableAccount: a(0), lookupTableAuthority: a(1), payerAccount: a(2), systemProgram: a(3), recentSlot, bumpSeed },
      };
    }
    case 1:
      return { type: "freezeLookupTable", info: { lookupTableAccount: a(0), lookupTableAuthority: a(1) } };
    case 2: {
      const count = Number(c.u64());
      const newAddresses = Array.from({ length: count }, () => c.key());
      const info: Record<string, unknown> = { lookupTableAccount: a(0), lookupTableAuthority: a(1) };
      if (accounts.length > 2) {
        info.payerAccount = a(2);
        info.systemProgram = a(3);
      }
      info.newAddresses = newAddresses;
      return { type: "extendLookupTable", info };
    }
    case 3:
      return { type: "deactivateLookupTable", info: { lookupTableAccount: a(0), lookupTableAuthority: a(1) } };
    case 4:
      return { type: "closeLookupTable", info: { lookupTableAccount: a(0), lookupTableAuthority: a(1), recipient: a(2) } };
    default:
      throw new ParseFailure("unknown lookup table instruction");
  }
}

const STAKE_AUTHORIZE = ["Staker", "Withdrawer"] as const;

function stakeAuthorize(c: Cursor): string {
  const kind = STAKE_AUTHORIZE[c.u32()];
  if (!kind) throw new ParseFailure("unknown stake authorization");
  return kind;
}

export function parseStake(data: Uint8Array, accounts: string[]): Parsed {
  const c = new Cursor(data);
  const a = (i: number) => accountAt(accounts, i);
  switch (c.u32()) {
    case 0: {
      const staker = c.key();
      const withdrawer = c.key();
      const unixTimestamp = c.i64();
      const epoch = c.u64();
      const custodian = c.key();
      return {
        type: "initialize",
        info: { stakeAccount: a(0), rentSysvar: a(1), authorized: { staker, withdrawer }, lockup: { unixTimestamp, epoch, custodian } },
      };
    }
    case 1: {
      const newAuthority = c.key();
      const authorityType = stakeAuthorize(c);
      const info: Record<string, unknown> = { stakeAccount: a(0), clockSysvar: a(1), authority: a(2), newAuthority, authorityType };
      if (accounts.length > 3) info.custodian = a(3);
      return { type: "authorize", info };
    }
    case 2:
      return {
        type: "delegate",
        info: { stakeAccount: a(0), voteAccount: a(1), clockSysvar: a(2), stakeHistorySysvar: a(3), stakeConfigAccount: a(4), stakeAuthority: a(5) },
      };
    case 3:
      return { type: "split", info: { stakeAccount: a(0), newSplitAccount: a(1), stakeAuthority: a(2), lamports: c.u64() } };
    case 4: {
      const lamports = c.u64();
      const info: Record<string, unknown> = {
        stakeAccount: a(0),
        destination: a(1),
        clockSysvar: a(2),
        stakeHistorySysvar: a(3),
        withdrawAuthority: a(4),
        lamports,
      };
      if (accounts.length > 5) info.custodian = a(5);
      return { type: "withdraw", info };
    }
    case 5:
      return { type: "deactivate", info: { stakeAccount: a(0), clockSysvar: a(1), stakeAuthority: a(2) } };
    case 7:
      return { type: "merge", info: { destination: a(0), source: a(1), clockSysvar: a(2), stakeHistorySysvar: a(3), stakeAuthority: a(4) } };
    default:
      throw new ParseFailure("stake instruction not decoded here");
  }
}

export function parseUpgradeableLoader(data: Uint8Array, accounts: string[]): Parsed {
  const c = new Cursor(data);
  const a = (i: number) => accountAt(accounts, i);
  switch (c.u32()) {
    case 0: {
      const info: Record<string, unknown> = { account: a(0) };
      if (accounts.length > 1) info.authority = a(1);
      return { type: "initializeBuffer", info };
    }
    case 1: {
      const offset = c.u32();
      const length = Number(c.u64());
      c.need(length);
      const bytes = Buffer.from(data.subarray(c.offset, c.offset + length)).toString("base64");
      return { type: "write", info: { offset, bytes, account: a(0), authority: a(1) } };
    }
    case 2: {
      const maxDataLen = c.u64();
      return {
        type: "deployWithMaxDataLen",
        info: {
          maxDataLen,
          payerAccount: a(0),
          programDataAccount: a(1),
          programAccount: a(2),
          bufferAccount: a(3),
          rentSysvar: a(4),
          clockSysvar: a(5),
          systemProgram: a(6),
          authority: a(7),
        },
      };
    }
    case 3:
      return {
        type: "upgrade",
        info: { programDataAccount: a(0), programAccount: a(1), bufferAccount: a(2), spillAccount: a(3), rentSysvar: a(4), clockSysvar: a(5), authority: a(6) },
      };
    case 4:
      return { type: "setAuthority", info: { account: a(0), authority: a(1), newAuthority: accounts.length > 2 ? a(2) : null } };
    case 5: {
      const info: Record<string, unknown> = { account: a(0), recipient: a(1), authority: a(2) };
      if (accounts.length > 3) info.programAccount = a(3);
      return { type: "close", info };
    }
    case 6: {
      const additionalBytes = c.u32();
      const info: Record<string, unknown> = { additionalBytes, programDataAccount: a(0), programAccount: a(1) };
      if (accounts.length > 2) info.systemProgram = a(2);
      if (accounts.length > 3) info.payerAccount = a(3);
      return { type: "extendProgram", info };
    }
    case 7:
      return { type: "setAuthorityChecked", info: { account: a(0), authority: a(1), newAuthority: a(2) } };
    default:
      throw new ParseFailure("loader instruction not decoded here");
  }
}
