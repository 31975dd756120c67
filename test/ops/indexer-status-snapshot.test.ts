/**
 * The indexer's status snapshot carries when the last reconciliation completed; snapshots written before the
 * field existed still read (as "none yet"), and a new leader carries the previous one's time over.
 */
import { Registry } from "prom-client";
import { expect, it } from "vitest";
import { createIndexerMetrics } from "../../indexer/metrics.ts";
import { createStatusTracker, parseStatusSnapshot } from "../../indexer/status.ts";

it("reads a snapshot written before lastReconciliationAt existed as null", () => {
  const old = { backfillCompletedAt: "2026-11-01T00:00:00.000Z", backfillSlot: "5", lastSlotBySource: {}, chainSlot: "9", lastEventAt: null, reconnects: 1, reconciliationDrift: 2, updatedAt: "2026-11-01T00:00:01.000Z" };
  const parsed = parseStatusSnapshot(old, new Date());
  expect(parsed.lastReconciliationAt).toBeNull();
  expect(parsed.backfillCompletedAt).toBe(old.backfillCompletedAt);
  expect(parseStatusSnapshot({ ...old, lastReconciliationAt: 42 }, new Date()).lastReconciliationAt).toBeNull();
  expect(parseStatusSnapshot({ ...old, lastReconciliationAt: "2026-11-02T00:00:00.000Z" }, new Date()).lastReconciliationAt).toBe("2026-11-02T00:00:00.000Z");
});

it("records a completed reconciliation and carries a previous leader's over", () => {
  const status = createStatusTracker(createIndexerMetrics(new Registry(), () => null));
  expect(status.snapshot().lastReconciliationAt).toBeNull();
  const previous = { ...status.snapshot(), lastReconciliationAt: "2026-11-02T00:00:00.000Z" };
  status.adopt(previous);
  expect(status.snapshot().lastReconciliationAt).toBe("2026-11-02T00:00:00.000Z");
  const before = Date.now();
  status.recordReconciliation();
  const at = Date.parse(status.snapshot().lastReconciliationAt!);
  expect(at).toBeGreaterThanOrEqual(before);
  expect(at).toBeLessThanOrEqual(Date.now());
});
