/**
 * The revenue pipeline's run state machine, as a table. A run row moves only along these edges, each by
 * a compare-and-set (`UPDATE ... WHERE status IN (from)`), so two workers racing on one run cannot both
 * make the same move. Pure.
 *
 *   scheduled -> allocated -> swap_signed -> swapped -> fund_signed -> funded -> done
 *   scheduled -> skipped (nothing to allocate)
 *   any open status -> failed -> the status it failed from (an operator's retry)
 */

export const RUN_STATUSES = ["scheduled", "allocated", "swap_signed", "swapped", "fund_signed", "funded", "done", "skipped", "failed"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A run in one of these never moves again on its own; only an operator resumes a failed one. */
export const TERMINAL_STATUSES: readonly RunStatus[] = ["done", "skipped", "failed"];
export const OPEN_STATUSES: readonly RunStatus[] = RUN_STATUSES.filter((s) => !TERMINAL_STATUSES.includes(s));

export interface Transition {
  from: readonly RunStatus[];
  to: RunStatus;
}

/**
 * Every move but `resume`, by name. A `*_signed -> *_signed` edge is a new transaction stored after the
 * previous one failed or expired.
 */
export const RUN_TRANSITIONS = {
  allocate: { from: ["scheduled"], to: "allocated" },
  skip: { from: ["scheduled"], to: "skipped" },
  signSwap: { from: ["allocated", "swap_signed"], to: "swap_signed" },
  swapLanded: { from: ["swap_signed"], to: "swapped" },
  signFund: { from: ["swapped", "fund_signed"], to: "fund_signed" },
  fundLanded: { from: ["fund_signed"], to: "funded" },
  finish: { from: ["funded"], to: "done" },
  fail: { from: OPEN_STATUSES, to: "failed" },
} as const satisfies Record<string, Transition>;

export type TransitionName = keyof typeof RUN_TRANSITIONS;

/** Whether a run may move from `from` to `to` in one compare-and-set. */
export function canMove(from: RunStatus, to: RunStatus): boolean {
  // resume: failed goes back to whichever open status it failed from.
  if (from === "failed") return OPEN_STATUSES.includes(to);
  return Object.values(RUN_TRANSITIONS).some((t: Transition) => t.to === to && t.from.includes(from));
}

/** Refuses a compare-and-set whose `from` list holds a status that may not move to `to`. */
export function checkMove(from: readonly RunStatus[], to: RunStatus): void {
  const refused = from.filter((f) => !canMove(f, to));
  if (from.length === 0 || refused.length > 0) {
    throw new RangeError(`a run may not move from ${from.length === 0 ? "nowhere" : refused.join(", ")} to ${to}`);
  }
}

/** The pipeline step that moves a run on from `status`; null once the run is terminal. */
export type RunStep = "allocate" | "buyback" | "fund" | "finish";

const STEP_OF: Record<RunStatus, RunStep | null> = {
  scheduled: "allocate",
  allocated: "buyback",
  swap_signed: "buyback",
  swapped: "fund",
  fund_signed: "fund",
  funded: "finish",
  done: null,
  skipped: null,
  failed: null,
};

export function stepFor(status: RunStatus): RunStep | null {
  return STEP_OF[status];
}

export function isTerminal(status: RunStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}
