/**
 * The double's answers to quote, swap and swap-instructions requests, built against the chain's current state
 * and the knobs in SwapDeskState (price, impact, failing and hostile answers to give).
 */
import {
  createAssociatedTokenAccountIdempotentInstruction,
  createTransferCheckedInstruction,
  getAssociatedTokenAddressSync,
} from "@solana/spl-token";
import { ComputeBudgetProgram, PublicKey, TransactionInstruction, TransactionMessage, VersionedTransaction } from "@solana/web3.js";
import type { Logger } from "../src/log.ts";
import type { JupiterDoubleOptions } from "./jupiter-double.ts";
import { hostileInstructions, type DrainKind } from "./jupiter-hostile.ts";
import { guardInstruction, JUPITER_V6_PROGRAM_ID, LIQUIDITY_AUTHORITY, ROUTE_DISCRIMINATOR, TOKEN_AMOUNT_OFFSET } from "./jupiter-program.ts";

const USDC_DECIMALS = 6;
const KAMIYO_DECIMALS = 9;
const KAMIYO_UNIT = 10n ** 9n;

/** A client error: answered 400 with its message. */
export class BadRequest extends Error {}

const uint = (v: unknown, name: string): bigint => {
  if (typeof v !== "string" || !/^\d{1,20}$/.test(v)) throw new BadRequest(`${name} must be a non-negative integer`);
  return BigInt(v);
};

type Market = Pick<JupiterDoubleOptions, "chain" | "usdcMint" | "kamiyoMint" | "liquidity">;

/** What the double's controls set; the builders consume `failing` and `draining` one answer at a time. */
export interface SwapDeskState {
  price: bigint;
  impact: string;
  failing: number;
  draining: number;
  drainKind: DrainKind;
  counts: { quotes: number; swaps: number; failedSwaps: number };
}

export interface SwapDesk {
  o: Market;
  state: SwapDeskState;
  log: Logger;
}

export function tokenProgramOf(o: Market, mint: string): PublicKey {
  const account = o.chain.getAccount(mint);
  if (!account) throw new BadRequest(`mint ${mint} does not exist`);
  return new PublicKey(account.owner);
}
const decimalsOf = (o: Market, mint: string) => (mint === o.usdcMint ? USDC_DECIMALS : KAMIYO_DECIMALS);
/** Output for an exact input at `p`, floored. */
const outFor = (o: Market, inputMint: string, amount: bigint, p: bigint): bigint =>
  inputMint === o.usdcMint ? (amount * KAMIYO_UNIT) / p : (amount * p) / KAMIYO_UNIT;

export function quote(d: SwapDesk, params: URLSearchParams) {
  const { o, state: s } = d;
  const inputMint = params.get("inputMint") ?? "";
  const outputMint = params.get("outputMint") ?? "";
  const pair = new Set([o.usdcMint, o.kamiyoMint]);
  if (!pair.has(inputMint) || !pair.has(outputMint) || inputMint === outputMint) throw new BadRequest("COULD_NOT_FIND_ANY_ROUTE");
  const amount = uint(params.get("amount") ?? undefined, "amount");
  if (amount === 0n) throw new BadRequest("amount must be positive");
  const slippageBps = Number(params.get("slippageBps") ?? "50");
  if (!Number.isInteger(slippageBps) || slippageBps < 0 || slippageBps > 10_000) throw new BadRequest("slippageBps must be 0..10000");
  const swapMode = params.get("swapMode") ?? "ExactIn";
  if (swapMode !== "ExactIn") throw new BadRequest("only ExactIn is supported");
  const outAmount = outFor(o, inputMint, amount, s.price);
  const threshold = (outAmount * BigInt(10_000 - slippageBps)) / 10_000n;
  s.counts.quotes += 1;
  return {
    inputMint,
    inAmount: amount.toString(),
    outputMint,
    outAmount: outAmount.toString(),
    otherAmountThreshold: threshold.toString(),
    swapMode: "ExactIn",
    slippageBps,
    platformFee: null,
    priceImpactPct: s.impact,
    routePlan: [
      {
        swapInfo: {
          ammKey: o.liquidity.publicKey.toBase58(),
          label: "kamiyo-localnet",
          inputMint,
          outputMint,
          inAmount: amount.toString(),
          outAmount: outAmount.toString(),
        },
        percent: 100,
        bps: 10_000,
      },
    ],
    contextSlot: Number(o.chain.slot()),
    timeTaken: 0.001,
  };
}

/** The fields /swap and /swap-instructions both take: the user and the quote it answers, for this market. */
function parseSwapRequest(o: SwapDesk["o"], body: unknown) {
  const b = body as { userPublicKey?: unknown; quoteResponse?: Record<string, unknown> } | null;
  if (typeof b?.userPublicKey !== "string" || typeof b.quoteResponse !== "object" || b.quoteResponse === null) {
    throw new BadRequest("userPublicKey and quoteResponse are required");
  }
  let user: PublicKey;
  try {
    user = new PublicKey(b.userPublicKey);
  } catch {
    throw new BadRequest("userPublicKey is not a public key");
  }
  const q = b.quoteResponse;
  const inputMint = String(q.inputMint);
  const outputMint = String(q.outputMint);
  const pair = new Set([o.usdcMint, o.kamiyoMint]);
  if (!pair.has(inputMint) || !pair.has(outputMint) || inputMint === outputMint) throw new BadRequest("quoteResponse is not for this market");
  const inAmount = uint(q.inAmount, "quoteResponse.inAmount");
  const threshold = uint(q.otherAmountThreshold, "quoteResponse.otherAmountThreshold");
  return { user, inputMint, outputMint, inAmount, threshold };
}

/**
 * What both swap answers start from: the parsed request, what reaches the user (less than the threshold when
 * the price is set to move), and the token accounts of both legs.
 */
function swapLegs(d: SwapDesk, body: unknown) {
  const { o, state: s } = d;
  const { user, inputMint, outputMint, inAmount, threshold } = parseSwapRequest(o, body);
  let delivered = outFor(o, inputMint, inAmount, s.price);
  const moved = s.failing > 0;
  if (moved) {
    s.failing -= 1;
    s.counts.failedSwaps += 1;
    // The price moved against the user between quote and landing: less than the threshold arrives.
    delivered = threshold > 0n ? threshold - 1n : 0n;
  }
  const inProgram = tokenProgramOf(o, inputMint);
  const outProgram = tokenProgramOf(o, outputMint);
  const inMint = new PublicKey(inputMint);
  const outMint = new PublicKey(outputMint);
  return {
    user,
    inputMint,
    outputMint,
    inAmount,
    threshold,
    delivered,
    moved,
    inProgram,
    outProgram,
    inMint,
    outMint,
    userIn: getAssociatedTokenAddressSync(inMint, user, true, inProgram),
    userOut: getAssociatedTokenAddressSync(outMint, user, true, outProgram),
    liqIn: getAssociatedTokenAddressSync(inMint, o.liquidity.publicKey, true, inProgram),
    liqOut: getAssociatedTokenAddressSync(outMint, o.liquidity.publicKey, true, outProgram),
  };
}

export function swap(d: SwapDesk, body: unknown) {
  const { o, state: s, log } = d;
  const { user, inputMint, outputMint, inAmount, threshold, delivered, moved, inProgram, outProgram, inMint, outMint, userIn, userOut, liqIn, liqOut } =
    swapLegs(d, body);
  const before = o.chain.getAccount(userOut.toBase58());
  const balanceBefore =
    before && before.data.length >= TOKEN_AMOUNT_OFFSET + 8 ? Buffer.from(before.data).readBigUInt64LE(TOKEN_AMOUNT_OFFSET) : 0n;
  const { blockhash, lastValidBlockHeight } = o.chain.latestBlockhash();
  const message = new TransactionMessage({
    payerKey: user,
    recentBlockhash: blockhash,
    instructions: [
      createAssociatedTokenAccountIdempotentInstruction(user, userOut, user, outMint, outProgram),
      createTransferCheckedInstruction(userIn, inMint, liqIn, user, inAmount, decimalsOf(o, inputMint), [], inProgram),
      createTransferCheckedInstruction(liqOut, outMint, userOut, o.liquidity.publicKey, delivered, decimalsOf(o, outputMint), [], outProgram),
      guardInstruction(userOut, balanceBefore + threshold),
    ],
  }).compileToV0Message();
  const tx = new VersionedTransaction(message);
  tx.sign([o.liquidity]);
  s.counts.swaps += 1;
  log.debug({ user: user.toBase58(), inAmount: inAmount.toString(), delivered: delivered.toString(), moved }, "swap built");
  return {
    swapTransaction: Buffer.from(tx.serialize()).toString("base64"),
    lastValidBlockHeight: Number(lastValidBlockHeight),
    prioritizationFeeLamports: 0,
  };
}

const asJson = (ix: TransactionInstruction) => ({
  programId: ix.programId.toBase58(),
  accounts: ix.keys.map((k) => ({ pubkey: k.pubkey.toBase58(), isSigner: k.isSigner, isWritable: k.isWritable })),
  data: Buffer.from(ix.data).toString("base64"),
});

export function swapInstructions(d: SwapDesk, body: unknown) {
  const { o, state: s, log } = d;
  const { user, inAmount, threshold, delivered, inProgram, outProgram, outMint, userIn, userOut, liqIn, liqOut } = swapLegs(d, body);
  const hostile = s.draining > 0;
  const data = Buffer.alloc(32);
  ROUTE_DISCRIMINATOR.copy(data, 0);
  data.writeBigUInt64LE(hostile && s.drainKind === "route" ? inAmount + 1_000_000n : inAmount, 8);
  data.writeBigUInt64LE(delivered, 16);
  data.writeBigUInt64LE(threshold, 24);
  const route = new TransactionInstruction({
    programId: new PublicKey(JUPITER_V6_PROGRAM_ID),
    keys: [
      { pubkey: user, isSigner: true, isWritable: true },
      { pubkey: userIn, isSigner: false, isWritable: true },
      { pubkey: liqIn, isSigner: false, isWritable: true },
      { pubkey: liqOut, isSigner: false, isWritable: true },
      { pubkey: userOut, isSigner: false, isWritable: true },
      { pubkey: LIQUIDITY_AUTHORITY, isSigner: false, isWritable: false },
      { pubkey: inProgram, isSigner: false, isWritable: false },
      { pubkey: outProgram, isSigner: false, isWritable: false },
    ],
    data,
  });
  const other: TransactionInstruction[] = [];
  if (hostile) {
    s.draining -= 1;
    const target = {
      user,
      userOut,
      outProgram,
      thief: o.liquidity.publicKey,
      usdc: new PublicKey(o.usdcMint),
      usdcProgram: () => tokenProgramOf(o, o.usdcMint),
      usdcDecimals: USDC_DECIMALS,
    };
    other.push(...hostileInstructions(s.drainKind, target));
    log.warn({ user: user.toBase58(), how: s.drainKind }, "hostile swap-instructions answer");
  }

  s.counts.swaps += 1;
  return {
    tokenLedgerInstruction: null,
    computeBudgetInstructions: [asJson(ComputeBudgetProgram.setComputeUnitLimit({ units: 200_000 }))],
    setupInstructions: [asJson(createAssociatedTokenAccountIdempotentInstruction(user, userOut, user, outMint, outProgram))],
    swapInstruction: asJson(route),
    cleanupInstruction: null,
    otherInstructions: other.map(asJson),
    addressLookupTableAddresses: [],
    prioritizationFeeLamports: 0,
    computeUnitLimit: 200_000,
  };
}
