/**
 * Helius-style raw webhooks: every landed transaction that mentions the program id is POSTed as a one-element
 * JSON array (getTransaction json + indexWithinBlock) to each URL, with `Authorization: <authHeader>`.
 * Like Helius: 1 s per attempt, up to 3 retries with backoff on non-2xx or timeout, then dropped and logged;
 * no ordering between deliveries. The chain listener only queues, so deliveries never block the chain.
 */
import type { Logger } from "pino";
import { sleep } from "../../src/retry.ts";
import type { ChainApi, TxRecord } from "../types.ts";
import { stringifyJson } from "./json.ts";
import { webhookElement } from "./transaction-json.ts";

export interface WebhookConfig {
  urls: string[];
  authHeader: string;
  programId: string;
  /** Per attempt (Helius: 1 s). */
  timeoutMs?: number;
  /** Wait before each retry; its length is the number of retries (Helius: 3). */
  retryDelaysMs?: number[];
  /** Deliveries in flight at once; the rest wait in a queue. */
  maxInFlight?: number;
  /** Queued deliveries beyond this are dropped (and logged). */
  maxQueued?: number;
}

export interface WebhookSender {
  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void>;
  stats(): { delivered: number; dropped: number; attempts: number };
  close(): Promise<void>;
}

interface Delivery {
  url: string;
  signature: string;
  body: string;
}

export function createWebhookSender(chain: ChainApi, config: WebhookConfig, logger: Logger): WebhookSender {
  const timeoutMs = config.timeoutMs ?? 1000;
  const retryDelays = config.retryDelaysMs ?? [500, 1000, 2000];
  const maxInFlight = config.maxInFlight ?? 16;
  const maxQueued = config.maxQueued ?? 10_000;
  const closing = new AbortController();
  const queue: Delivery[] = [];
  let inFlight = 0;
  /** Transactions seen but not yet queued (their payload is built on the next turn). */
  let scheduled = 0;
  let idleWaiters: (() => void)[] = [];
  const counters = { delivered: 0, dropped: 0, attempts: 0 };
  const log = logger.child({ component: "webhook-sender" });

  const settleIdle = () => {
    if (inFlight > 0 || queue.length > 0 || scheduled > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  };

  /** One attempt; true on 2xx. */
  const attempt = async (d: Delivery): Promise<{ ok: boolean; reason: string }> => {
    counters.attempts++;
    try {
      const res = await fetch(d.url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: config.authHeader },
        body: d.body,
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), closing.signal]),
      });
      await res.body?.cancel();
      return res.ok ? { ok: true, reason: "" } : { ok: false, reason: `HTTP ${res.status}` };
    } catch (err) {
      const name = (err as Error).name;
      return { ok: false, reason: name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : (err as Error).message };
    }
  };

  const deliver = async (d: Delivery) => {
    for (let i = 0; ; i++) {
      const { ok, reason } = await attempt(d);
      if (ok) {
        counters.delivered++;
        return;
      }
      if (closing.signal.aborted) return;
      const delay = retryDelays[i];
      if (delay === undefined) {
        counters.dropped++;
        log.warn({ url: d.url, signature: d.signature, attempts: i + 1, reason }, "webhook delivery dropped after retries");
        return;
      }
      log.debug({ url: d.url, signature: d.signature, attempt: i + 1, reason }, "webhook delivery failed; retrying");
      // The sleep rejects (StoppedError) only when closing, which drops the delivery.
      await sleep(delay, closing.signal).catch(() => undefined);
      if (closing.signal.aborted) return;
    }
  };

  const pump = () => {
    while (inFlight < maxInFlight && queue.length > 0) {
      const d = queue.shift()!;
      inFlight++;
      void deliver(d).finally(() => {
        inFlight--;
        pump();
        settleIdle();
      });
    }
  };

  const onTransaction = (record: TxRecord) => {
    if (!record.accountKeys.includes(config.programId)) return;
    // built off the chain's call stack: the chain never waits for the webhook
    scheduled++;
    setImmediate(() => {
      scheduled--;
      if (closing.signal.aborted) return settleIdle();
      const body = stringifyJson([webhookElement(record)]);
      for (const url of config.urls) {
        if (queue.length >= maxQueued) {
          counters.dropped++;
          log.warn({ url, signature: record.signature }, "webhook queue full; delivery dropped");
          continue;
        }
        queue.push({ url, signature: record.signature, body });
      }
      pump();
      settleIdle();
    });
  };

  chain.on("transaction", onTransaction);

  return {
    idle: () =>
      inFlight === 0 && queue.length === 0 && scheduled === 0
        ? Promise.resolve()
        : new Promise((resolve) => idleWaiters.push(resolve)),
    stats: () => ({ ...counters }),
    async close() {
      chain.off("transaction", onTransaction);
      closing.abort();
      queue.length = 0;
      if (inFlight > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}
