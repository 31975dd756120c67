/**
 * The one money step, shared by the swap and the funding: exactly-once delivery of a transaction
 * (solana.com/docs/advanced/retry). Its signature and raw bytes are stored, moving the run to the step's
 * signed status, before the first send; after any crash the chain is asked what became of them.
 *   landed ok        -> record it
 *   landed with err  -> it can never land again: the step decides (retry with a new one, or halt)
 *   not found, valid -> send the same bytes again (same signature: cannot land twice)
 *   not found, expired (finalized height past lastValidBlockHeight and the blockhash refused), and still
 *     not found when asked once more -> it can no longer land: build and sign a new one
 */
import bs58 from "bs58";
import type { TransactionError, VersionedTransaction } from "@solana/web3.js";
import type { JsonValue } from "../../src/db/schema.ts";
import type { Transition } from "../../src/domain/run-states.ts";
import type { Logger } from "../../src/log.ts";
import { sleep } from "../../src/retry.ts";
import type { ChainGateway } from "../chain.ts";
import { PipelineHalt } from "../errors.ts";
import type { RunRow, RunStore, StoredTx } from "../runs.ts";
import { SILENT_REPORT, type RunReport } from "./report.ts";

export type Boundary =
  | "swap.beforeSend"
  | "swap.afterSend"
  | "swap.afterConfirm"
  | "fund.beforeSend"
  | "fund.afterSend"
  | "fund.afterConfirm";

export type FinalOutcome =
  | { kind: "landed"; slot: bigint }
  | { kind: "failed"; err: TransactionError }
  | { kind: "expired" };

export interface AwaitOptions {
  /** Between status polls. */
  pollMs: number;
  /** Between resends of the same bytes while the blockhash is valid. */
  resendMs: number;
  signal?: AbortSignal;
}

export interface SignedTx {
  tx: VersionedTransaction;
  lastValidBlockHeight: bigint;
  quote?: { [key: string]: JsonValue };
}

export interface MoneyStep {
  purpose: "swap" | "fund";
  /** The move that stores a new transaction (e.g. allocated | swap_signed -> swap_signed). */
  sign: Transition;
  /** Checks balances, builds and signs a new transaction. */
  build(): Promise<SignedTx>;
  /** The transaction landed: record its effect (moving the run on). */
  record(tx: StoredTx): Promise<void>;
  /** Throws the error that decides what happens after a landed failure. */
  onFailed(err: TransactionError, tx: StoredTx): Promise<never>;
  /** The job's Logs and Progress tabs. */
  report?: RunReport;
}

export interface MoneyStepDeps {
  store: RunStore;
  chain: ChainGateway;
  logger: Logger;
  awaitOptions: AwaitOptions;
  /** Test seam: called at each step boundary (crash tests exit the process here). */
  boundary?: (name: Boundary) => void | Promise<void>;
}

/** One look at the stored transaction: its final outcome, or null while it may still land. */
export async function inspect(chain: ChainGateway, tx: Pick<StoredTx, "signature" | "blockhash" | "last_valid_block_height">): Promise<FinalOutcome | null> {
  const first = await chain.signatureOutcome(tx.signature);
  if (first.kind === "landed") return { kind: "landed", slot: first.slot };
  if (first.kind === "failed") return { kind: "failed", err: first.err };
  if (!(await chain.blockhashExpired(tx.blockhash, tx.last_valid_block_height))) return null;
  // Expiry was established before this second look, so a "not found" now is final.
  const again = await chain.signatureOutcome(tx.signature);
  if (again.kind === "landed") return { kind: "landed", slot: again.slot };
  if (again.kind === "failed") return { kind: "failed", err: again.err };
  return { kind: "expired" };
}

/**
 * Waits until the stored transaction has a final outcome, resending its bytes while it can still land.
 * `sentAlready` says whether this worker has just sent it (then the first resend waits `resendMs`).
 */
export async function awaitFinal(chain: ChainGateway, tx: StoredTx, options: AwaitOptions, sentAlready: boolean): Promise<FinalOutcome> {
  let lastSend = sentAlready ? Date.now() : 0;
  for (;;) {
    const outcome = await inspect(chain, tx);
    if (outcome) return outcome;
    if (Date.now() - lastSend >= options.resendMs) {
      await chain.sendRaw(tx.raw);
      lastSend = Date.now();
      continue;
    }
    await sleep(options.pollMs, options.signal);
  }
}

/** What storing a freshly signed transaction came to: ours to send, build again, or not ours to do. */
type Stored = { kind: "sent"; tx: StoredTx } | { kind: "again" } | { kind: "moved_on" };

export function createMoneyStep(deps: MoneyStepDeps) {
  const { store, chain, awaitOptions } = deps;
  const log = deps.logger;
  const boundary = async (name: Boundary) => deps.boundary?.(name);

  /** Builds, signs and stores a new transaction, then sends it; never sends what was not stored. */
  async function signStoreSend(run: RunRow, step: MoneyStep): Promise<Stored> {
    const built = await step.build();
    const signature = bs58.encode(built.tx.signatures[0]!);
    const stored = await store.storeTx(
      {
        runId: run.id,
        purpose: step.purpose,
        signature,
        raw: built.tx.serialize(),
        blockhash: built.tx.message.recentBlockhash,
        lastValidBlockHeight: built.lastValidBlockHeight,
        ...(built.quote ? { quote: built.quote } : {}),
      },
      step.sign.from,
      step.sign.to,
    );
    if (stored === "duplicate") {
      // Byte for byte an earlier transaction (same amount, same blockhash): the chain would answer
      // AlreadyProcessed. Build again once the blockhash has moved on.
      log.debug({ day: run.run_date, purpose: step.purpose, signature }, "built a duplicate of an earlier transaction; waiting for a new blockhash");
      await sleep(awaitOptions.pollMs);
      return { kind: "again" };
    }
    if (stored === "race") {
      // Another worker stored one first (or moved the run on): never send ours.
      const current = await store.getRun(run.id);
      if (!current) throw new PipelineHalt("run_missing", `run ${run.id} does not exist`);
      return step.sign.from.includes(current.status) ? { kind: "again" } : { kind: "moved_on" };
    }
    log.info({ day: run.run_date, purpose: step.purpose, signature }, "transaction stored");
    const report = step.report ?? SILENT_REPORT;
    await report.log(`${step.purpose}: transaction ${signature} signed and stored (valid through block height ${built.lastValidBlockHeight}); sending`);
    await report.progress({ day: run.run_date, step: step.purpose, status: step.sign.to, signature });
    await boundary(`${step.purpose}.beforeSend`);
    await chain.sendRaw(stored.raw);
    await boundary(`${step.purpose}.afterSend`);
    return { kind: "sent", tx: stored };
  }

  /** Runs the step until its transaction landed and was recorded (or another worker moved the run on). */
  return async function runMoneyStep(run: RunRow, step: MoneyStep): Promise<void> {
    const report = step.report ?? SILENT_REPORT;
    for (;;) {
      let tx = await store.pendingTx(run.id, step.purpose);
      let sent = false;
      if (tx) await report.log(`${step.purpose}: transaction ${tx.signature} was stored earlier; asking the chain what became of it`);
      if (!tx) {
        const stored = await signStoreSend(run, step);
        if (stored.kind === "moved_on") return;
        if (stored.kind === "again") continue;
        tx = stored.tx;
        sent = true;
      }
      const outcome = await awaitFinal(chain, tx, awaitOptions, sent);
      if (outcome.kind === "landed") {
        await report.log(`${step.purpose}: transaction ${tx.signature} landed at slot ${outcome.slot}`);
        await boundary(`${step.purpose}.afterConfirm`);
        await step.record(tx);
        return;
      }
      if (outcome.kind === "expired") {
        log.warn({ day: run.run_date, purpose: step.purpose, signature: tx.signature }, "transaction expired unlanded: signing anew");
        await report.log(`${step.purpose}: transaction ${tx.signature} expired without landing; signing a new one`);
        await store.closeTx(tx.id, "expired");
        continue;
      }
      log.warn({ day: run.run_date, purpose: step.purpose, signature: tx.signature, err: outcome.err }, "transaction landed with an error");
      await report.log(`${step.purpose}: transaction ${tx.signature} landed with an error: ${JSON.stringify(outcome.err)}`);
      await store.closeTx(tx.id, "failed", outcome.err as JsonValue);
      await step.onFailed(outcome.err, tx);
    }
  };
}

export type RunMoneyStep = ReturnType<typeof createMoneyStep>;
