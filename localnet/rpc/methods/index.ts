/** Every HTTP JSON-RPC method by name. */
import { accountMethods } from "./accounts.ts";
import { cheatcodeMethods } from "./cheatcodes.ts";
import { clusterMethods } from "./cluster.ts";
import type { MethodHandler } from "./context.ts";
import { transactionMethods } from "./transactions.ts";

export const HTTP_METHODS: ReadonlyMap<string, MethodHandler> = new Map(
  Object.entries({ ...accountMethods, ...clusterMethods, ...transactionMethods, ...cheatcodeMethods }),
);

export { StreamedResult, type MethodContext, type MethodHandler } from "./context.ts";
