/**
 * Indexer errors. Each says whether retrying can help: callers (retry loops, the webhook inbox, the API's
 * status mapping) decide by `retryable`, never by message text.
 */

/** An RPC call failed. Transport failures, HTTP 429/5xx and node-side lag are retryable; bad requests are not. */
export class RpcCallError extends Error {
  override name = "RpcCallError";
  readonly method: string;
  /** JSON-RPC error code, or the HTTP status for transport-level failures (null when there was no response). */
  readonly code: number | null;
  readonly retryable: boolean;
  constructor(method: string, message: string, options: { code: number | null; retryable: boolean; cause?: unknown }) {
    super(`${method}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.method = method;
    this.code = options.code;
    this.retryable = options.retryable;
  }
}

/** The RPC node has not reached the requested minContextSlot yet (-32016). Retrying shortly helps. */
export const MIN_CONTEXT_SLOT_NOT_REACHED = -32016;

/** A wallet address that is not a base58 32-byte public key. Retrying does not help. */
export class InvalidWalletError extends Error {
  override name = "InvalidWalletError";
  readonly retryable = false;
}

/** The indexer was asked to stop (or lost leadership) while the operation ran. Not an error of the operation. */
export class StoppedError extends Error {
  override name = "StoppedError";
  readonly retryable = false;
  constructor(message = "the indexer is stopping") {
    super(message);
  }
}

export function isRetryable(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { retryable?: unknown }).retryable === true;
}
