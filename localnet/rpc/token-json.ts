/**
 * The jsonParsed `data` of token-program accounts as the validator renders it: Token-2022 extensions as its
 * UiExtension list, and token accounts, mints and multisigs. The byte layouts are read in token-accounts.ts.
 */
import type { AccountState, ChainApi } from "../types.ts";
import {
  key,
  mintDecimals,
  MULTISIG_SIZE,
  nonZeroKey,
  readMint,
  readTokenAccount,
  STATES,
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
  uiTokenAmount,
  view,
} from "./token-accounts.ts";

const EXTENSION_NAMES = [
  "uninitialized",
  "transferFeeConfig",
  "transferFeeAmount",
  "mintCloseAuthority",
  "confidentialTransferMint",
  "confidentialTransferAccount",
  "defaultAccountState",
  "immutableOwner",
  "memoTransfer",
  "nonTransferable",
  "interestBearingConfig",
  "cpiGuard",
  "permanentDelegate",
  "nonTransferableAccount",
  "transferHook",
  "transferHookAccount",
  "confidentialTransferFeeConfig",
  "confidentialTransferFeeAmount",
  "metadataPointer",
  "tokenMetadata",
  "groupPointer",
  "tokenGroup",
  "groupMemberPointer",
  "tokenGroupMember",
  "confidentialMintBurn",
  "scaledUiAmountConfig",
  "pausableConfig",
  "pausableAccount",
];

type UiExtension = { extension: string; state?: Record<string, unknown> };

/** The TokenMetadata extension (Borsh: two keys, three u32-prefixed strings, a u32-prefixed list of pairs). */
function tokenMetadata(value: Uint8Array): Record<string, unknown> | null {
  const dv = view(value);
  let offset = 64;
  const text = (): string | null => {
    if (offset + 4 > value.length) return null;
    const n = dv.getUint32(offset, true);
    if (offset + 4 + n > value.length) return null;
    const bytes = value.subarray(offset + 4, offset + 4 + n);
    offset += 4 + n;
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      return null;
    }
  };
  if (value.length < 64) return null;
  const name = text();
  const symbol = text();
  const uri = text();
  if (name === null || symbol === null || uri === null || offset + 4 > value.length) return null;
  const count = dv.getUint32(offset, true);
  offset += 4;
  const additionalMetadata: [string, string][] = [];
  for (let i = 0; i < count; i++) {
    const k = text();
    const v = text();
    if (k === null || v === null) return null;
    additionalMetadata.push([k, v]);
  }
  return { updateAuthority: nonZeroKey(value, 0), mint: key(value, 32), name, symbol, uri, additionalMetadata };
}

function uiExtension(type: number, value: Uint8Array): UiExtension {
  const name = EXTENSION_NAMES[type];
  const dv = view(value);
  const state = (s: Record<string, unknown>): UiExtension => ({ extension: name!, state: s });
  switch (name) {
    case "immutableOwner":
    case "nonTransferable":
    case "nonTransferableAccount":
    case "pausableAccount":
      return value.length === 0 ? { extension: name } : { extension: "unparseableExtension" };
    case "mintCloseAuthority":
      if (value.length === 32) return state({ closeAuthority: nonZeroKey(value, 0) });
      break;
    case "permanentDelegate":
      if (value.length === 32) return state({ delegate: nonZeroKey(value, 0) });
      break;
    case "transferFeeAmount":
      if (value.length === 8) return state({ withheldAmount: dv.getBigUint64(0, true) });
      break;
    case "defaultAccountState":
      if (value.length === 1 && STATES[value[0]!]) return state({ accountState: STATES[value[0]!] });
      break;
    case "memoTransfer":
      if (value.length === 1) return state({ requireIncomingTransferMemos: value[0] === 1 });
      break;
    case "cpiGuard":
      if (value.length === 1) return state({ lockCpi: value[0] === 1 });
      break;
    case "transferHookAccount":
      if (value.length === 1) return state({ transferring: value[0] === 1 });
      break;
    case "transferHook":
      if (value.length === 64) return state({ authority: nonZeroKey(value, 0), programId: nonZeroKey(value, 32) });
      break;
    case "metadataPointer":
      if (value.length === 64) return state({ authority: nonZeroKey(value, 0), metadataAddress: nonZeroKey(value, 32) });
      break;
    case "groupPointer":
      if (value.length === 64) return state({ authority: nonZeroKey(value, 0), groupAddress: nonZeroKey(value, 32) });
      break;
    case "groupMemberPointer":
      if (value.length === 64) return state({ authority: nonZeroKey(value, 0), memberAddress: nonZeroKey(value, 32) });
      break;
    case "transferFeeConfig":
      if (value.length === 108) {
        const fee = (at: number) => ({
          epoch: dv.getBigUint64(at, true),
          maximumFee: dv.getBigUint64(at + 8, true),
          transferFeeBasisPoints: dv.getUint16(at + 16, true),
        });
        return state({
          transferFeeConfigAuthority: nonZeroKey(value, 0),
          withdrawWithheldAuthority: nonZeroKey(value, 32),
          withheldAmount: dv.getBigUint64(64, true),
          olderTransferFee: fee(72),
          newerTransferFee: fee(90),
        });
      }
      break;
    case "interestBearingConfig":
      if (value.length === 52) {
        return state({
          rateAuthority: nonZeroKey(value, 0),
          initializationTimestamp: dv.getBigInt64(32, true),
          preUpdateAverageRate: dv.getInt16(40, true),
          lastUpdateTimestamp: dv.getBigInt64(42, true),
          currentRate: dv.getInt16(50, true),
        });
      }
      break;
    case "scaledUiAmountConfig":
      if (value.length === 56) {
        return state({
          authority: nonZeroKey(value, 0),
          multiplier: String(dv.getFloat64(32, true)),
          newMultiplierEffectiveTimestamp: dv.getBigInt64(40, true),
          newMultiplier: String(dv.getFloat64(48, true)),
        });
      }
      break;
    case "tokenGroup":
      if (value.length === 80) {
        return state({
          updateAuthority: nonZeroKey(value, 0),
          mint: key(value, 32),
          size: dv.getBigUint64(64, true),
          maxSize: dv.getBigUint64(72, true),
        });
      }
      break;
    case "tokenGroupMember":
      if (value.length === 72) return state({ mint: key(value, 0), group: key(value, 32), memberNumber: dv.getBigUint64(64, true) });
      break;
    case "tokenMetadata": {
      const metadata = tokenMetadata(value);
      if (metadata) return state(metadata);
      break;
    }
    case "pausableConfig":
      if (value.length === 33) return state({ authority: nonZeroKey(value, 0), paused: value[32] === 1 });
      break;
    case undefined:
      break;
  }
  return { extension: "unparseableExtension" };
}

/** Token-2022 TLV entries as the validator's UiExtension list (shapes it cannot read become unparseableExtension). */
export function uiExtensions(tlv: Uint8Array): UiExtension[] {
  const out: UiExtension[] = [];
  const dv = view(tlv);
  let offset = 0;
  while (offset + 4 <= tlv.length) {
    const type = dv.getUint16(offset, true);
    const length = dv.getUint16(offset + 2, true);
    if (type === 0) break;
    const value = tlv.subarray(offset + 4, offset + 4 + length);
    if (value.length !== length) break;
    out.push(uiExtension(type, value));
    offset += 4 + length;
  }
  return out;
}

/**
 * The jsonParsed `data` member for a token-program account, or null when the validator would fall back to
 * base64 (not a token account, or a token account whose mint is missing).
 */
export function parseTokenProgramAccount(chain: ChainApi, account: AccountState): Record<string, unknown> | null {
  const program = account.owner === TOKEN_PROGRAM_ID ? "spl-token" : account.owner === TOKEN_2022_PROGRAM_ID ? "spl-token-2022" : null;
  if (program === null) return null;
  const space = account.data.length;
  const tokenAccount = readTokenAccount(account);
  if (tokenAccount) {
    const decimals = mintDecimals(chain, tokenAccount.mint);
    if (decimals === null) return null;
    const info: Record<string, unknown> = {
      isNative: tokenAccount.isNative !== null,
      mint: tokenAccount.mint,
      owner: tokenAccount.owner,
      state: tokenAccount.state,
      tokenAmount: uiTokenAmount(tokenAccount.amount, decimals),
    };
    if (tokenAccount.delegate !== null) {
      info.delegate = tokenAccount.delegate;
      info.delegatedAmount = uiTokenAmount(tokenAccount.delegatedAmount, decimals);
    }
    if (tokenAccount.isNative !== null) info.rentExemptReserve = uiTokenAmount(tokenAccount.isNative, decimals);
    if (tokenAccount.closeAuthority !== null) info.closeAuthority = tokenAccount.closeAuthority;
    if (tokenAccount.extensions) info.extensions = uiExtensions(tokenAccount.extensions);
    return { program, parsed: { info, type: "account" }, space };
  }
  const mint = readMint(account);
  if (mint) {
    const info: Record<string, unknown> = {
      decimals: mint.decimals,
      freezeAuthority: mint.freezeAuthority,
      isInitialized: mint.isInitialized,
      mintAuthority: mint.mintAuthority,
      supply: mint.supply.toString(),
    };
    if (mint.extensions) info.extensions = uiExtensions(mint.extensions);
    return { program, parsed: { info, type: "mint" }, space };
  }
  if (space === MULTISIG_SIZE && account.data[2] === 1) {
    const data = account.data;
    const numValidSigners = data[1]!;
    const signers: string[] = [];
    for (let i = 0; i < numValidSigners && i < 11; i++) signers.push(key(data, 3 + 32 * i));
    return {
      program,
      parsed: { info: { isInitialized: true, numRequiredSigners: data[0], numValidSigners, signers }, type: "multisig" },
      space,
    };
  }
  return null;
}
