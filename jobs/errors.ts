/**
 * Pipeline errors say whether a retry can help. `PipelineHalt` extends BullMQ's UnrecoverableError, so the
 * job fails at once (no further attempts) and the run is marked failed with an alert.
 */
import { UnrecoverableError } from "bullmq";

export type HaltReason =
  | "insufficient_usdc"
  | "insufficient_sol"
  | "insufficient_kamiyo"
  | "rejected_instruction"
  | "bad_quote"
  | "bad_swap_transaction"
  | "window_open"
  | "run_missing";

/** Retrying cannot help until an operator acts (top up the wallet, fix the configuration). */
export class PipelineHalt extends UnrecoverableError {
  override name = "PipelineHalt";
  readonly reason: HaltReason;
  constructor(reason: HaltReason, message: string) {
    super(`${reason}: ${message}`);
    this.reason = reason;
  }
}

/** A retry (with a fresh quote and a fresh transaction) may succeed: slippage, price impact, RPC trouble. */
export class RetryableStepError extends Error {
  override name = "RetryableStepError";
}
