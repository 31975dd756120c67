/** The indexer's public surface: the leader process, and what the API process calls. */
export { createIndexer, DEFAULT_INDEXER_OPTIONS, type Indexer, type IndexerDeps, type IndexerOptions } from "./indexer.ts";
export { createIndexerApi, parseWallet, type IndexerApiDeps, type ResyncResult } from "./resync.ts";
export { enqueueWebhookDelivery } from "./webhook-inbox.ts";
export { InvalidWalletError, RpcCallError } from "./errors.ts";
export { isRetryable } from "../src/errors.ts";
export { readStatus, STATUS_KEY } from "./status.ts";
export * from "./contracts.ts";
