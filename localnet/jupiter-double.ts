/**
 * A Jupiter Swap API v1 double for the local chain: `GET /swap/v1/quote` and `POST /swap/v1/swap`, as
 * `@jup-ag/api` calls them. The swap transaction is real: the user's input tokens go to the liquidity
 * wallet's account, the liquidity wallet's output tokens go to the user's account (the liquidity wallet
 * signs; the user signs last and pays the fee), and a final slippage-guard instruction of a model of the
 * Jupiter program fails with its SlippageToleranceExceeded (6001) when the user got less than the quote's
 * threshold. `failNextSwaps(n)` makes the next n swaps deliver less (the price moved), so they land as
 * failed transactions: fee paid, nothing moved. Prices are micro-USDC per whole KAMIYO; amounts bigint.
 *
 * `POST /swap/v1/swap-instructions` answers as Jupiter does: compute budget, setup (the output ATA), one
 * swap instruction of the Jupiter program and no signatures, for the caller to assemble and sign. Here the
 * swap instruction is the model's `route`: the user's input goes to the liquidity wallet, and the liquidity
 * wallet's output comes back through a program-derived authority it delegated to (no second signer), then
 * the slippage check. `drainNextSwaps(n, how)` makes the next n answers hostile (a compromised API): extra
 * instructions that take more of the user's USDC, hand its token account to someone else, or move its SOL.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash } from "node:crypto";
import {
  createApproveInstruction,
  createAssociatedTokenAccountIdempotentInstruction,
  createSetAuthorityInstruction,
  AuthorityType,
  createTransferCheckedInstruction,
  createTransferInstruction,
  getAssociatedTokenAddressSync,
} from "@solana/spl-token";
import { ComputeBudgetProgram, SystemProgram, PublicKey, TransactionInstruction, TransactionMessage, VersionedTransaction, type Keypair } from "@solana/web3.js";
import type { Logger } from "../src/log.ts";
import type { Chain } from "./chain.ts";
import { ModelInstructionError, type ModelContext, type ModelInstruction, type ProgramModel } from "./types.ts";

export const JUPITER_V6_PROGRAM_ID = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4";
export const SLIPPAGE_TOLERANCE_EXCEEDED = 6001;
const GUARD_DISCRIMINATOR = createHash("sha256").update("global:slippage_guard").digest().subarray(0, 8);
const ROUTE_DISCRIMINATOR = createHash("sha256").update("global:route").digest().subarray(0, 8);
/** The program-derived authority the liquidity wallet's token accounts are delegated to. */
export const LIQUIDITY_AUTHORITY = PublicKey.findProgramAddressSync([Buffer.from("liquidity-authority")], new PublicKey(JUPITER_V6_PROGRAM_ID))[0];
const TOKEN_AMOUNT_OFFSET = 64;
const USDC_DECIMALS = 6;
const KAMIYO_DECIMALS = 9;
const KAMIYO_UNIT = 10n ** 9n;

/**
 * The Jupiter program, reduced to its slippage check: accounts [destination token account], data
 * [discriminator, min_balance u64 LE]. Fails with 6001 when the destination holds less than min_balance.
 */
const tokenAmount = (ctx: ModelContext, address: string): bigint => {
  const account = ctx.getAccount(address);
  if (!account || account.data.length < TOKEN_AMOUNT_OFFSET + 8) throw new ModelInstructionError("InvalidAccountData");
  return Buffer.from(account.data).readBigUInt64LE(TOKEN_AMOUNT_OFFSET);
};

/**
 * route: accounts [user (signer), userIn, liqIn, liqOut, userOut, authority, inProgram, outProgram], data
 * [discriminator, in u64, out u64, min_out u64]. Moves `in` from the user, `out` to the user (the authority
 * signing by seeds), then fails with 6001 when the user's output account grew by less than min_out.
 */
function executeRoute(ix: ModelInstruction, ctx: ModelContext): void {
  const data = Buffer.from(ix.data);
  if (data.length !== 32) throw new ModelInstructionError("InvalidInstructionData");
  const [user, userIn, liqIn, liqOut, userOut, authority, inProgram, outProgram] = ix.accounts;
  if (!user || !userIn || !liqIn || !liqOut || !userOut || !authority || !inProgram || !outProgram) throw new ModelInstructionError("NotEnoughAccountKeys");
  if (authority.pubkey !== LIQUIDITY_AUTHORITY.toBase58()) throw new ModelInstructionError("InvalidSeeds");
  const amountIn = data.readBigUInt64LE(8);
  const amountOut = data.readBigUInt64LE(16);
  const minOut = data.readBigUInt64LE(24);
  const before = tokenAmount(ctx, userOut.pubkey);
  ctx.consume(20_000);
  const transfer = (program: string, from: string, to: string, owner: string, amount: bigint, pda: string[]) => {
    const t = createTransferInstruction(new PublicKey(from), new PublicKey(to), new PublicKey(owner), amount, [], new PublicKey(program));
    ctx.invoke({ programId: program, accounts: t.keys.map((k) => ({ pubkey: k.pubkey.toBase58(), isSigner: k.isSigner, isWritable: k.isWritable })), data: Uint8Array.from(t.data) }, pda);
  };
  transfer(inProgram.pubkey, userIn.pubkey, liqIn.pubkey, user.pubkey, amountIn, []);
  transfer(outProgram.pubkey, liqOut.pubkey, userOut.pubkey, authority.pubkey, amountOut, [authority.pubkey]);
  if (tokenAmount(ctx, userOut.pubkey) - before < minOut) {
    ctx.log("AnchorError occurred. Error Code: SlippageToleranceExceeded. Error Number: 6001. Error Message: Slippage tolerance exceeded.");
    throw new ModelInstructionError({ Custom: SLIPPAGE_TOLERANCE_EXCEEDED });
  }
}

export function createJupiterGuardModel(): ProgramModel {
  return {
    programId: JUPITER_V6_PROGRAM_ID,
    execute(ix: ModelInstruction, ctx: ModelContext): void {
      if (Buffer.from(ix.data).subarray(0, 8).equals(ROUTE_DISCRIMINATOR)) {
        executeRoute(ix, ctx);
        return;
      }
      const data = Buffer.from(ix.data);
      if (data.length !== 16 || !data.subarray(0, 8).equals(GUARD_DISCRIMINATOR)) throw new ModelInstructionError("InvalidInstructionData");
      const destination = ix.accounts[0];
      if (!destination) throw new ModelInstructionError("NotEnoughAccountKeys");
      const account = ctx.getAccount(destination.pubkey);
      if (!account || account.data.length < TOKEN_AMOUNT_OFFSET + 8) throw new ModelInstructionError("InvalidAccountData");
      const balance = Buffer.from(account.data).readBigUInt64LE(TOKEN_AMOUNT_OFFSET);
      const minimum = data.readBigUInt64LE(8);
      ctx.consume(1_500);
      if (balance < minimum) {
        ctx.log("AnchorError occurred. Error Code: SlippageToleranceExceeded. Error Number: 6001. Error Message: Slippage tolerance exceeded.");
        throw new ModelInstructionError({ Custom: SLIPPAGE_TOLERANCE_EXCEEDED });
      }
    },
  };
}

function guardInstruction(destination: PublicKey, minimum: bigint): TransactionInstruction {
  const data = Buffer.alloc(16);
  GUARD_DISCRIMINATOR.copy(data, 0);
  data.writeBigUInt64LE(minimum, 8);
  return new TransactionInstruction({
    programId: new PublicKey(JUPITER_V6_PROGRAM_ID),
    keys: [{ pubkey: destination, isSigner: false, isWritable: false }],
    data,
  });
}

export interface JupiterDoubleOptions {
  chain: Chain;
  host: string;
  /** 0 picks a free port. */
  port: number;
  usdcMint: string;
  kamiyoMint: string;
  /** Holds both tokens and signs the output side of every swap. */
  liquidity: Keypair;
  priceMicroUsdcPerKamiyo: bigint;
  /** When set, requests must carry it as x-api-key. */
  apiKey?: string;
  logger: Logger;
}

export interface JupiterDouble {
  url: string;
  setPrice(priceMicroUsdcPerKamiyo: bigint): void;
  /** The price impact the next quotes report, a decimal fraction string ("0.02" = 2 %). */
  setPriceImpact(pct: string): void;
  /** The next `count` swaps deliver less than their quote's threshold and fail on chain with 6001. */
  failNextSwaps(count: number): void;
  /** The next `count` swap-instructions answers also take from the user (see DrainKind). */
  drainNextSwaps(count: number, how: DrainKind): void;
  stats(): { quotes: number; swaps: number; failedSwaps: number };
  close(): Promise<void>;
}

/**
 * How a hostile answer drains the user: `usdc` takes extra USDC with a token transfer (allow-listed program,
 * caught by the balance check), `authority` hands the user's KAMIYO account to the liquidity wallet
 * (nothing moves in the simulation), `approve` lets the liquidity wallet spend the user's USDC later, `route`
 * makes the aggregator's own instruction take 1 USDC more than quoted (only a simulation shows it), `sol`
 * moves SOL with the System program (not allow-listed).
 */
export type DrainKind = "usdc" | "route" | "authority" | "approve" | "sol";

class BadRequest extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) reject(new BadRequest("body too large"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

const uint = (v: unknown, name: string): bigint => {
  if (typeof v !== "string" || !/^\d{1,20}$/.test(v)) throw new BadRequest(`${name} must be a non-negative integer`);
  return BigInt(v);
};

export async function startJupiterDouble(o: JupiterDoubleOptions): Promise<JupiterDouble> {
  const log = o.logger.child({ component: "jupiter-double" });
  let price = o.priceMicroUsdcPerKamiyo;
  let impact = "0";
  let failing = 0;
  let draining = 0;
  let drainKind: DrainKind = "usdc";
  const counts = { quotes: 0, swaps: 0, failedSwaps: 0 };
  if (price <= 0n) throw new RangeError("price must be positive");

  const tokenProgramOf = (mint: string): PublicKey => {
    const account = o.chain.getAccount(mint);
    if (!account) throw new BadRequest(`mint ${mint} does not exist`);
    return new PublicKey(account.owner);
  };
  const decimalsOf = (mint: string) => (mint === o.usdcMint ? USDC_DECIMALS : KAMIYO_DECIMALS);
  /** Output for an exact input at `p`, floored. */
  const outFor = (inputMint: string, amount: bigint, p: bigint): bigint =>
    inputMint === o.usdcMint ? (amount * KAMIYO_UNIT) / p : (amount * p) / KAMIYO_UNIT;

  function quote(params: URLSearchParams) {
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
    const outAmount = outFor(inputMint, amount, price);
    const threshold = (outAmount * BigInt(10_000 - slippageBps)) / 10_000n;
    counts.quotes += 1;
    return {
      inputMint,
      inAmount: amount.toString(),
      outputMint,
      outAmount: outAmount.toString(),
      otherAmountThreshold: threshold.toString(),
      swapMode: "ExactIn",
      slippageBps,
      platformFee: null,
      priceImpactPct: impact,
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

  function swap(body: unknown) {
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
    let delivered = outFor(inputMint, inAmount, price);
    const moved = failing > 0;
    if (moved) {
      failing -= 1;
      counts.failedSwaps += 1;
      // The price moved against the user between quote and landing: less than the threshold arrives.
      delivered = threshold > 0n ? threshold - 1n : 0n;
    }
    const inProgram = tokenProgramOf(inputMint);
    const outProgram = tokenProgramOf(outputMint);
    const inMint = new PublicKey(inputMint);
    const outMint = new PublicKey(outputMint);
    const userIn = getAssociatedTokenAddressSync(inMint, user, true, inProgram);
    const userOut = getAssociatedTokenAddressSync(outMint, user, true, outProgram);
    const liqIn = getAssociatedTokenAddressSync(inMint, o.liquidity.publicKey, true, inProgram);
    const liqOut = getAssociatedTokenAddressSync(outMint, o.liquidity.publicKey, true, outProgram);
    const before = o.chain.getAccount(userOut.toBase58());
    const balanceBefore =
      before && before.data.length >= TOKEN_AMOUNT_OFFSET + 8 ? Buffer.from(before.data).readBigUInt64LE(TOKEN_AMOUNT_OFFSET) : 0n;
    const { blockhash, lastValidBlockHeight } = o.chain.latestBlockhash();
    const message = new TransactionMessage({
      payerKey: user,
      recentBlockhash: blockhash,
      instructions: [
        createAssociatedTokenAccountIdempotentInstruction(user, userOut, user, outMint, outProgram),
        createTransferCheckedInstruction(userIn, inMint, liqIn, user, inAmount, decimalsOf(inputMint), [], inProgram),
        createTransferCheckedInstruction(liqOut, outMint, userOut, o.liquidity.publicKey, delivered, decimalsOf(outputMint), [], outProgram),
        guardInstruction(userOut, balanceBefore + threshold),
      ],
    }).compileToV0Message();
    const tx = new VersionedTransaction(message);
    tx.sign([o.liquidity]);
    counts.swaps += 1;
    log.debug({ user: user.toBase58(), inAmount: inAmount.toString(), delivered: delivered.toString(), moved }, "swap built");
    return {
      swapTransaction: Buffer.from(tx.serialize()).toString("base64"),
      lastValidBlockHeight: Number(lastValidBlockHeight),
      prioritizationFeeLamports: 0,
    };
  }

  // The liquidity wallet's token accounts are delegated to the route's program-derived authority.
  for (const mint of [o.usdcMint, o.kamiyoMint]) {
    const program = tokenProgramOf(mint).toBase58();
    o.chain.setTokenAccount(o.liquidity.publicKey.toBase58(), mint, { delegate: LIQUIDITY_AUTHORITY.toBase58(), delegatedAmount: 2n ** 64n - 1n }, program);
  }

  const asJson = (ix: TransactionInstruction) => ({
    programId: ix.programId.toBase58(),
    accounts: ix.keys.map((k) => ({ pubkey: k.pubkey.toBase58(), isSigner: k.isSigner, isWritable: k.isWritable })),
    data: Buffer.from(ix.data).toString("base64"),
  });

  function swapInstructions(body: unknown) {
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
    let delivered = outFor(inputMint, inAmount, price);
    if (failing > 0) {
      failing -= 1;
      counts.failedSwaps += 1;
      delivered = threshold > 0n ? threshold - 1n : 0n;
    }
    const inProgram = tokenProgramOf(inputMint);
    const outProgram = tokenProgramOf(outputMint);
    const inMint = new PublicKey(inputMint);
    const outMint = new PublicKey(outputMint);
    const userIn = getAssociatedTokenAddressSync(inMint, user, true, inProgram);
    const userOut = getAssociatedTokenAddressSync(outMint, user, true, outProgram);
    const liqIn = getAssociatedTokenAddressSync(inMint, o.liquidity.publicKey, true, inProgram);
    const liqOut = getAssociatedTokenAddressSync(outMint, o.liquidity.publicKey, true, outProgram);
    const hostile = draining > 0;
    const data = Buffer.alloc(32);
    ROUTE_DISCRIMINATOR.copy(data, 0);
    data.writeBigUInt64LE(hostile && drainKind === "route" ? inAmount + 1_000_000n : inAmount, 8);
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
      draining -= 1;
      const thief = o.liquidity.publicKey;
      const usdc = new PublicKey(o.usdcMint);
      const userUsdc = getAssociatedTokenAddressSync(usdc, user, true, tokenProgramOf(o.usdcMint));
      const liqUsdc = getAssociatedTokenAddressSync(usdc, thief, true, tokenProgramOf(o.usdcMint));
      if (drainKind === "usdc") other.push(createTransferCheckedInstruction(userUsdc, usdc, liqUsdc, user, 1_000_000n, USDC_DECIMALS));
      if (drainKind === "approve") other.push(createApproveInstruction(userUsdc, thief, user, 2n ** 64n - 1n));
      if (drainKind === "authority") other.push(createSetAuthorityInstruction(userOut, user, AuthorityType.AccountOwner, thief, [], outProgram));
      if (drainKind === "sol") other.push(SystemProgram.transfer({ fromPubkey: user, toPubkey: thief, lamports: 1_000_000_000 }));
      log.warn({ user: user.toBase58(), how: drainKind }, "hostile swap-instructions answer");
    }
    counts.swaps += 1;
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

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    void (async () => {
      try {
        if (o.apiKey !== undefined && req.headers["x-api-key"] !== o.apiKey) return send(res, 401, { error: "invalid or missing x-api-key" });
        const url = new URL(req.url ?? "/", "http://localhost");
        if (req.method === "GET" && url.pathname === "/swap/v1/quote") return send(res, 200, quote(url.searchParams));
        if (req.method === "POST" && url.pathname === "/swap/v1/swap") {
          let body: unknown;
          try {
            body = JSON.parse(await readBody(req));
          } catch (err) {
            throw err instanceof BadRequest ? err : new BadRequest("body is not JSON");
          }
          return send(res, 200, swap(body));
        }
        if (req.method === "POST" && url.pathname === "/swap/v1/swap-instructions") {
          let body: unknown;
          try {
            body = JSON.parse(await readBody(req));
          } catch (err) {
            throw err instanceof BadRequest ? err : new BadRequest("body is not JSON");
          }
          return send(res, 200, swapInstructions(body));
        }
        return send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
      } catch (err) {
        if (err instanceof BadRequest) return send(res, 400, { error: err.message });
        log.error({ err: (err as Error).message }, "jupiter double failed");
        return send(res, 500, { error: "internal error" });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  log.info({ port, price: price.toString() }, "jupiter double listening");
  return {
    url: `http://${host}:${port}`,
    setPrice(p) {
      if (p <= 0n) throw new RangeError("price must be positive");
      price = p;
    },
    setPriceImpact(pct) {
      impact = pct;
    },
    failNextSwaps(count) {
      failing = count;
    },
    drainNextSwaps(count, how) {
      draining = count;
      drainKind = how;
    },
    stats: () => ({ ...counts }),
    async close() {
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
    },
  };
}
