/**
 * Indexer errors, in the vocabulary of src/errors.ts: each says whether retrying can help, and callers
 * (retry loops, the webhook inbox, the API's status table) decide by that with `isRetryable` from
 * src/errors.ts, never by message text. `StoppedError` is src/errors.ts's too.
 */
import { KamiyoError, NonRetryableError } from "../src/errors.ts";

/** An RPC call failed. Transport failures, HTTP 429/5xx and node-side lag are retryable; bad requests are not. */
export class RpcCallError extends KamiyoError {
  override name = "RpcCallError";
  readonly kind = "upstream" as const;
  readonly method: string;
  /** JSON-RPC error code, or the HTTP status for transport-level failures (null when there was no response). */
  readonly rpcCode: number | null;
  readonly retryable: boolean;
  constructor(method: string, message: string, options: { code: number | null; retryable: boolean; cause?: unknown }) {
    super(`${method}: ${message}`, { code: "rpc_failed", cause: options.cause });
    this.method = method;
    this.rpcCode = options.code;
    this.retryable = options.retryable;
  }
}

/** The RPC node has not reached the requested minContextSlot yet (-32016). Retrying shortly helps. */
export const MIN_CONTEXT_SLOT_NOT_REACHED = -32016;

/** A wallet address that is not a base58 32-byte public key. Retrying does not help. */
export class InvalidWalletError extends NonRetryableError {
  override name = "InvalidWalletError";
  constructor(message: string) {
    super("invalid_input", message, { code: "invalid_wallet" });
  }
}
