/**
 * Every retry loop of the indexer decides with isRetryable (src/errors.ts): what retrying can fix is retried,
 * anything else (including errors nobody classified) is not. The loops are driven with fakes, no chain.
 */
import { pino } from "pino";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { NonRetryableError, RetryableError } from "../../src/errors.ts";
import { RpcCallError } from "../../indexer/errors.ts";
import { createIndexerMetrics } from "../../indexer/metrics.ts";
import { createRereads } from "../../indexer/rereads.ts";
import { createResyncLoop } from "../../indexer/resync-loop.ts";
import type { RpcClient } from "../../indexer/rpc-client.ts";
import { createStatusTracker } from "../../indexer/status.ts";
import type { SourcedRead } from "../../indexer/write-path.ts";
import { createWsBuffer } from "../../indexer/ws-buffer.ts";
import { waitFor } from "../kit/wait-for.ts";
import { StagingRows } from "../../src/db/repositories/stakes-bulk.ts";

const logger = pino({ level: "silent" });
const noDelay = { delay: () => 1 };
const ADDRESS_A = "Fg6PaFpoGXkYsidMpWTK6W2BeZ7FEfcYkg476zPFsLnS";
const ADDRESS_B = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU";

const read = (address: string, slot: bigint): SourcedRead => ({ address, slot, account: null, commitment: "confirmed" });
const nodeBehind = () => new RpcCallError("getSlot", "Node is behind (-32005)", { code: -32005, retryable: true });
const badParams = () => new RpcCallError("getSlot", "Invalid params (-32602)", { code: -32602, retryable: false });

/** A write (or read) that fails with each of `failures` in turn, then succeeds and records what it got. */
function scripted<T>(failures: Error[], result: (input: T) => unknown = () => undefined) {
  const calls: T[] = [];
  const done: T[] = [];
  return {
    calls,
    done,
    async run(input: T): Promise<unknown> {
      calls.push(input);
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
      done.push(input);
      return result(input);
    },
  };
}

function fakeRpc(over: Partial<RpcClient>): RpcClient {
  const unused = () => {
    throw new Error("not used by this test");
  };
  return { url: "fake", call: unused, getSlot: unused, getMultipleAccounts: unused, streamProgramAccounts: unused, ...over };
}

describe("websocket buffer", () => {
  it("retries a write that failed for a reason retrying can fix", async () => {
    const write = scripted<SourcedRead[]>([new RetryableError("unavailable", "database restarting")]);
    const buffer = createWsBuffer({ write: (r) => write.run(r), backoff: noDelay, logger, signal: new AbortController().signal });
    buffer.push(read(ADDRESS_A, 5n));
    await buffer.idle();
    expect(write.calls).toHaveLength(2);
    expect(write.done.map((batch) => batch.map((r) => r.address))).toEqual([[ADDRESS_A]]);
    expect(buffer.size).toBe(0);
  });

  it("drops a batch whose write failed for any other reason, and keeps writing later updates", async () => {
    const write = scripted<SourcedRead[]>([new Error("unclassified")]);
    const buffer = createWsBuffer({ write: (r) => write.run(r), backoff: noDelay, logger, signal: new AbortController().signal });
    buffer.push(read(ADDRESS_A, 5n));
    await buffer.idle();
    expect(write.calls).toHaveLength(1);
    expect(write.done).toEqual([]);
    buffer.push(read(ADDRESS_B, 6n));
    await buffer.idle();
    expect(write.done.map((batch) => batch.map((r) => r.address))).toEqual([[ADDRESS_B]]);
  });
});

describe("same-slot re-reads", () => {
  const metrics = () => createIndexerMetrics(new Registry(), () => null);

  it("keep an account due while the node is not past the slot, and write it once it is", async () => {
    const reads = scripted<readonly string[]>([nodeBehind()], (addresses) => addresses.map((a) => ({ address: a, slot: 9n, account: null })));
    const written: SourcedRead[][] = [];
    const rereads = createRereads({
      rpc: fakeRpc({ getMultipleAccounts: async (addresses) => (await reads.run(addresses)) as never }),
      commitment: "confirmed",
      delayMs: 1,
      write: async (r) => void written.push(r),
      metrics: metrics(),
      logger,
      signal: new AbortController().signal,
    });
    rereads.schedule([{ address: ADDRESS_A, slot: 7n }], "ws");
    await waitFor("the re-read to be written", () => written.length === 1);
    expect(reads.calls).toHaveLength(2);
    await waitFor("nothing due", () => rereads.pending === 0);
    await rereads.stop();
  });

  it("drop an account whose re-read failed for a reason retrying cannot fix", async () => {
    const reads = scripted<readonly string[]>([badParams()]);
    const rereads = createRereads({
      rpc: fakeRpc({ getMultipleAccounts: async (addresses) => (await reads.run(addresses)) as never }),
      commitment: "confirmed",
      delayMs: 1,
      write: async () => undefined,
      metrics: metrics(),
      logger,
      signal: new AbortController().signal,
    });
    rereads.schedule([{ address: ADDRESS_A, slot: 7n }], "ws");
    await waitFor("the round to end with nothing due", () => reads.calls.length === 1 && rereads.pending === 0);
    await rereads.stop();
    expect(reads.calls).toHaveLength(1);
  });
});

describe("resync loop", () => {
  function loop(getSlotFailures: Error[]) {
    const metrics = createIndexerMetrics(new Registry(), () => null);
    const status = createStatusTracker(metrics);
    const getSlot = scripted<string>(getSlotFailures, () => 41n);
    const resync = createResyncLoop({
      rpc: fakeRpc({
        getSlot: async (commitment) => (await getSlot.run(commitment)) as bigint,
        // The snapshot: one empty batch at slot 42.
        async *streamProgramAccounts() {
          yield { slot: 42n, accounts: [] };
        },
      }),
      target: { programId: ADDRESS_A, pool: ADDRESS_B, tiers: [] },
      commitment: "confirmed",
      options: { backfillBatch: 10, writeConcurrency: 1, backfillReadAhead: 1 },
      backoff: noDelay,
      staging: () => ({ add: () => undefined, size: 0, take: () => ({ rows: new StagingRows(), undecodable: [] }) }),
      write: async () => undefined,
      isEmpty: async () => true,
      metrics,
      status,
      publishStatus: async () => undefined,
      logger,
      signal: new AbortController().signal,
    });
    return { resync, status, getSlot };
  }

  it("retries a backfill that failed for a reason retrying can fix until one completes", async () => {
    const { resync, status, getSlot } = loop([nodeBehind(), new RetryableError("unavailable", "database restarting")]);
    resync.request();
    await resync.running;
    expect(getSlot.calls).toHaveLength(3);
    expect(status.snapshot().backfillSlot).toBe("42");
  });

  it("ends the resync on a failure retrying cannot fix, and a later request starts a new one", async () => {
    const { resync, status, getSlot } = loop([badParams(), new NonRetryableError("internal", "a bug")]);
    resync.request();
    await resync.running;
    expect(getSlot.calls).toHaveLength(1);
    expect(status.snapshot().backfillSlot).toBeNull();
    resync.request();
    await resync.running;
    expect(getSlot.calls).toHaveLength(2);
    resync.request();
    await resync.running;
    expect(status.snapshot().backfillSlot).toBe("42");
  });
});
