/**
 * Buyback: spend the run's frozen allocation on KAMIYO through Jupiter (allocated -> swap_signed ->
 * swapped). A quote is fetched fresh for every new transaction; what was bought is read from the landed
 * transaction's token balance changes, not from the quote.
 */
import { VersionedTransaction, type TransactionError } from "@solana/web3.js";
import { averagePriceMicroUsdc } from "../../src/domain/allocation.ts";
import { RUN_TRANSITIONS } from "../../src/domain/run-states.ts";
import type { Logger } from "../../src/log.ts";
import { ownerDelta, type ChainGateway } from "../chain.ts";
import { PipelineHalt, RetryableStepError } from "../errors.ts";
import type { Jupiter } from "../jupiter.ts";
import { assembleSwap, checkSwapBySimulation } from "../swap-check.ts";
import type { RunRow, RunStore, StoredTx } from "../runs.ts";
import type { RunMoneyStep, SignedTx } from "./money-step.ts";
import { SILENT_REPORT, type RunReport } from "./report.ts";
import type { AdminWallet } from "./wallet.ts";

/** Jupiter aggregator v6; its SlippageToleranceExceeded is custom error 6001. */
export const JUPITER_PROGRAM_ID = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4";
export const JUPITER_SLIPPAGE_ERROR = 6001;

export interface BuybackDeps {
  store: RunStore;
  chain: ChainGateway;
  jupiter: Jupiter;
  wallet: AdminWallet;
  moneyStep: RunMoneyStep;
  slippageBps: number;
  maxPriceImpactBps: number;
  logger: Logger;
}

/** The instruction error of a landed transaction: [index, program id, custom code or null]. */
export function instructionError(err: TransactionError, tx: Pick<StoredTx, "raw">): { program: string; custom: number | null } | null {
  const ie = (err as { InstructionError?: [number, unknown] }).InstructionError;
  if (!Array.isArray(ie)) return null;
  const [index, inner] = ie;
  const message = VersionedTransaction.deserialize(tx.raw).message;
  const ix = message.compiledInstructions[index];
  const program = ix ? (message.staticAccountKeys[ix.programIdIndex]?.toBase58() ?? "") : "";
  const custom = typeof inner === "object" && inner !== null && "Custom" in inner ? Number((inner as { Custom: number }).Custom) : null;
  return { program, custom };
}

export function createBuybackStep(deps: BuybackDeps) {
  const { store, chain, jupiter, wallet } = deps;
  const log = deps.logger;

  async function build(amount: bigint): Promise<SignedTx> {
    await wallet.requireSol();
    await wallet.requireUsdc(amount);
    const quote = await jupiter.quote({
      inputMint: wallet.usdcMint.toBase58(),
      outputMint: wallet.kamiyoMint.toBase58(),
      amount,
      slippageBps: deps.slippageBps,
      maxPriceImpactBps: deps.maxPriceImpactBps,
    });
    // Built here from Jupiter's instructions and checked by simulation before anything is stored or sent.
    const instructions = await jupiter.swapInstructions(quote, wallet.keypair.publicKey);
    const { tx, lastValidBlockHeight } = await assembleSwap(chain.connection, wallet.keypair, instructions);
    const effect = await checkSwapBySimulation(chain.connection, tx, {
      admin: wallet.keypair.publicKey,
      usdcMint: wallet.usdcMint,
      kamiyoMint: wallet.kamiyoMint,
      maxUsdcSpent: amount,
      minKamiyoBought: quote.minOut,
    });
    log.debug({ usdcSpent: effect.usdcSpent.toString(), kamiyoBought: effect.kamiyoBought.toString(), solSpent: effect.solSpent.toString() }, "swap simulated and checked");
    const { inAmount, outAmount, otherAmountThreshold, priceImpactPct, slippageBps } = quote.response;
    return { tx, lastValidBlockHeight, quote: { inAmount, outAmount, otherAmountThreshold, priceImpactPct, slippageBps } };
  }

  async function record(run: RunRow, tx: StoredTx, report: RunReport): Promise<void> {
    const deltas = await chain.tokenDeltas(tx.signature);
    const usdcSpent = -ownerDelta(deltas, wallet.address, wallet.usdcMint.toBase58());
    const kamiyoBought = ownerDelta(deltas, wallet.address, wallet.kamiyoMint.toBase58());
    if (usdcSpent < 0n || kamiyoBought < 0n) {
      throw new PipelineHalt("rejected_instruction", `swap ${tx.signature} moved USDC ${-usdcSpent} and KAMIYO ${kamiyoBought} the wrong way`);
    }
    const quote = tx.quote ?? {};
    const recorded = await store.recordBuyback(run, tx, {
      usdcSpent,
      kamiyoBought,
      averagePrice: averagePriceMicroUsdc(usdcSpent, kamiyoBought) ?? 0n,
      quotedOut: BigInt(String(quote.outAmount ?? "0")),
      slippageBps: Number(quote.slippageBps ?? deps.slippageBps),
    });
    if (recorded) {
      log.info({ day: run.run_date, signature: tx.signature, usdcSpent: usdcSpent.toString(), kamiyoBought: kamiyoBought.toString() }, "buyback recorded");
      await report.log(`buyback: swap ${tx.signature} spent ${usdcSpent} micro-USDC for ${kamiyoBought} KAMIYO base units (quoted ${String(quote.outAmount ?? "?")})`);
      await report.progress({ day: run.run_date, step: "buyback", usdcSpent: usdcSpent.toString(), kamiyoBought: kamiyoBought.toString(), signature: tx.signature });
    }
  }

  async function onFailed(amount: bigint, err: TransactionError, tx: StoredTx): Promise<never> {
    // Balances first: a shortfall is the operator's to fix, whatever the program said.
    await wallet.requireSol();
    await wallet.requireUsdc(amount);
    const ie = instructionError(err, tx);
    if (ie && ie.program === JUPITER_PROGRAM_ID && ie.custom === JUPITER_SLIPPAGE_ERROR) {
      throw new RetryableStepError(`swap ${tx.signature} exceeded its slippage tolerance: retrying with a fresh quote`);
    }
    throw new PipelineHalt("rejected_instruction", `swap ${tx.signature} failed: ${JSON.stringify(err)}`);
  }

  return async function buyback(run: RunRow, report: RunReport = SILENT_REPORT): Promise<void> {
    const amount = run.allocation_micro_usdc;
    if (amount === null || amount <= 0n) throw new PipelineHalt("bad_quote", `run ${run.run_date} has no allocation to spend`);
    await report.log(`buyback: spending the allocation of ${amount} micro-USDC on KAMIYO through Jupiter (slippage ${deps.slippageBps} bps)`);
    await deps.moneyStep(run, {
      purpose: "swap",
      sign: RUN_TRANSITIONS.signSwap,
      report,
      build: () => build(amount),
      record: (tx) => record(run, tx, report),
      onFailed: (err, tx) => onFailed(amount, err, tx),
    });
  };
}
