/** Backoff, cancellable sleeps and retry of retryable failures. */
import { isRetryable, StoppedError } from "./errors.ts";

export interface Backoff {
  /** Milliseconds to wait before attempt `attempt` (1-based: the first retry is attempt 1). */
  delay(attempt: number): number;
}

/** Exponential backoff with full jitter between base and the capped exponential value. */
export function exponentialBackoff(baseMs: number, maxMs: number): Backoff {
  return {
    delay(attempt) {
      const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
      return Math.round(baseMs + Math.random() * Math.max(0, ceiling - baseMs));
    },
  };
}

/** Resolves after `ms`, or rejects with StoppedError as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new StoppedError());
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new StoppedError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export interface RetryOptions {
  attempts: number;
  backoff: Backoff;
  signal?: AbortSignal;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

/** Runs `fn` until it succeeds, fails with a non-retryable error, or `attempts` are used up. */
export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StoppedError || options.signal?.aborted) throw err instanceof StoppedError ? err : new StoppedError();
      if (!isRetryable(err) || attempt >= options.attempts) throw err;
      const delayMs = options.backoff.delay(attempt);
      options.onRetry?.(err, attempt, delayMs);
      await sleep(delayMs, options.signal);
    }
  }
}

/** Resolves once `check` is true, polling every `everyMs`; rejects with a timeout after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  o: { timeoutMs: number; everyMs: number; signal?: AbortSignal },
): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached within ${o.timeoutMs} ms`);
    await sleep(o.everyMs, o.signal);
  }
}
