/**
 * The durable webhook inbox. The API stores each raw Helius delivery with `enqueueWebhookDelivery` and
 * answers at once; the leading indexer processes deliveries afterwards:
 *  - elements without a transaction are skipped, malformed ones are recorded and skipped, failed
 *    transactions (`meta.err`) are remembered as processed without a re-read;
 *  - a signature seen before (in this delivery or any earlier one) is a duplicate and skipped;
 *  - the accounts the rest wrote are re-read at or after the newest element's slot (transactions carry no
 *    account state) and applied through the write path with source `webhook` and the signature.
 * Each element is judged by its own slot: one claiming a slot more than MAX_SLOTS_AHEAD beyond the chain's
 * is refused (invalid) alone; one the node has not reached yet is left for a later attempt while the others
 * are applied, so no delivery waits on the chain while holding the inbox. Sorting yields to the event loop.
 * A processing attempt that fails for a reason retrying can fix (isRetryable: an RPC or database outage, a
 * node behind the slot) leaves the delivery pending with its error and a later retry time; after
 * `maxAttempts`, or at once for any other failure, it is marked failed and the periodic reconciliation is
 * the safety net.
 */
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Commitment } from "../src/config.ts";
import { createWebhookInboxRepository, type ClaimedDelivery } from "../src/db/repositories/webhook-inbox.ts";
import type { Database, JsonValue } from "../src/db/schema.ts";
import { describeError, isRetryable, RetryableError, StoppedError } from "../src/errors.ts";
import type { WebhookEnqueueResult } from "./contracts.ts";
import type { IndexerMetrics } from "./metrics.ts";
import { withRetry, type Backoff } from "../src/retry.ts";
import type { RpcClient } from "./rpc-client.ts";
import { readElement } from "./webhook-elements.ts";
import type { SourcedRead } from "./write-path.ts";

/** Stores a delivery and wakes the leader (NOTIFY) in one statement, so a stored delivery is always announced. */
export async function enqueueWebhookDelivery(db: Kysely<Database>, body: unknown[]): Promise<WebhookEnqueueResult> {
  if (!Array.isArray(body)) throw new TypeError("a webhook delivery is a JSON array");
  const id = await createWebhookInboxRepository(db).enqueue(body);
  return { id, elements: body.length };
}

export type ElementCount = "applied" | "duplicate" | "failed_tx" | "no_transaction" | "invalid";

export interface DeliveryOutcome {
  counts: Record<ElementCount, number>;
  invalid: { index: number; reason: string }[];
  accountsRead: number;
  rowsApplied: number;
}

export interface WebhookProcessorOptions {
  db: Kysely<Database>;
  rpc: RpcClient;
  commitment: Commitment;
  logger: Logger;
  metrics: IndexerMetrics;
  apply(reads: SourcedRead[]): Promise<{ applied: number }>;
  maxAttempts: number;
  /** Delay before a failed delivery is tried again. */
  retryBackoff: Backoff;
  /** Retries of one re-read within an attempt (the node may be behind the webhook's slot). */
  readRetry: { attempts: number; backoff: Backoff };
  signal: AbortSignal;
}

export interface WebhookProcessor {
  /** Returns deliveries a dead leader left in `processing` to `pending`. */
  recover(): Promise<void>;
  /** Processes every due delivery; concurrent calls coalesce into one more pass. */
  wake(): void;
  /** Resolves when the current pass (if any) has finished. */
  idle(): Promise<void>;
}

type Inbox = ReturnType<typeof createWebhookInboxRepository>;
type FreshElements = Map<string, { index: number; slot: bigint; failed: boolean; accounts: string[] }>;

/**
 * A claimed slot further than this beyond the chain's newest (processed) slot is refused for that element
 * alone (about a minute of slots): no node will reach it soon, and waiting for it would hold the inbox.
 */
export const MAX_SLOTS_AHEAD = 150n;
/** Elements judged between two yields to the event loop (a 1,000-element delivery never blocks it for long). */
const ELEMENTS_PER_TURN = 50;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Sorts a delivery's elements: counted and skipped, or fresh (first sight of the signature in this delivery). */
async function sortElements(body: unknown): Promise<{ outcome: DeliveryOutcome; fresh: FreshElements }> {
  const elements = Array.isArray(body) ? (body as unknown[]) : [];
  const outcome: DeliveryOutcome = {
    counts: { applied: 0, duplicate: 0, failed_tx: 0, no_transaction: 0, invalid: 0 },
    invalid: [],
    accountsRead: 0,
    rowsApplied: 0,
  };
  const fresh: FreshElements = new Map();
  for (let index = 0; index < elements.length; index++) {
    if (index > 0 && index % ELEMENTS_PER_TURN === 0) await nextTurn();
    const e = readElement(elements[index]);
    if (e.kind === "no_transaction") outcome.counts.no_transaction++;
    else if (e.kind === "invalid") {
      outcome.counts.invalid++;
      outcome.invalid.push({ index, reason: e.reason });
    } else if (fresh.has(e.signature)) outcome.counts.duplicate++;
    else fresh.set(e.signature, { index, slot: e.slot, failed: e.kind === "failed", accounts: e.kind === "written" ? e.accounts : [] });
  }
  return { outcome, fresh };
}

/**
 * Judges each element's own slot against the chain: beyond the tip by more than MAX_SLOTS_AHEAD, refused
 * (invalid, for that element only); beyond the slot the indexer reads at, set aside for a later attempt.
 */
async function sortBySlot(o: WebhookProcessorOptions, fresh: FreshElements, outcome: DeliveryOutcome): Promise<FreshElements> {
  const waiting: FreshElements = new Map();
  if (fresh.size === 0) return waiting;
  let refused = 0;
  const tip = await o.rpc.getSlot("processed", o.signal);
  const readable = o.commitment === "processed" ? tip : await o.rpc.getSlot(o.commitment, o.signal);
  for (const [signature, e] of fresh) {
    if (e.slot > tip + MAX_SLOTS_AHEAD) {
      fresh.delete(signature);
      refused++;
      outcome.counts.invalid++;
      outcome.invalid.push({ index: e.index, reason: `slot ${e.slot} is ${e.slot - tip} slots beyond the chain's current slot ${tip}` });
    } else if (e.slot > readable) {
      fresh.delete(signature);
      waiting.set(signature, e);
    }
  }
  if (refused > 0) o.logger.warn({ tip: tip.toString(), refused }, "webhook elements claiming slots far beyond the chain refused");
  return waiting;
}

/** Each written account, attributed to the newest transaction that wrote it; and the newest slot among them. */
function attributeWriters(fresh: FreshElements, outcome: DeliveryOutcome) {
  const writers = new Map<string, { slot: bigint; signature: string }>();
  let newestSlot = -1n;
  for (const [signature, e] of fresh) {
    if (e.failed) {
      outcome.counts.failed_tx++;
      continue;
    }
    outcome.counts.applied++;
    if (e.slot > newestSlot) newestSlot = e.slot;
    for (const address of e.accounts) {
      const held = writers.get(address);
      if (!held || held.slot <= e.slot) writers.set(address, { slot: e.slot, signature });
    }
  }
  return { writers, newestSlot };
}

/**
 * Applies what can be applied now. Elements the node has not reached yet are left for a later attempt (a
 * retryable failure with its backoff), so the inbox moves on to the next delivery instead of waiting here;
 * the elements applied meanwhile are remembered and count as duplicates then.
 */
async function processDelivery(o: WebhookProcessorOptions, inbox: Inbox, delivery: ClaimedDelivery): Promise<DeliveryOutcome> {
  const { outcome, fresh } = await sortElements(delivery.body);
  if (fresh.size > 0) {
    for (const signature of await inbox.knownSignatures([...fresh.keys()])) {
      fresh.delete(signature);
      outcome.counts.duplicate++;
    }
  }
  const waiting = await sortBySlot(o, fresh, outcome);
  const { writers, newestSlot } = attributeWriters(fresh, outcome);
  if (writers.size > 0) {
    // Every element here is at or below the slot the node reads at: the read does not wait on the chain.
    const reads = await withRetry(
      () => o.rpc.getMultipleAccounts([...writers.keys()], { commitment: o.commitment, minContextSlot: newestSlot }, o.signal),
      {
        ...o.readRetry,
        signal: o.signal,
        onRetry: (err, attempt) => o.logger.debug({ err: describeError(err), attempt }, "webhook re-read retried"),
      },
    );
    outcome.accountsRead = reads.length;
    const result = await o.apply(
      reads.map((r) => ({ ...r, commitment: o.commitment, signature: writers.get(r.address)!.signature })),
    );
    outcome.rowsApplied = result.applied;
  }
  if (fresh.size > 0) {
    // Remembered only after the accounts are applied: a crash in between re-processes, which is harmless.
    await inbox.rememberSignatures(
      [...fresh].map(([signature, e]) => ({
        signature,
        deliveryId: BigInt(delivery.id),
        slot: e.slot,
        outcome: e.failed ? ("failed" as const) : ("applied" as const),
      })),
    );
  }
  if (waiting.size > 0) {
    const newest = [...waiting.values()].reduce((a, e) => (e.slot > a ? e.slot : a), 0n);
    throw new RetryableError("upstream", `${waiting.size} element(s) at slots the node has not reached (up to ${newest}); the others are applied`, {
      code: "webhook_slot_ahead",
    });
  }
  return outcome;
}

async function settle(o: WebhookProcessorOptions, inbox: Inbox, delivery: ClaimedDelivery, outcome: DeliveryOutcome): Promise<void> {
  const summary: { [key: string]: JsonValue } = {
    counts: outcome.counts,
    invalid: outcome.invalid.slice(0, 50),
    accountsRead: outcome.accountsRead,
    rowsApplied: outcome.rowsApplied,
  };
  const lastError = outcome.invalid.length > 0 ? `${outcome.invalid.length} element(s) rejected: ${outcome.invalid[0]!.reason}` : null;
  await inbox.markDone(delivery.id, summary, lastError);
  for (const [kind, n] of Object.entries(outcome.counts)) if (n > 0) o.metrics.webhookElements.inc({ outcome: kind }, n);
  o.metrics.webhookDeliveries.inc({ result: "done" });
}

async function fail(o: WebhookProcessorOptions, inbox: Inbox, delivery: ClaimedDelivery, err: unknown): Promise<void> {
  if (err instanceof StoppedError) {
    // Not the delivery's fault: give the attempt back for the next leader.
    await inbox.giveBack(delivery.id);
    return;
  }
  const final = !isRetryable(err) || delivery.attempts >= o.maxAttempts;
  const delayMs = o.retryBackoff.delay(delivery.attempts);
  const message = describeError(err);
  await inbox.markFailed(delivery.id, final, message, delayMs);
  o.metrics.webhookDeliveries.inc({ result: final ? "failed" : "retry" });
  o.logger[final ? "error" : "warn"](
    { delivery: delivery.id, attempt: delivery.attempts, maxAttempts: o.maxAttempts, err: message },
    final ? "webhook delivery failed for good; reconciliation will repair what it missed" : "webhook delivery failed; will retry",
  );
}

export function createWebhookProcessor(o: WebhookProcessorOptions): WebhookProcessor {
  const log = o.logger;
  let running: Promise<void> | null = null;
  let again = false;
  const inbox = createWebhookInboxRepository(o.db);

  async function drain(): Promise<void> {
    do {
      again = false;
      for (;;) {
        if (o.signal.aborted) return;
        const delivery = await inbox.claim();
        if (!delivery) break;
        try {
          const outcome = await processDelivery(o, inbox, delivery);
          await settle(o, inbox, delivery, outcome);
          log.debug({ delivery: delivery.id, ...outcome.counts }, "webhook delivery processed");
        } catch (err) {
          await fail(o, inbox, delivery, o.signal.aborted ? new StoppedError() : err);
          if (o.signal.aborted) return;
        }
      }
    } while (again && !o.signal.aborted);
  }

  return {
    async recover() {
      await inbox.recover();
    },
    wake() {
      if (running) {
        again = true;
        return;
      }
      running = drain()
        .catch((err) => {
          if (!(err instanceof StoppedError)) log.warn({ err: describeError(err) }, "webhook inbox pass failed; will retry");
        })
        .finally(() => {
          running = null;
        });
    },
    idle() {
      return running ?? Promise.resolve();
    },
  };
}

/** Deletes processed deliveries and remembered signatures older than `days` (Helius retries within minutes). */
export async function pruneInbox(db: Kysely<Database>, days: number): Promise<void> {
  await createWebhookInboxRepository(db).prune(days);
}
