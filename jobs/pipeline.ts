/**
 * One run per UTC day, driven by its Postgres row: allocate -> buy back (Jupiter) -> fund_pool -> done.
 * `processRun` resumes from whatever status the row holds, so any delivery of any job for the run (a
 * retry, a stall, an operator's re-add) continues the same run and never repeats a money step:
 * each step is a compare-and-set on the row, and each transaction is stored before its first send and
 * asked about (submit.ts) before anything is signed anew.
 */
import bs58 from "bs58";
import { getAssociatedTokenAddressSync, TOKEN_2022_PROGRAM_ID } from "@solana/spl-token";
import {
  PublicKey,
  TransactionInstruction,
  TransactionMessage,
  VersionedTransaction,
  type Keypair,
  type TransactionError,
} from "@solana/web3.js";
import { allocationOf, averagePriceMicroUsdc } from "../src/domain/allocation.ts";
import type { JsonValue } from "../src/db/schema.ts";
import { describeError } from "../src/errors.ts";
import type { Logger } from "../src/log.ts";
import { createStakingInstructions } from "../src/solana/instructions.ts";
import type { Alerter } from "./alerts.ts";
import { ownerDelta, type ChainGateway } from "./chain.ts";
import { PipelineHalt, RetryableStepError } from "./errors.ts";
import type { Jupiter } from "./jupiter.ts";
import type { RunRow, RunStore, StoredTx } from "./runs.ts";
import { awaitFinal, sleep } from "./submit.ts";

/** Jupiter aggregator v6; its SlippageToleranceExceeded is custom error 6001. */
export const JUPITER_PROGRAM_ID = "JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4";
export const JUPITER_SLIPPAGE_ERROR = 6001;
const MEMO_PROGRAM_ID = new PublicKey("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");

export type Boundary =
  | "swap.beforeSend"
  | "swap.afterSend"
  | "swap.afterConfirm"
  | "fund.beforeSend"
  | "fund.afterSend"
  | "fund.afterConfirm";

export interface PipelineDeps {
  store: RunStore;
  chain: ChainGateway;
  jupiter: Jupiter;
  admin: Keypair;
  programId: string;
  kamiyoMint: string;
  usdcMint: string;
  allocationBps: number;
  slippageBps: number;
  maxPriceImpactBps: number;
  alerter: Alerter;
  logger: Logger;
  now?: () => Date;
  /** Below this the admin wallet cannot be trusted to pay fees and rent: the run halts. Default 0.01 SOL. */
  minSolLamports?: bigint;
  /** Status poll and resend intervals while a transaction is in flight. */
  pollMs?: number;
  resendMs?: number;
  /** Test seam: called at each step boundary (crash tests exit the process here). */
  boundary?: (name: Boundary) => void | Promise<void>;
}

export function createPipeline(deps: PipelineDeps) {
  const { store, chain, jupiter, admin } = deps;
  const log = deps.logger.child({ component: "pipeline" });
  const now = deps.now ?? (() => new Date());
  const minSol = deps.minSolLamports ?? 10_000_000n;
  const awaitOptions = { pollMs: deps.pollMs ?? 500, resendMs: deps.resendMs ?? 2000 };
  const staking = createStakingInstructions(deps.programId, deps.kamiyoMint);
  const kamiyoMint = new PublicKey(deps.kamiyoMint);
  const usdcMint = new PublicKey(deps.usdcMint);
  const adminKey = admin.publicKey.toBase58();
  const adminKamiyo = getAssociatedTokenAddressSync(kamiyoMint, admin.publicKey, false, TOKEN_2022_PROGRAM_ID);
  let adminUsdcAccount: PublicKey | undefined;
  const boundary = async (name: Boundary) => deps.boundary?.(name);

  /** USDC may be a classic Token or a Token-2022 mint: the mint's owner says which. */
  async function adminUsdc(): Promise<PublicKey> {
    if (adminUsdcAccount) return adminUsdcAccount;
    const info = await chain.connection.getAccountInfo(usdcMint);
    if (!info) throw new PipelineHalt("insufficient_usdc", `USDC mint ${usdcMint.toBase58()} does not exist`);
    adminUsdcAccount = getAssociatedTokenAddressSync(usdcMint, admin.publicKey, false, info.owner);
    return adminUsdcAccount;
  }

  async function requireSol(): Promise<void> {
    const lamports = await chain.lamports(admin.publicKey);
    if (lamports < minSol) throw new PipelineHalt("insufficient_sol", `admin wallet holds ${lamports} lamports, needs at least ${minSol}`);
  }
  async function requireUsdc(amount: bigint): Promise<void> {
    const balance = await chain.tokenBalance(await adminUsdc());
    if (balance < amount) throw new PipelineHalt("insufficient_usdc", `admin wallet holds ${balance} micro-USDC, the buyback needs ${amount}`);
  }
  async function requireKamiyo(amount: bigint): Promise<void> {
    const balance = await chain.tokenBalance(adminKamiyo);
    if (balance < amount) throw new PipelineHalt("insufficient_kamiyo", `admin wallet holds ${balance} KAMIYO base units, funding needs ${amount}`);
  }

  const reload = async (id: bigint): Promise<RunRow> => {
    const run = await store.getRun(id);
    if (!run) throw new PipelineHalt("run_missing", `run ${id} does not exist`);
    return run;
  };

  // ---- allocate ----

  async function allocate(run: RunRow): Promise<void> {
    if (now() < run.window_end) throw new PipelineHalt("window_open", `the window of ${run.run_date} closes at ${run.window_end.toISOString()}`);
    const { revenue, requests } = await store.revenueBetween(run.window_start, run.window_end);
    const allocation = allocationOf(revenue, deps.allocationBps);
    if (await store.allocate(run, { revenue, requestCount: requests, allocationBps: deps.allocationBps, allocation })) {
      log.info({ day: run.run_date, revenue: revenue.toString(), allocation: allocation.toString(), requests: requests.toString() }, allocation === 0n ? "nothing to allocate: run skipped" : "allocation frozen");
    }
  }

  // ---- a money step: store, send, await, record (shared by swap and fund) ----

  interface MoneyStep {
    purpose: "swap" | "fund";
    from: readonly RunRow["status"][];
    signed: RunRow["status"];
    /** Checks balances, builds and signs a new transaction. */
    build(): Promise<{ tx: VersionedTransaction; lastValidBlockHeight: bigint; quote?: { [key: string]: JsonValue } }>;
    record(tx: StoredTx): Promise<void>;
    /** Throws the error that decides what happens after a landed failure. */
    onFailed(err: TransactionError, tx: StoredTx): Promise<never>;
  }

  async function moneyStep(run: RunRow, step: MoneyStep): Promise<void> {
    for (;;) {
      let tx = await store.pendingTx(run.id, step.purpose);
      let sent = false;
      if (!tx) {
        const built = await step.build();
        const raw = built.tx.serialize();
        const signature = bs58.encode(built.tx.signatures[0]!);
        const stored = await store.storeTx(
          {
            runId: run.id,
            purpose: step.purpose,
            signature,
            raw,
            blockhash: built.tx.message.recentBlockhash,
            lastValidBlockHeight: built.lastValidBlockHeight,
            ...(built.quote ? { quote: built.quote } : {}),
          },
          step.from,
          step.signed,
        );
        if (stored === "duplicate") {
          // Byte for byte an earlier transaction (same amount, same blockhash): the chain would answer
          // AlreadyProcessed. Build again once the blockhash has moved on.
          log.debug({ day: run.run_date, purpose: step.purpose, signature }, "built a duplicate of an earlier transaction; waiting for a new blockhash");
          await sleep(awaitOptions.pollMs);
          continue;
        }
        if (stored === "race") {
          // Another worker stored one first (or moved the run on): never send ours.
          const current = await reload(run.id);
          if (!step.from.includes(current.status)) return;
          continue;
        }
        tx = stored;
        log.info({ day: run.run_date, purpose: step.purpose, signature }, "transaction stored");
        await boundary(`${step.purpose}.beforeSend`);
        await chain.sendRaw(tx.raw);
        sent = true;
        await boundary(`${step.purpose}.afterSend`);
      }
      const outcome = await awaitFinal(chain, tx, awaitOptions, sent);
      if (outcome.kind === "landed") {
        await boundary(`${step.purpose}.afterConfirm`);
        await step.record(tx);
        return;
      }
      if (outcome.kind === "expired") {
        log.warn({ day: run.run_date, purpose: step.purpose, signature: tx.signature }, "transaction expired unlanded: signing anew");
        await store.closeTx(tx.id, "expired");
        continue;
      }
      log.warn({ day: run.run_date, purpose: step.purpose, signature: tx.signature, err: outcome.err }, "transaction landed with an error");
      await store.closeTx(tx.id, "failed", outcome.err as JsonValue);
      await step.onFailed(outcome.err, tx);
    }
  }

  /** The instruction error of a landed transaction: [index, program id, custom code or null]. */
  function instructionError(err: TransactionError, tx: StoredTx): { program: string; custom: number | null } | null {
    const ie = (err as { InstructionError?: [number, unknown] }).InstructionError;
    if (!Array.isArray(ie)) return null;
    const [index, inner] = ie;
    const message = VersionedTransaction.deserialize(tx.raw).message;
    const ix = message.compiledInstructions[index];
    const program = ix ? (message.staticAccountKeys[ix.programIdIndex]?.toBase58() ?? "") : "";
    const custom = typeof inner === "object" && inner !== null && "Custom" in inner ? Number((inner as { Custom: number }).Custom) : null;
    return { program, custom };
  }

  // ---- buy back ----

  async function buyback(run: RunRow): Promise<void> {
    const amount = run.allocation_micro_usdc;
    if (amount === null || amount <= 0n) throw new PipelineHalt("bad_quote", `run ${run.run_date} has no allocation to spend`);
    await moneyStep(run, {
      purpose: "swap",
      from: ["allocated", "swap_signed"],
      signed: "swap_signed",
      async build() {
        await requireSol();
        await requireUsdc(amount);
        const quote = await jupiter.quote({
          inputMint: usdcMint.toBase58(),
          outputMint: kamiyoMint.toBase58(),
          amount,
          slippageBps: deps.slippageBps,
          maxPriceImpactBps: deps.maxPriceImpactBps,
        });
        const { tx, lastValidBlockHeight } = await jupiter.swap(quote, admin.publicKey);
        tx.sign([admin]);
        if (tx.signatures.some((s) => s.every((b) => b === 0))) {
          throw new PipelineHalt("bad_swap_transaction", "the swap transaction needs a signature other than the admin's");
        }
        return {
          tx,
          lastValidBlockHeight,
          quote: {
            inAmount: quote.response.inAmount,
            outAmount: quote.response.outAmount,
            otherAmountThreshold: quote.response.otherAmountThreshold,
            priceImpactPct: quote.response.priceImpactPct,
            slippageBps: quote.response.slippageBps,
          },
        };
      },
      async record(tx) {
        const deltas = await chain.tokenDeltas(tx.signature);
        const usdcSpent = -ownerDelta(deltas, adminKey, usdcMint.toBase58());
        const kamiyoBought = ownerDelta(deltas, adminKey, kamiyoMint.toBase58());
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
        }
      },
      async onFailed(err, tx) {
        // Balances first: a shortfall is the operator's to fix, whatever the program said.
        await requireSol();
        await requireUsdc(amount);
        const ie = instructionError(err, tx);
        if (ie && ie.program === JUPITER_PROGRAM_ID && ie.custom === JUPITER_SLIPPAGE_ERROR) {
          throw new RetryableStepError(`swap ${tx.signature} exceeded its slippage tolerance: retrying with a fresh quote`);
        }
        throw new PipelineHalt("rejected_instruction", `swap ${tx.signature} failed: ${JSON.stringify(err)}`);
      },
    });
  }

  // ---- fund the pool ----

  async function fund(run: RunRow): Promise<void> {
    const amount = run.kamiyo_bought;
    if (amount === null || amount <= 0n) throw new PipelineHalt("rejected_instruction", `run ${run.run_date} bought no KAMIYO to fund`);
    await moneyStep(run, {
      purpose: "fund",
      from: ["swapped", "fund_signed"],
      signed: "fund_signed",
      async build() {
        await requireSol();
        await requireKamiyo(amount);
        const ix = await staking.fundPool(admin.publicKey, adminKamiyo, amount);
        const { blockhash, lastValidBlockHeight } = await chain.latestBlockhash();
        // The memo names the run: two runs funding the same amount within one blockhash still differ.
        const memo = new TransactionInstruction({ programId: MEMO_PROGRAM_ID, keys: [], data: Buffer.from(`kamiyo-stake fund_pool ${run.run_date}`, "utf8") });
        const message = new TransactionMessage({ payerKey: admin.publicKey, recentBlockhash: blockhash, instructions: [ix, memo] }).compileToV0Message();
        const tx = new VersionedTransaction(message);
        tx.sign([admin]);
        // Free to ask: a rejected instruction is found here, before anything is stored or paid.
        const sim = await chain.simulate(tx);
        if (sim.err) {
          throw new PipelineHalt("rejected_instruction", `fund_pool(${amount}) is rejected: ${JSON.stringify(sim.err)} ${sim.logs.slice(-3).join(" | ")}`);
        }
        return { tx, lastValidBlockHeight };
      },
      async record(tx) {
        const vault = staking.addresses.rewardVault.toBase58();
        const deltas = await chain.tokenDeltas(tx.signature);
        const funded = deltas.filter((d) => d.account === vault).reduce((s, d) => s + d.post - d.pre, 0n);
        if (funded !== amount) log.error({ day: run.run_date, funded: funded.toString(), amount: amount.toString() }, "reward vault moved by a different amount than funded");
        const recorded = await store.recordFunding(run, tx, { amount: funded, pool: staking.addresses.pool.toBase58(), vault });
        if (recorded) log.info({ day: run.run_date, signature: tx.signature, amount: funded.toString() }, "pool funding recorded");
      },
      async onFailed(err, tx) {
        await requireSol();
        await requireKamiyo(amount);
        throw new PipelineHalt("rejected_instruction", `fund_pool ${tx.signature} failed: ${JSON.stringify(err)}`);
      },
    });
  }

  return {
    /** Advances the run as far as it goes; resolves with its final status ("done" or "skipped"). */
    async processRun(runId: bigint): Promise<RunRow["status"]> {
      let run = await reload(runId);
      if (run.status === "failed") {
        // Only an operator sends a job for a failed run (retry in the queue UI, `jobs run`): resume it.
        if (await store.resume(run)) log.warn({ day: run.run_date, from: run.failed_from }, "resuming a failed run");
        run = await reload(runId);
      }
      for (;;) {
        switch (run.status) {
          case "scheduled":
            await allocate(run);
            break;
          case "allocated":
          case "swap_signed":
            await buyback(run);
            break;
          case "swapped":
          case "fund_signed":
            await fund(run);
            break;
          case "funded":
            if (await store.finish(run)) log.info({ day: run.run_date }, "run done");
            break;
          case "done":
          case "skipped":
          case "failed":
            return run.status;
        }
        run = await reload(runId);
      }
    },

    /** Marks the run failed (if it is still open) and alerts. */
    async failRun(runId: bigint, err: unknown): Promise<void> {
      for (let i = 0; i < 3; i++) {
        const run = await store.getRun(runId);
        if (!run || run.status === "done" || run.status === "skipped" || run.status === "failed") return;
        const message = describeError(err);
        if (await store.fail(run, message)) {
          await deps.alerter.alert(`run ${run.run_date} failed at ${run.status}: ${message}`, {
            runId: run.id.toString(),
            day: run.run_date,
            status: run.status,
            reason: err instanceof PipelineHalt ? err.reason : "retries_exhausted",
          });
          return;
        }
      }
    },
  };
}

export type Pipeline = ReturnType<typeof createPipeline>;
