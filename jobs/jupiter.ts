/**
 * Jupiter Swap API v1 through `@jup-ag/api`. A quote is fetched fresh for every attempt and checked
 * against the configured bounds before any transaction is built from it.
 *
 * `createJupiterApiClient` (6.0.x) overwrites `basePath` with Jupiter's own host, so the client is built
 * from `SwapApi` + `Configuration` directly: the base URL and API key come from configuration.
 */
import { Configuration, SwapApi, type Instruction, type QuoteResponse } from "@jup-ag/api";
import { PublicKey, TransactionInstruction, VersionedTransaction } from "@solana/web3.js";
import { minimumOut, priceImpactBps } from "../src/domain/allocation.ts";
import { PipelineHalt, RetryableStepError } from "./errors.ts";

export interface JupiterOptions {
  /** The API host, e.g. https://api.jup.ag; the client appends /swap/v1. */
  apiUrl: string;
  apiKey: string | undefined;
  /** Deadline of each Jupiter call (headers and body). Default JUPITER_TIMEOUT_MS. */
  timeoutMs?: number;
}

/** A silent Jupiter API fails the attempt (retryable) within this, instead of holding the job. */
export const JUPITER_TIMEOUT_MS = 10_000;

export interface QuoteBounds {
  inputMint: string;
  outputMint: string;
  amount: bigint;
  slippageBps: number;
  maxPriceImpactBps: number;
}

export interface CheckedQuote {
  response: QuoteResponse;
  inAmount: bigint;
  outAmount: bigint;
  minOut: bigint;
  impactBps: bigint;
}

export interface SwapBuild {
  tx: VersionedTransaction;
  lastValidBlockHeight: bigint;
}

/** What /swap-instructions answers, decoded: the instructions in order and the lookup tables they use. */
export interface SwapInstructions {
  instructions: TransactionInstruction[];
  lookupTables: PublicKey[];
}

function decodeInstruction(ix: Instruction, where: string): TransactionInstruction {
  try {
    return new TransactionInstruction({
      programId: new PublicKey(ix.programId),
      keys: ix.accounts.map((a) => ({ pubkey: new PublicKey(a.pubkey), isSigner: a.isSigner, isWritable: a.isWritable })),
      data: Buffer.from(ix.data, "base64"),
    });
  } catch (err) {
    throw new PipelineHalt("bad_swap_transaction", `${where} does not decode: ${(err as Error).message}`);
  }
}

export function swapApiBase(apiUrl: string): string {
  return `${apiUrl.replace(/\/+$/, "")}/swap/v1`;
}

const integer = (v: unknown, what: string): bigint => {
  if (typeof v !== "string" || !/^\d+$/.test(v)) throw new PipelineHalt("bad_quote", `${what} is not an integer string`);
  return BigInt(v);
};

/** Refuses a quote that does not match the request or exceeds the bounds. */
export function checkQuote(q: QuoteResponse, b: QuoteBounds): CheckedQuote {
  if (q.inputMint !== b.inputMint || q.outputMint !== b.outputMint) {
    throw new PipelineHalt("bad_quote", `quote is for ${q.inputMint} -> ${q.outputMint}`);
  }
  if (q.swapMode !== "ExactIn") throw new PipelineHalt("bad_quote", `quote swap mode is ${q.swapMode}`);
  const inAmount = integer(q.inAmount, "inAmount");
  const outAmount = integer(q.outAmount, "outAmount");
  const threshold = integer(q.otherAmountThreshold, "otherAmountThreshold");
  if (inAmount !== b.amount) throw new PipelineHalt("bad_quote", `quote spends ${inAmount}, asked ${b.amount}`);
  if (q.slippageBps > b.slippageBps) throw new PipelineHalt("bad_quote", `quote slippage ${q.slippageBps} bps above ${b.slippageBps}`);
  const minOut = minimumOut(outAmount, b.slippageBps);
  if (threshold < minOut) throw new PipelineHalt("bad_quote", `quote accepts as little as ${threshold}, bound is ${minOut}`);
  if (outAmount === 0n) throw new RetryableStepError("quote returns nothing for the amount");
  let impactBps: bigint;
  try {
    impactBps = priceImpactBps(q.priceImpactPct);
  } catch (err) {
    throw new PipelineHalt("bad_quote", (err as Error).message);
  }
  // Market conditions: a later attempt may find a better price.
  if (impactBps > BigInt(b.maxPriceImpactBps)) {
    throw new RetryableStepError(`price impact ${impactBps} bps above ${b.maxPriceImpactBps} bps`);
  }
  return { response: q, inAmount, outAmount, minOut: threshold, impactBps };
}

/** fetch whose every request (and its body) is aborted after `timeoutMs`, on top of the caller's own signal. */
export function fetchWithDeadline(timeoutMs: number): typeof fetch {
  return (input, init) => {
    const deadline = AbortSignal.timeout(timeoutMs);
    return fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline });
  };
}

export function createJupiter(options: JupiterOptions) {
  const api = new SwapApi(
    new Configuration({
      basePath: swapApiBase(options.apiUrl),
      fetchApi: fetchWithDeadline(options.timeoutMs ?? JUPITER_TIMEOUT_MS),
      ...(options.apiKey ? { headers: { "x-api-key": options.apiKey } } : {}),
    }),
  );
  const call = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      const status = (err as { response?: { status?: number } }).response?.status;
      throw new RetryableStepError(`jupiter ${what} failed${status ? ` (HTTP ${status})` : ""}: ${(err as Error).message}`, { cause: err });
    }
  };
  return {
    async quote(b: QuoteBounds): Promise<CheckedQuote> {
      if (b.amount > BigInt(Number.MAX_SAFE_INTEGER)) throw new PipelineHalt("bad_quote", "amount above 2^53 cannot be quoted");
      const q = await call("quote", () =>
        api.quoteGet({
          inputMint: b.inputMint,
          outputMint: b.outputMint,
          amount: Number(b.amount),
          slippageBps: b.slippageBps,
          swapMode: "ExactIn",
          restrictIntermediateTokens: true,
        }),
      );
      return checkQuote(q, b);
    },

    /** The swap as instructions for `user` to assemble and sign itself (Swap API /swap-instructions). */
    async swapInstructions(quote: CheckedQuote, user: PublicKey): Promise<SwapInstructions> {
      const r = await call("swap-instructions", () =>
        api.swapInstructionsPost({
          swapRequest: {
            userPublicKey: user.toBase58(),
            quoteResponse: quote.response,
            wrapAndUnwrapSol: false,
            dynamicComputeUnitLimit: true,
          },
        }),
      );
      const instructions = [
        ...r.computeBudgetInstructions.map((ix, i) => decodeInstruction(ix, `computeBudgetInstructions[${i}]`)),
        ...r.setupInstructions.map((ix, i) => decodeInstruction(ix, `setupInstructions[${i}]`)),
        decodeInstruction(r.swapInstruction, "swapInstruction"),
        ...(r.cleanupInstruction ? [decodeInstruction(r.cleanupInstruction, "cleanupInstruction")] : []),
        ...r.otherInstructions.map((ix, i) => decodeInstruction(ix, `otherInstructions[${i}]`)),
      ];
      let lookupTables: PublicKey[];
      try {
        lookupTables = r.addressLookupTableAddresses.map((a) => new PublicKey(a));
      } catch {
        throw new PipelineHalt("bad_swap_transaction", "addressLookupTableAddresses holds something that is not an address");
      }
      return { instructions, lookupTables };
    },

    /** The swap transaction for `user`, unsigned by the user, checked to be paid by the user. */
    async swap(quote: CheckedQuote, user: PublicKey): Promise<SwapBuild> {
      const r = await call("swap", () =>
        api.swapPost({
          swapRequest: {
            userPublicKey: user.toBase58(),
            quoteResponse: quote.response,
            wrapAndUnwrapSol: false,
            dynamicComputeUnitLimit: true,
          },
        }),
      );
      let tx: VersionedTransaction;
      try {
        tx = VersionedTransaction.deserialize(Buffer.from(r.swapTransaction, "base64"));
      } catch (err) {
        throw new PipelineHalt("bad_swap_transaction", `swap transaction does not decode: ${(err as Error).message}`);
      }
      const payer = tx.message.staticAccountKeys[0];
      if (!payer?.equals(user)) throw new PipelineHalt("bad_swap_transaction", "swap transaction is not paid by the admin wallet");
      if (!Number.isSafeInteger(r.lastValidBlockHeight) || r.lastValidBlockHeight <= 0) {
        throw new PipelineHalt("bad_swap_transaction", "swap response has no lastValidBlockHeight");
      }
      return { tx, lastValidBlockHeight: BigInt(r.lastValidBlockHeight) };
    },
  };
}

export type Jupiter = ReturnType<typeof createJupiter>;
