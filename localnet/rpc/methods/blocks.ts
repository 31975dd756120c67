/**
 * The block family, backed by the chain's record of blocks: getBlock, getBlocks, getBlocksWithLimit,
 * getBlockTime, getBlockCommitment, getBlockProduction, getFirstAvailableBlock, minimumLedgerSlot,
 * getTransactionCount, getRecentPerformanceSamples. Blocks below `confirmed` are not served (as on the validator).
 */
import type { BlockInfo, ChainApi, Commitment } from "../../types.ts";
import { RpcError, invalidParams } from "../errors.ts";
import { boolParam, checkContext, commitmentParam, configParam, oneOf, requireCount, u64Param, usizeParam } from "../params.ts";
import { transactionResult, type TransactionEncoding } from "../transaction-json.ts";
import { withContext, type MethodHandler } from "./context.ts";
import { VALIDATOR_IDENTITY } from "./network.ts";

const MAX_SLOT_RANGE = 500_000n;
const MAX_PERFORMANCE_SAMPLES = 720;
const SAMPLE_PERIOD_SECS = 60;

const blockNotAvailable = (slot: bigint) => new RpcError(-32004, `Block not available for slot ${slot}`);

function confirmedLevel(config: Record<string, unknown>): Commitment {
  const level = commitmentParam(config);
  if (level === "processed") throw invalidParams("Method does not support commitment below `confirmed`");
  return level;
}

/** The block at `slot`, or the validator's error for a slot it cannot serve. */
function servedBlock(chain: ChainApi, slot: bigint, level: Commitment): BlockInfo {
  const first = chain.firstBlock().slot;
  if (slot < first) {
    throw new RpcError(-32001, `Block ${slot} cleaned up, does not exist on node. First available block: ${first}`);
  }
  if (slot > chain.slot(level)) throw blockNotAvailable(slot);
  const block = chain.block(slot);
  if (!block) throw new RpcError(-32007, `Slot ${slot} was skipped, or missing due to ledger jump to recent snapshot`);
  return block;
}

const getBlock: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 2);
  const slot = u64Param(params[0], "slot");
  const config = typeof params[1] === "string" ? { encoding: params[1] } : configParam(params[1]);
  const level = confirmedLevel(config);
  const encoding = oneOf<TransactionEncoding>(config.encoding, "encoding", ["json", "jsonParsed", "base64", "base58"], "json");
  const details = oneOf(config.transactionDetails, "transactionDetails", ["full", "signatures", "none", "accounts"] as const, "full");
  const rewards = boolParam(config.rewards, "rewards", true);
  const maxVersion =
    config.maxSupportedTransactionVersion === undefined || config.maxSupportedTransactionVersion === null
      ? undefined
      : Number(u64Param(config.maxSupportedTransactionVersion, "maxSupportedTransactionVersion"));
  const block = servedBlock(chain, slot, level);
  const result: Record<string, unknown> = {
    blockHeight: block.height,
    blockTime: block.blockTime,
    blockhash: block.blockhash,
    parentSlot: block.parentSlot,
    previousBlockhash: block.previousBlockhash,
  };
  if (details === "signatures") result.signatures = [...block.signatures];
  if (details === "full" || details === "accounts") {
    result.transactions = block.signatures.map((signature) => {
      const { slot: _slot, blockTime: _time, ...tx } = transactionResult(chain.getTransaction(signature)!, details === "accounts" ? "jsonParsed" : encoding, maxVersion);
      if (details === "accounts") {
        const message = (tx.transaction as { message: { accountKeys: unknown } }).message;
        tx.transaction = { signatures: (tx.transaction as { signatures: unknown }).signatures, accountKeys: message.accountKeys };
        // the validator's simple meta: balances and status only (no inner instructions, logs or units)
        const meta = tx.meta as Record<string, unknown>;
        tx.meta = Object.fromEntries(
          ["err", "fee", "postBalances", "postTokenBalances", "preBalances", "preTokenBalances", "status", ...(rewards ? ["rewards"] : [])].map((k) => [k, meta[k]]),
        );
      }
      return tx;
    });
  }
  // the local chain pays no block rewards: the list is there, empty, when asked for
  if (rewards) result.rewards = [];
  return result;
};

function slotsIn(chain: ChainApi, start: bigint, end: bigint, level: Commitment, limit?: number): bigint[] {
  const upTo = chain.slot(level) < end ? chain.slot(level) : end;
  const from = start < chain.firstBlock().slot ? chain.firstBlock().slot : start;
  const slots = chain.blocks(from, upTo).map((b) => b.slot);
  return limit === undefined ? slots : slots.slice(0, limit);
}

const getBlocks: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 3);
  const start = u64Param(params[0], "start_slot");
  // the end slot is optional: a config object may stand in its place
  const endGiven = typeof params[1] === "number" || typeof params[1] === "bigint";
  const config = configParam(endGiven ? params[2] : params[1]);
  const level = confirmedLevel(config);
  const end = endGiven ? u64Param(params[1], "end_slot") : chain.slot(level);
  if (end - start > MAX_SLOT_RANGE) throw invalidParams(`Slot range too large; max ${MAX_SLOT_RANGE}`);
  return slotsIn(chain, start, end, level);
};

const getBlocksWithLimit: MethodHandler = (params, { chain }) => {
  requireCount(params, 2, 3);
  const start = u64Param(params[0], "start_slot");
  const limit = usizeParam(params[1], "limit");
  if (BigInt(limit) > MAX_SLOT_RANGE) throw invalidParams(`Limit too large; max ${MAX_SLOT_RANGE}`);
  const level = confirmedLevel(configParam(params[2]));
  return slotsIn(chain, start, chain.slot(level), level, limit);
};

const getBlockTime: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 1);
  const slot = u64Param(params[0], "slot");
  return servedBlock(chain, slot, "confirmed").blockTime;
};

const getBlockCommitment: MethodHandler = (params, { chain }) => {
  requireCount(params, 1, 1);
  const slot = u64Param(params[0], "slot");
  // one validator holds all the stake: a block it produced and others voted on is at full depth once rooted
  const block = chain.block(slot);
  const commitment = block && block.slot <= chain.slot("confirmed") ? Array.from({ length: 32 }, (_, i) => (i === 31 ? 1 : 0)) : null;
  return { commitment, totalStake: 1 };
};

const getBlockProduction: MethodHandler = (params, { chain }) => {
  requireCount(params, 0, 1);
  const config = configParam(params[0]);
  const level = checkContext(chain, config);
  const range = config.range === undefined || config.range === null ? {} : configParam(config.range, "range");
  const firstSlot = range.firstSlot === undefined ? chain.firstBlock().slot : u64Param(range.firstSlot, "range.firstSlot");
  const lastSlot = range.lastSlot === undefined || range.lastSlot === null ? chain.slot(level) : u64Param(range.lastSlot, "range.lastSlot");
  if (lastSlot < firstSlot) throw invalidParams(`lastSlot, ${lastSlot}, cannot be less than firstSlot, ${firstSlot}`);
  const produced = chain.blocks(firstSlot, lastSlot).length;
  const leaderSlots = Number(lastSlot - firstSlot + 1n);
  const identity = typeof config.identity === "string" ? config.identity : VALIDATOR_IDENTITY;
  const byIdentity = identity === VALIDATOR_IDENTITY ? { [VALIDATOR_IDENTITY]: [leaderSlots, produced] } : {};
  return withContext(chain.slot(level), { byIdentity, range: { firstSlot, lastSlot } });
};

const getFirstAvailableBlock: MethodHandler = (params, { chain }) => {
  requireCount(params, 0, 0);
  return chain.firstBlock().slot;
};

const minimumLedgerSlot: MethodHandler = (params, { chain }) => {
  requireCount(params, 0, 0);
  return chain.firstBlock().slot;
};

const getTransactionCount: MethodHandler = (params, { chain }) => {
  requireCount(params, 0, 1);
  checkContext(chain, configParam(params[0]));
  return chain.transactionCount();
};

const getRecentPerformanceSamples: MethodHandler = (params, { chain }) => {
  requireCount(params, 0, 1);
  const limit = params[0] === undefined || params[0] === null ? MAX_PERFORMANCE_SAMPLES : usizeParam(params[0], "limit");
  if (limit > MAX_PERFORMANCE_SAMPLES) throw invalidParams(`Invalid limit; max ${MAX_PERFORMANCE_SAMPLES}`);
  // one sample per minute of the blocks the ledger holds, newest first
  const blocks = chain.blocks(chain.firstBlock().slot, chain.slot());
  const samples: { slot: bigint; numTransactions: number; numNonVoteTransactions: number; numSlots: number; samplePeriodSecs: number }[] = [];
  let windowEnd = blocks.at(-1)?.blockTime ?? 0;
  for (let i = blocks.length - 1; i >= 0 && samples.length <= limit; i--) {
    const block = blocks[i]!;
    if (samples.length === 0 || block.blockTime <= windowEnd - SAMPLE_PERIOD_SECS) {
      if (samples.length > 0) windowEnd -= SAMPLE_PERIOD_SECS * Math.ceil((windowEnd - block.blockTime) / SAMPLE_PERIOD_SECS);
      samples.push({ slot: block.slot, numTransactions: 0, numNonVoteTransactions: 0, numSlots: 0, samplePeriodSecs: SAMPLE_PERIOD_SECS });
    }
    const sample = samples[samples.length - 1]!;
    sample.numSlots++;
    sample.numTransactions += block.signatures.length;
    sample.numNonVoteTransactions += block.signatures.length;
  }
  samples.length = Math.min(samples.length, limit);
  return samples;
};

export const blockMethods: Record<string, MethodHandler> = {
  getBlock,
  getBlocks,
  getBlocksWithLimit,
  getBlockTime,
  getBlockCommitment,
  getBlockProduction,
  getFirstAvailableBlock,
  minimumLedgerSlot,
  getTransactionCount,
  getRecentPerformanceSamples,
};
