import { describe, expect, it } from "vitest";
import type { PipelineStatus } from "../../src/db/schema.ts";
import {
  canMove,
  checkMove,
  isTerminal,
  OPEN_STATUSES,
  RUN_STATUSES,
  RUN_TRANSITIONS,
  stepFor,
  TERMINAL_STATUSES,
  type RunStatus,
} from "../../src/domain/run-states.ts";

const OPEN = ["scheduled", "allocated", "swap_signed", "swapped", "fund_signed", "funded"] as const;

/** Every edge of the machine, written out by hand. */
const ALLOWED: readonly (readonly [RunStatus, RunStatus])[] = [
  ["scheduled", "allocated"],
  ["scheduled", "skipped"],
  ["allocated", "swap_signed"],
  ["swap_signed", "swap_signed"],
  ["swap_signed", "swapped"],
  ["swapped", "fund_signed"],
  ["fund_signed", "fund_signed"],
  ["fund_signed", "funded"],
  ["funded", "done"],
  ...OPEN.map((s) => [s, "failed"] as const),
  ...OPEN.map((s) => ["failed", s] as const),
];

describe("the run state machine", () => {
  it("names the same statuses as the pipeline_runs column", () => {
    const fromSchema: Record<PipelineStatus, true> = {
      scheduled: true,
      allocated: true,
      swap_signed: true,
      swapped: true,
      fund_signed: true,
      funded: true,
      done: true,
      skipped: true,
      failed: true,
    };
    expect([...RUN_STATUSES].sort()).toEqual(Object.keys(fromSchema).sort());
    const asSchema: PipelineStatus[] = [...RUN_STATUSES];
    expect(asSchema).toHaveLength(9);
    expect([...OPEN_STATUSES]).toEqual([...OPEN]);
    expect([...TERMINAL_STATUSES]).toEqual(["done", "skipped", "failed"]);
  });

  it("allows every edge of the machine", () => {
    for (const [from, to] of ALLOWED) expect(canMove(from, to), `${from} -> ${to}`).toBe(true);
  });

  it("refuses every other move", () => {
    const allowed = new Set(ALLOWED.map(([f, t]) => `${f}->${t}`));
    let refused = 0;
    for (const from of RUN_STATUSES) {
      for (const to of RUN_STATUSES) {
        if (allowed.has(`${from}->${to}`)) continue;
        expect(canMove(from, to), `${from} -> ${to}`).toBe(false);
        refused++;
      }
    }
    expect(refused).toBe(RUN_STATUSES.length ** 2 - ALLOWED.length);
    // Among them: nothing leaves done or skipped, no money step is skipped or undone, failed is not reopened as done.
    for (const to of RUN_STATUSES) expect(canMove("done", to) || canMove("skipped", to)).toBe(false);
    expect(canMove("allocated", "swapped")).toBe(false);
    expect(canMove("swapped", "swap_signed")).toBe(false);
    expect(canMove("scheduled", "done")).toBe(false);
    expect(canMove("failed", "done")).toBe(false);
    expect(canMove("failed", "failed")).toBe(false);
  });

  it("checks a compare-and-set's whole from list against the table", () => {
    for (const t of Object.values(RUN_TRANSITIONS)) expect(() => checkMove(t.from, t.to)).not.toThrow();
    expect(() => checkMove(["allocated", "swapped"], "swap_signed")).toThrow(/from swapped to swap_signed/);
    expect(() => checkMove([], "done")).toThrow(/from nowhere/);
    expect(() => checkMove(["done"], "failed")).toThrow(RangeError);
  });

  it("says which step moves a run on, and none once it is terminal", () => {
    expect(RUN_STATUSES.map((s) => [s, stepFor(s)])).toEqual([
      ["scheduled", "allocate"],
      ["allocated", "buyback"],
      ["swap_signed", "buyback"],
      ["swapped", "fund"],
      ["fund_signed", "fund"],
      ["funded", "finish"],
      ["done", null],
      ["skipped", null],
      ["failed", null],
    ]);
    expect(RUN_STATUSES.filter(isTerminal)).toEqual(["done", "skipped", "failed"]);
    // Each step's moves start from the statuses it is called in.
    expect(RUN_TRANSITIONS.signSwap.from.every((s) => stepFor(s) === "buyback")).toBe(true);
    expect(RUN_TRANSITIONS.signFund.from.every((s) => stepFor(s) === "fund")).toBe(true);
  });
});
