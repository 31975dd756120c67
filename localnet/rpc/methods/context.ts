/** What a JSON-RPC method handler receives, and the result forms it may return. */
import type { Logger } from "pino";
import type { ChainApi } from "../../types.ts";

export const API_VERSION = "2.3.0";

export interface MethodContext {
  chain: ChainApi;
  logger: Logger;
}

/**
 * A result written piece by piece (getProgramAccounts): `chunks` yields JSON text that concatenates to the
 * result value. Everything that can fail is checked before the object is returned, so writing cannot fail.
 */
export class StreamedResult {
  readonly chunks: Iterable<string>;
  constructor(chunks: Iterable<string>) {
    this.chunks = chunks;
  }
}

export type MethodHandler = (params: unknown[], ctx: MethodContext) => unknown;

/** The validator's `{context: {slot, apiVersion}, value}` wrapper. */
export function withContext<T>(slot: bigint, value: T): { context: { slot: bigint; apiVersion: string }; value: T } {
  return { context: { slot, apiVersion: API_VERSION }, value };
}
