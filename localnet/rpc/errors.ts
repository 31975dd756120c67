/** JSON-RPC error codes and constructors, with the validator's messages where it has one. */
import { RpcError } from "../types.ts";

export { RpcError };

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;
export const UNSUPPORTED_TRANSACTION_VERSION = -32015;
export const MIN_CONTEXT_SLOT_NOT_REACHED = -32016;

export const parseError = () => new RpcError(PARSE_ERROR, "Parse error");
export const invalidRequest = (message = "Invalid request") => new RpcError(INVALID_REQUEST, message);
export const methodNotFound = () => new RpcError(METHOD_NOT_FOUND, "Method not found");
export const invalidParams = (message: string) => new RpcError(INVALID_PARAMS, message);

export function minContextSlotNotReached(contextSlot: bigint): RpcError {
  return new RpcError(MIN_CONTEXT_SLOT_NOT_REACHED, "Minimum context slot has not been reached", { contextSlot });
}

export function unsupportedTransactionVersion(version: number): RpcError {
  return new RpcError(
    UNSUPPORTED_TRANSACTION_VERSION,
    `Transaction version (${version}) is not supported by the requesting client. ` +
      `Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": ${version}`,
  );
}

/** The JSON-RPC `error` member for anything a handler threw: RpcError verbatim, anything else an internal error. */
export function toErrorObject(err: unknown): { code: number; message: string; data?: unknown } {
  if (err instanceof RpcError) {
    return err.data === undefined ? { code: err.code, message: err.message } : { code: err.code, message: err.message, data: err.data };
  }
  return { code: INTERNAL_ERROR, message: "Internal error" };
}
