/** Every HTTP JSON-RPC method by name. */
import { accountMethods } from "./accounts.ts";
import { blockMethods } from "./blocks.ts";
import { cheatcodeMethods } from "./cheatcodes.ts";
import { clusterMethods } from "./cluster.ts";
import type { MethodHandler } from "./context.ts";
import { networkMethods } from "./network.ts";
import { tokenMethods } from "./tokens.ts";
import { transactionMethods } from "./transactions.ts";

export const HTTP_METHODS: ReadonlyMap<string, MethodHandler> = new Map(
  Object.entries({
    ...accountMethods,
    ...tokenMethods,
    ...clusterMethods,
    ...networkMethods,
    ...blockMethods,
    ...transactionMethods,
    ...cheatcodeMethods,
  }),
);

export { StreamedResult, type MethodContext, type MethodHandler } from "./context.ts";
