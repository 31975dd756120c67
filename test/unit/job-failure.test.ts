/** What the pipeline worker tells BullMQ about a failed attempt, and how chain-call failures are classified. */
import { UnrecoverableError } from "bullmq";
import { describe, expect, it } from "vitest";
import { chainFailure } from "../../jobs/chain.ts";
import { PipelineHalt, RetryableStepError } from "../../jobs/errors.ts";
import { toJobFailure } from "../../jobs/processor.ts";
import { isRetryable, NonRetryableError, RetryableError } from "../../src/errors.ts";

const coded = (message: string, code: string | number) => Object.assign(new Error(message), { code });

describe("a failed job attempt", () => {
  it("is retried by BullMQ when a retry can help: RPC, Redis and Postgres outages, slippage", () => {
    const transient = [
      new RetryableStepError("swap exceeded its slippage tolerance"),
      chainFailure("lamports", new Error("failed to get balance of account X: TypeError: fetch failed")),
      coded("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED"),
      coded("terminating connection due to administrator command", "57P01"),
      new Error("Connection terminated unexpectedly"),
      new Error("Connection is closed."),
      new RetryableError("unavailable", "database unavailable"),
    ];
    for (const err of transient) {
      expect(isRetryable(err), err.message).toBe(true);
      expect(toJobFailure(err), err.message).toBe(err);
    }
  });

  it("fails the job at once when it is classified non-retryable or not classified at all", () => {
    const halt = new PipelineHalt("insufficient_usdc", "admin wallet holds 1000 micro-USDC, the buyback needs 300000");
    const final = [
      halt,
      new NonRetryableError("invalid_input", "bad"),
      new TypeError("Cannot read properties of undefined (reading 'signatures')"),
      coded('duplicate key value violates unique constraint "x"', "23505"),
      coded("syntax error at or near", "42601"),
    ];
    for (const err of final) {
      const failure = toJobFailure(err);
      expect(failure, err.message).toBeInstanceOf(UnrecoverableError);
      expect(failure.message).toBe(err.message);
      expect(failure.cause).toBe(err);
    }
    expect(toJobFailure(halt).message).toMatch(/^insufficient_usdc: /);
    expect(toJobFailure("a thrown string")).toMatchObject({ name: "UnrecoverableError", message: "a thrown string" });
  });

  it("keeps the halt's reason and the service's error kinds", () => {
    const halt = new PipelineHalt("rejected_instruction", "fund_pool failed");
    expect(halt).toBeInstanceOf(NonRetryableError);
    expect(halt).toMatchObject({ reason: "rejected_instruction", code: "rejected_instruction", kind: "upstream", retryable: false });
    expect(new PipelineHalt("insufficient_sol", "x")).toMatchObject({ kind: "conflict" });
    expect(new RetryableStepError("price impact too high")).toMatchObject({ kind: "upstream", retryable: true });
  });
});

describe("a failed chain call", () => {
  it("is retryable unless the node called the request malformed", () => {
    const down = chainFailure("signatureOutcome", new Error("503 Service Unavailable: upstream"));
    expect(down).toBeInstanceOf(RetryableError);
    expect(down).toMatchObject({ kind: "upstream", message: "signatureOutcome: 503 Service Unavailable: upstream" });
    const refused = chainFailure("simulate", coded("invalid params", -32602));
    expect(refused).toBeInstanceOf(NonRetryableError);
    expect(refused).toMatchObject({ kind: "upstream", retryable: false });
    expect(isRetryable(chainFailure("tokenBalance", coded("Node is behind by 42 slots", -32005)))).toBe(true);
    // An error the gateway already classified passes through unchanged.
    const classified = new RetryableError("upstream", "transaction is not available from the RPC node yet");
    expect(chainFailure("tokenDeltas", classified)).toBe(classified);
  });
});
