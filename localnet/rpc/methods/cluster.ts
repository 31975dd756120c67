/** Cluster state: slots, blockhashes, epoch, fees, version, health. */
import type { ChainApi, Commitment } from "../../types.ts";
import { decodeBase58 } from "../../../src/solana/base58.ts";
import { invalidParams } from "../errors.ts";
import { checkContext, configParam, describe, pubkeyParam, requireCount, stringParam } from "../params.ts";
import { decodeMessage, WireFormatError, type WireMessage } from "../tx-wire.ts";
import { API_VERSION, withContext, type MethodHandler, type MethodContext } from "./context.ts";

/** Devnet's epoch length; ChainApi exposes the epoch number but not the schedule (the chain has no warmup). */
export const SLOTS_PER_EPOCH = 432_000n;
/**
 * The facade's own feature-set identifier (a u32 like the validator's; no agave feature set is claimed).
 * Clients only compare it for equality.
 */
const FEATURE_SET = 4_140_108_451;
const LAMPORTS_PER_SIGNATURE = 5000n;
const COMPUTE_BUDGET_PROGRAM = "ComputeBudget111111111111111111111111111111";
const DEFAULT_UNITS_PER_INSTRUCTION = 200_000n;
const MAX_COMPUTE_UNITS = 1_400_000n;
const MAX_PRIORITIZATION_FEE_ADDRESSES = 128;

export function epochInfo(ctx: MethodContext, level: Commitment = "finalized"): Record<string, unknown> {
  const { chain } = ctx;
  const slot = chain.slot(level);
  return {
    absoluteSlot: slot,
    blockHeight: chain.blockHeight(level),
    epoch: chain.epoch(),
    slotIndex: slot % SLOTS_PER_EPOCH,
    slotsInEpoch: SLOTS_PER_EPOCH,
    transactionCount: chain.transactionCount(),
  };
}

const noParamsButConfig = (params: unknown[], chain: ChainApi): Commitment => {
  requireCount(params, 0, 1);
  return checkContext(chain, configParam(params[0]));
};

const getSlot: MethodHandler = (params, { chain }) => {
  return chain.slot(noParamsButConfig(params, chain));
};

const getBlockHeight: MethodHandler = (params, { chain }) => {
  return chain.blockHeight(noParamsButConfig(params, chain));
};

const getEpochInfo: MethodHandler = (params, ctx) => {
  return epochInfo(ctx, noParamsButConfig(params, ctx.chain));
};

const getEpochSchedule: MethodHandler = (params) => {
  requireCount(params, 0, 0);
  return {
    firstNormalEpoch: 0,
    firstNormalSlot: 0,
    leaderScheduleSlotOffset: SLOTS_PER_EPOCH,
    slotsPerEpoch: SLOTS_PER_EPOCH,
    warmup: false,
  };
};

const getLatestBlockhash: MethodHandler = (params, { chain }) => {
  const level = noParamsButConfig(params, chain);
  return withContext(chain.slot(level), chain.latestBlockhash(level));
};

const isBlockhashValid: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 2);
  const blockhash = stringParam(params[0], "blockhash");
  const bytes = decodeBase58(blockhash);
  if (bytes === null || bytes.length !== 32) throw invalidParams(`Invalid param: ${JSON.stringify(blockhash)} is not a blockhash`);
  const level = checkContext(chain, configParam(params[1]));
  return withContext(chain.slot(level), chain.isBlockhashValid(blockhash, level));
};

const getGenesisHash: MethodHandler = (params, { chain }) => {
  requireCount(params, 0, 0);
  return chain.genesisHash;
};

const getHealth: MethodHandler = (params) => {
  requireCount(params, 0, 0);
  return "ok";
};

const getVersion: MethodHandler = (params) => {
  requireCount(params, 0, 0);
  return { "feature-set": FEATURE_SET, "solana-core": API_VERSION };
};

const getRecentPrioritizationFees: MethodHandler = (params) => {
  requireCount(params, 0, 1);
  if (params[0] !== undefined && params[0] !== null) {
    if (!Array.isArray(params[0])) {
      throw invalidParams(`Invalid params: addresses: invalid type: ${describe(params[0])}, expected a sequence`);
    }
    if (params[0].length > MAX_PRIORITIZATION_FEE_ADDRESSES) {
      throw invalidParams(`Too many inputs provided; max ${MAX_PRIORITIZATION_FEE_ADDRESSES}`);
    }
    params[0].forEach((p, i) => pubkeyParam(p, `addresses[${i}]`));
  }
  // The local chain has no fee market: no slot carries a prioritization fee.
  return [];
};

/** Signature fee plus the compute-budget prioritization fee, as the runtime charges it. */
export function messageFee(message: WireMessage): bigint {
  let unitLimit: bigint | null = null;
  let microLamportsPerUnit = 0n;
  let otherInstructions = 0n;
  for (const ix of message.instructions) {
    const program = message.staticKeys[ix.programIdIndex];
    if (program !== COMPUTE_BUDGET_PROGRAM) {
      otherInstructions++;
      continue;
    }
    const dv = new DataView(ix.data.buffer, ix.data.byteOffset, ix.data.byteLength);
    if (ix.data[0] === 2 && ix.data.length === 5) unitLimit = BigInt(dv.getUint32(1, true));
    if (ix.data[0] === 3 && ix.data.length === 9) microLamportsPerUnit = dv.getBigUint64(1, true);
  }
  let units = unitLimit ?? DEFAULT_UNITS_PER_INSTRUCTION * otherInstructions;
  if (units > MAX_COMPUTE_UNITS) units = MAX_COMPUTE_UNITS;
  const priority = (microLamportsPerUnit * units + 999_999n) / 1_000_000n;
  return LAMPORTS_PER_SIGNATURE * BigInt(message.header.numRequiredSignatures) + priority;
}

const getFeeForMessage: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 2);
  const text = stringParam(params[0], "message");
  const level = checkContext(chain, configParam(params[1]));
  let message: WireMessage;
  try {
    message = decodeMessage(new Uint8Array(Buffer.from(text, "base64")));
  } catch (err) {
    if (err instanceof WireFormatError) throw invalidParams(`invalid message: ${err.message}`);
    throw err;
  }
  // null when the bank at that level does not accept the message's blockhash, as the validator answers
  return withContext(chain.slot(level), chain.isBlockhashValid(message.recentBlockhash, level) ? messageFee(message) : null);
};

export const clusterMethods: Record<string, MethodHandler> = {
  getSlot,
  getBlockHeight,
  getEpochInfo,
  getEpochSchedule,
  getLatestBlockhash,
  isBlockhashValid,
  getGenesisHash,
  getHealth,
  getVersion,
  getRecentPrioritizationFees,
  getFeeForMessage,
};
