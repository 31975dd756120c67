/**
 * Funding: move the KAMIYO the run bought into the pool's reward vault with the staking program's
 * fund_pool (swapped -> fund_signed -> funded). The transaction is simulated before it is stored, so a
 * rejected instruction halts the run without anything being sent or paid.
 */
import { PublicKey, TransactionInstruction, TransactionMessage, VersionedTransaction } from "@solana/web3.js";
import { RUN_TRANSITIONS } from "../../src/domain/run-states.ts";
import type { Logger } from "../../src/log.ts";
import type { createStakingInstructions } from "../../src/solana/instructions.ts";
import type { ChainGateway } from "../chain.ts";
import { PipelineHalt } from "../errors.ts";
import type { RunRow, RunStore, StoredTx } from "../runs.ts";
import type { RunMoneyStep, SignedTx } from "./money-step.ts";
import { SILENT_REPORT, type RunReport } from "./report.ts";
import type { AdminWallet } from "./wallet.ts";

const MEMO_PROGRAM_ID = new PublicKey("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");

export interface FundDeps {
  store: RunStore;
  chain: ChainGateway;
  staking: ReturnType<typeof createStakingInstructions>;
  wallet: AdminWallet;
  moneyStep: RunMoneyStep;
  logger: Logger;
}

export function createFundStep(deps: FundDeps) {
  const { store, chain, staking, wallet } = deps;
  const log = deps.logger;
  const admin = wallet.keypair;

  async function build(run: RunRow, amount: bigint): Promise<SignedTx> {
    await wallet.requireSol();
    await wallet.requireKamiyo(amount);
    const ix = await staking.fundPool(admin.publicKey, wallet.kamiyoAccount, amount);
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
  }

  async function record(run: RunRow, amount: bigint, tx: StoredTx, report: RunReport): Promise<void> {
    const vault = staking.addresses.rewardVault.toBase58();
    const deltas = await chain.tokenDeltas(tx.signature);
    const funded = deltas.filter((d) => d.account === vault).reduce((s, d) => s + d.post - d.pre, 0n);
    if (funded !== amount) log.error({ day: run.run_date, funded: funded.toString(), amount: amount.toString() }, "reward vault moved by a different amount than funded");
    const recorded = await store.recordFunding(run, tx, { amount: funded, pool: staking.addresses.pool.toBase58(), vault });
    if (recorded) {
      log.info({ day: run.run_date, signature: tx.signature, amount: funded.toString() }, "pool funding recorded");
      await report.log(`fund: fund_pool ${tx.signature} moved ${funded} KAMIYO base units into the reward vault ${vault}`);
      await report.progress({ day: run.run_date, step: "fund", kamiyoFunded: funded.toString(), signature: tx.signature });
    }
  }

  return async function fund(run: RunRow, report: RunReport = SILENT_REPORT): Promise<void> {
    const amount = run.kamiyo_bought;
    if (amount === null || amount <= 0n) throw new PipelineHalt("rejected_instruction", `run ${run.run_date} bought no KAMIYO to fund`);
    await report.log(`fund: moving ${amount} KAMIYO base units into the reward vault with fund_pool`);
    await deps.moneyStep(run, {
      purpose: "fund",
      sign: RUN_TRANSITIONS.signFund,
      report,
      build: () => build(run, amount),
      record: (tx) => record(run, amount, tx, report),
      async onFailed(err, tx) {
        await wallet.requireSol();
        await wallet.requireKamiyo(amount);
        throw new PipelineHalt("rejected_instruction", `fund_pool ${tx.signature} failed: ${JSON.stringify(err)}`);
      },
    });
  };
}
