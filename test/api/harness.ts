/**
 * An API under test: a fresh Postgres schema, the app from createApp listening on port 0, and a strict
 * recording IndexerApi unless a real one is given. `close()` stops the server and drops the schema.
 */
import { loadLocalnetConfig } from "../../localnet/demo-env.ts";
import { Writable } from "node:stream";
import { pino } from "pino";
import { Registry } from "prom-client";
import type { Express } from "express";
import type { IndexerApi, WebhookEnqueueResult } from "../../indexer/contracts.ts";
import { createApp, type AppDeps } from "../../api/app.ts";
import { listen, type ListeningServer } from "../../api/server.ts";
import { type Config } from "../../src/config.ts";
import { REDACT_PATHS, type Logger } from "../../src/log.ts";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";

export const ADMIN_KEY = "test-admin-key-0123456789";
export const WEBHOOK_AUTH = "test-webhook-auth-0123456789";

/** Records every call; what it answers is set per test. Anything unexpected throws. */
export class RecordingIndexerApi implements IndexerApi {
  deliveries: unknown[][] = [];
  resyncs: string[] = [];
  enqueueError: Error | null = null;
  resyncAnswer: ((wallet: string) => Awaited<ReturnType<IndexerApi["resyncWallet"]>>) | null = null;

  async enqueueWebhookDelivery(_db: unknown, body: unknown[]): Promise<WebhookEnqueueResult> {
    if (this.enqueueError) throw this.enqueueError;
    this.deliveries.push(body);
    return { id: String(this.deliveries.length), elements: body.length };
  }

  async resyncWallet(wallet: string) {
    this.resyncs.push(wallet);
    if (!this.resyncAnswer) throw new Error("resyncWallet was not expected in this test");
    return this.resyncAnswer(wallet);
  }
}

/** A pino logger that keeps every line (as text) for assertions. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString("utf8"));
      done();
    },
  });
  const logger = pino({ level: "debug", redact: { paths: REDACT_PATHS, censor: "[redacted]" } }, stream);
  return { logger, lines };
}

export interface TestApi {
  url: string;
  config: Config;
  schema: FreshSchema;
  indexerApi: IndexerApi;
  registry: Registry;
  logLines: string[];
  app: Express;
  server: ListeningServer;
  close(): Promise<void>;
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadLocalnetConfig({
    KAMIYO_CLUSTER: "localnet",
    ADMIN_API_KEY: ADMIN_KEY,
    HELIUS_WEBHOOK_AUTH: WEBHOOK_AUTH,
    LOG_LEVEL: "silent",
    ...env,
  });
}

export async function startTestApi(
  options: {
    indexerApi?: IndexerApi;
    env?: Record<string, string>;
    plugins?: AppDeps["plugins"];
    limits?: AppDeps["limits"];
    schema?: FreshSchema;
  } = {},
): Promise<TestApi> {
  const schema = options.schema ?? (await withFreshSchema());
  const config = testConfig(options.env);
  const { logger, lines } = capturingLogger();
  const registry = new Registry();
  const indexerApi = options.indexerApi ?? new RecordingIndexerApi();
  const app = createApp({
    config,
    db: schema.db,
    logger,
    metrics: registry,
    indexerApi,
    ...(options.plugins ? { plugins: options.plugins } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  const server = await listen(app, { port: 0 });
  return {
    url: server.url,
    config,
    schema,
    indexerApi,
    registry,
    logLines: lines,
    app,
    server,
    async close() {
      await server.close();
      if (!options.schema) await schema.close();
    },
  };
}

/** A response body parsed as JSON, typed loosely for assertions. */
export const json = (res: Response): Promise<any> => res.json() as Promise<any>;
