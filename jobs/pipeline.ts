/**
 * One run per UTC day, driven by its Postgres row: allocate -> buy back (Jupiter) -> fund_pool -> done.
 * `processRun` resumes from whatever status the row holds, so any delivery of any job for the run (a
 * retry, a stall, an operator's re-add) continues the same run and never repeats a money step: each
 * step is a compare-and-set on the row (src/domain/run-states.ts), and each transaction is stored
 * before its first send and asked about (steps/money-step.ts) before anything is signed anew.
 */
import type { Keypair } from "@solana/web3.js";
import { isTerminal, stepFor, type RunStatus, type RunStep } from "../src/domain/run-states.ts";
import { describeError, isRetryable } from "../src/errors.ts";
import type { Logger } from "../src/log.ts";
import { createStakingInstructions } from "../src/solana/instructions.ts";
import type { Alerter } from "./alerts.ts";
import type { ChainGateway } from "./chain.ts";
import { PipelineHalt } from "./errors.ts";
import type { Jupiter } from "./jupiter.ts";
import type { LedgerGate } from "./ledger/gate.ts";
import type { RunRow, RunStore } from "./runs.ts";
import { createAllocateStep } from "./steps/allocate.ts";
import { createBuybackStep } from "./steps/buyback.ts";
import { createFundStep } from "./steps/fund.ts";
import { createMoneyStep, type Boundary } from "./steps/money-step.ts";
import { SILENT_REPORT, type RunReport } from "./steps/report.ts";
import { createAdminWallet } from "./steps/wallet.ts";

export type { Boundary } from "./steps/money-step.ts";

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
  /** Reconciles each run's ledger window before it allocates (jobs/ledger/gate.ts). */
  ledgerGate?: LedgerGate | undefined;
  /** Test seam: called at each step boundary (crash tests exit the process here). */
  boundary?: (name: Boundary) => void | Promise<void>;
  /** Wraps each step of a run (jobs/metrics.ts times them). */
  timeStep?: <T>(step: RunStep, fn: () => Promise<T>) => Promise<T>;
}

export function createPipeline(deps: PipelineDeps) {
  const { store, chain } = deps;
  const logger = deps.logger.child({ component: "pipeline" });
  const wallet = createAdminWallet({ chain, admin: deps.admin, kamiyoMint: deps.kamiyoMint, usdcMint: deps.usdcMint, minSolLamports: deps.minSolLamports ?? 10_000_000n });
  const moneyStep = createMoneyStep({
    store,
    chain,
    logger,
    awaitOptions: { pollMs: deps.pollMs ?? 500, resendMs: deps.resendMs ?? 2000 },
    ...(deps.boundary ? { boundary: deps.boundary } : {}),
  });
  const steps = {
    allocate: createAllocateStep({ store, allocationBps: deps.allocationBps, now: deps.now ?? (() => new Date()), logger, ledgerGate: deps.ledgerGate }),
    buyback: createBuybackStep({ store, chain, jupiter: deps.jupiter, wallet, moneyStep, slippageBps: deps.slippageBps, maxPriceImpactBps: deps.maxPriceImpactBps, logger }),
    fund: createFundStep({ store, chain, staking: createStakingInstructions(deps.programId, deps.kamiyoMint), wallet, moneyStep, logger }),
    async finish(run: RunRow, report: RunReport): Promise<void> {
      if (await store.finish(run)) {
        logger.info({ day: run.run_date }, "run done");
        await report.log(`run ${run.run_date} done`);
      }
    },
  };

  const reload = async (id: bigint): Promise<RunRow> => {
    const run = await store.getRun(id);
    if (!run) throw new PipelineHalt("run_missing", `run ${id} does not exist`);
    return run;
  };

  return {
    /** Advances the run as far as it goes; resolves with its final status ("done" or "skipped"). */
    async processRun(runId: bigint, report: RunReport = SILENT_REPORT): Promise<RunStatus> {
      let run = await reload(runId);
      if (run.status === "failed") {
        // Only an operator sends a job for a failed run (retry in the queue UI, `jobs run`): resume it.
        if (await store.resume(run)) logger.warn({ day: run.run_date, from: run.failed_from }, "resuming a failed run");
        run = await reload(runId);
      }
      const timeStep = deps.timeStep ?? ((_step, fn) => fn());
      await report.progress({ day: run.run_date, status: run.status, step: stepFor(run.status) });
      for (let step = stepFor(run.status); step !== null; step = stepFor(run.status)) {
        const current = run;
        const name = step;
        await timeStep(name, () => steps[name](current, report));
        run = await reload(runId);
        await report.progress({ day: run.run_date, status: run.status, step: stepFor(run.status), completed: name });
      }
      return run.status;
    },

    /** Marks the run failed (if it is still open) and alerts. */
    async failRun(runId: bigint, err: unknown): Promise<void> {
      for (let i = 0; i < 3; i++) {
        const run = await store.getRun(runId);
        if (!run || isTerminal(run.status)) return;
        const message = describeError(err);
        if (await store.fail(run, message)) {
          await deps.alerter.alert(`run ${run.run_date} failed at ${run.status}: ${message}`, {
            runId: run.id.toString(),
            day: run.run_date,
            status: run.status,
            reason: err instanceof PipelineHalt ? err.reason : isRetryable(err) ? "retries_exhausted" : "not_retryable",
          });
          return;
        }
      }
    },
  };
}

export type Pipeline = ReturnType<typeof createPipeline>;
