/**
 * The pipeline's errors, in the service's vocabulary (src/errors.ts). The worker decides with
 * `isRetryable`: a `PipelineHalt` (or any error nobody classified) fails the job at once and the run is
 * marked failed with an alert; a `RetryableStepError` is retried with the job's configured attempts.
 */
import { NonRetryableError, RetryableError, type ErrorKind } from "../src/errors.ts";

export type HaltReason =
  | "insufficient_usdc"
  | "insufficient_sol"
  | "insufficient_kamiyo"
  | "rejected_instruction"
  | "bad_quote"
  | "bad_swap_transaction"
  | "window_open"
  | "run_missing";

const HALT_KIND: Record<HaltReason, ErrorKind> = {
  insufficient_usdc: "conflict",
  insufficient_sol: "conflict",
  insufficient_kamiyo: "conflict",
  rejected_instruction: "upstream",
  bad_quote: "upstream",
  bad_swap_transaction: "upstream",
  window_open: "conflict",
  run_missing: "not_found",
};

/** Retrying cannot help until an operator acts (top up the wallet, fix the configuration). */
export class PipelineHalt extends NonRetryableError {
  override name = "PipelineHalt";
  readonly reason: HaltReason;
  constructor(reason: HaltReason, message: string) {
    super(HALT_KIND[reason], `${reason}: ${message}`, { code: reason });
    this.reason = reason;
  }
}

/** A retry (with a fresh quote and a fresh transaction) may succeed: slippage, price impact, Jupiter trouble. */
export class RetryableStepError extends RetryableError {
  override name = "RetryableStepError";
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("upstream", message, { code: "step_retryable", ...options });
  }
}
