/**
 * Same-slot re-reads. The write path refuses a read whose slot equals the stored row's; when the two
 * disagree, one of them was taken while that slot was still taking transactions (a node answering at
 * `processed`, or the local chain, which has no commitment levels). Neither can be trusted to be the slot's
 * final state, so the account is read again at a later slot (minContextSlot = slot + 1), once the disputed
 * slot can no longer change, and that read goes through the write path like any other. A round that fails
 * for a reason retrying can fix (the node not past the slot yet, an outage) keeps its accounts due; any other
 * failure drops them, logged as an error, and leaves them to the next reconciliation.
 */
import type { Logger } from "pino";
import type { Commitment } from "../src/config.ts";
import type { StakeEventSource } from "../src/db/schema.ts";
import { describeError, isRetryable } from "../src/errors.ts";
import type { IndexerMetrics } from "./metrics.ts";
import { isMinContextSlotError, type RpcClient } from "./rpc-client.ts";
import type { SourcedRead } from "./write-path.ts";

export interface Rereads {
  schedule(conflicts: { address: string; slot: bigint }[], source: StakeEventSource): void;
  /** Accounts waiting to be read again (plus one while a read is running). */
  readonly pending: number;
  stop(): Promise<void>;
}

export function createRereads(o: {
  rpc: RpcClient;
  commitment: Commitment;
  delayMs: number;
  /** The write path; its own conflicts come back through schedule(). */
  write(reads: SourcedRead[], source: StakeEventSource): Promise<unknown>;
  metrics: IndexerMetrics;
  logger: Logger;
  signal: AbortSignal;
}): Rereads {
  const due = new Map<string, { slot: bigint; source: StakeEventSource }>();
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;

  function arm(): void {
    if (timer || running || due.size === 0 || o.signal.aborted) return;
    timer = setTimeout(() => {
      timer = null;
      running = readAgain().finally(() => {
        running = null;
        arm();
      });
    }, o.delayMs);
  }

  async function readAgain(): Promise<void> {
    const batch = [...due];
    due.clear();
    let minContextSlot = 0n;
    for (const [, d] of batch) if (d.slot + 1n > minContextSlot) minContextSlot = d.slot + 1n;
    try {
      const reads = await o.rpc.getMultipleAccounts(
        batch.map(([address]) => address),
        { commitment: o.commitment, minContextSlot },
        o.signal,
      );
      const bySource = new Map<StakeEventSource, SourcedRead[]>();
      reads.forEach((read, i) => {
        const source = batch[i]![1].source;
        let list = bySource.get(source);
        if (!list) bySource.set(source, (list = []));
        list.push({ ...read, commitment: o.commitment });
      });
      for (const [source, list] of bySource) await o.write(list, source);
    } catch (err) {
      if (o.signal.aborted) return;
      if (!isRetryable(err)) {
        o.logger.error({ err: describeError(err), accounts: batch.length }, "same-slot re-read failed and retrying cannot help; dropped");
        return;
      }
      // Not past the slot yet, or a transient failure: they stay due for the next round.
      for (const [address, d] of batch) if (!due.has(address)) due.set(address, d);
      if (!isMinContextSlotError(err)) o.logger.warn({ err: describeError(err) }, "same-slot re-read failed; will retry");
    }
  }

  return {
    schedule(conflicts, source) {
      for (const c of conflicts) {
        const held = due.get(c.address);
        if (!held || held.slot < c.slot) due.set(c.address, { slot: c.slot, source });
      }
      o.metrics.sameSlotRereads.inc(conflicts.length);
      arm();
    },
    get pending() {
      return due.size + (running ? 1 : 0);
    },
    async stop() {
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
