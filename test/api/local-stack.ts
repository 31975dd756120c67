/**
 * The `start` composition for tests: local chain on free ports, a fresh Postgres schema, the real indexer
 * and the API, built by the same createLocalStack the command uses. Options let a test leave the indexer out
 * (to start it later) or put a filter between the indexer and the chain's websocket.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { startServices, type RunningServices, type Service } from "../../cli/services.ts";
import { createLocalStack, type LocalStackState } from "../../cli/commands/start.ts";
import { createLogger } from "../../src/log.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { testConfig } from "./harness.ts";
import { freePort } from "../kit/localnet.ts";
import { startWsProxy, type WsProxy } from "../kit/ws-proxy.ts";

export interface TestStack {
  state: LocalStackState;
  apiUrl: string;
  schema: FreshSchema;
  /** Present with `dropProgramNotifications`. */
  proxy: WsProxy | null;
  /** Starts a service left out with `defer`. */
  startDeferred(name: string): Promise<void>;
  close(): Promise<void>;
}

export interface TestStackOptions {
  env?: Record<string, string>;
  /** The indexer's websocket passes through a proxy that drops programNotification: webhooks only. */
  dropProgramNotifications?: boolean;
  /** Services not started with the others (e.g. "indexer"), for startDeferred. */
  defer?: string[];
  slotMs?: number;
}

export async function startTestStack(o: TestStackOptions = {}): Promise<TestStack> {
  const schema = await withFreshSchema();
  const stateDir = await mkdtemp(join(tmpdir(), "kamiyo-stack-"));
  const apiPort = await freePort();
  const config = testConfig({
    PORT: String(apiPort),
    DATABASE_URL: schema.url,
    LOCALNET_STATE_DIR: stateDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    ...o.env,
  });
  const logger = createLogger({ level: config.logLevel });
  // A BullMQ key prefix of its own, removed again on close.
  const jobsPrefix = `test-stack-${randomBytes(6).toString("hex")}`;
  const { state, services } = createLocalStack({
    config,
    logger,
    rpcPort: 0,
    apiPort,
    dbSchema: schema.schema,
    slotMs: o.slotMs ?? 100,
    // Reconciliation would repair what a test wants to see arrive through one particular path.
    indexerOptions: { reconcileIntervalMs: 0, statusIntervalMs: 100, webhookPollMs: 200 },
    backfillTimeoutMs: 20_000,
    jupiterPort: 0,
    jobsPrefix,
  });
  let proxy: WsProxy | null = null;
  if (o.dropProgramNotifications) {
    const filter: Service = {
      name: "websocket filter",
      async start() {
        proxy = await startWsProxy(state.localnet!.wsUrl, { dropProgramNotifications: true });
        state.indexerWsUrl = proxy.url;
      },
      async stop() {
        await proxy?.close();
      },
    };
    services.splice(1, 0, filter);
  }
  const deferred = services.filter((s) => o.defer?.includes(s.name));
  const running: RunningServices[] = [];
  const cleanup = async () => {
    for (const r of running.reverse()) await r.stop().catch(() => undefined);
    const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      const keys = await redis.keys(`${jobsPrefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
    await schema.close();
    await rm(stateDir, { recursive: true, force: true });
  };
  try {
    running.push(await startServices(services.filter((s) => !deferred.includes(s)), logger));
  } catch (err) {
    await cleanup();
    throw err;
  }
  return {
    state,
    apiUrl: state.api!.url,
    schema,
    proxy,
    async startDeferred(name) {
      const s = deferred.find((d) => d.name === name);
      if (!s) throw new Error(`no deferred service ${name}`);
      running.push(await startServices([s], logger));
    },
    close: cleanup,
  };
}
