/** Indexers for tests: fast timers, a silent logger, a registry of their own. */
import { pino } from "pino";
import { Registry } from "prom-client";
import type { Config } from "../../../src/config.ts";
import { createIndexer, type Indexer, type IndexerOptions } from "../../../indexer/indexer.ts";
import type { FetchLike } from "../../../indexer/rpc-client.ts";
import type { FreshSchema } from "../../kit/db.ts";

export const FAST: Partial<IndexerOptions> = {
  stallTimeoutMs: 2_000,
  handshakeTimeoutMs: 2_000,
  reconnectBaseMs: 20,
  reconnectMaxMs: 300,
  reconcileIntervalMs: 0,
  statusIntervalMs: 100,
  leaderRetryMs: 100,
  rereadDelayMs: 20,
  webhookPollMs: 100,
};

export interface TestIndexer {
  indexer: Indexer;
  registry: Registry;
}

export function testIndexer(
  s: FreshSchema,
  config: Config,
  extra: { options?: Partial<IndexerOptions>; fetch?: FetchLike; wsUrl?: string; rpcUrl?: string; grpcUrl?: string; logLevel?: string } = {},
): TestIndexer {
  const registry = new Registry();
  const indexer = createIndexer({
    config,
    db: s.db,
    pool: s.pool,
    logger: pino({ level: extra.logLevel ?? process.env.TEST_LOG_LEVEL ?? "silent" }),
    registry,
    options: { ...FAST, ...extra.options },
    ...(extra.fetch ? { fetch: extra.fetch } : {}),
    ...(extra.wsUrl ? { wsUrl: extra.wsUrl } : {}),
    ...(extra.rpcUrl ? { rpcUrl: extra.rpcUrl } : {}),
    ...(extra.grpcUrl ? { grpcUrl: extra.grpcUrl } : {}),
  });
  return { indexer, registry };
}
