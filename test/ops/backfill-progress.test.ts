/** Backfill progress for people: rewritten on a terminal, log lines otherwise, a percentage when the total is known. */
import { Writable } from "node:stream";
import pino from "pino";
import { expect, it } from "vitest";
import { createProgressReporter, describeProgress } from "../../indexer/backfill-progress.ts";

it("describes accounts, rate, elapsed time and, with a total, the percentage", () => {
  expect(describeProgress({ accounts: 12_345, elapsedMs: 3000, slot: 1n })).toBe("12,345 accounts, 4,115 accounts/s, 3.0 s elapsed");
  expect(describeProgress({ accounts: 451, elapsedMs: 1000, total: 1000, slot: 1n })).toBe("451 accounts, 451 accounts/s, 1.0 s elapsed, 45.1 %");
  expect(describeProgress({ accounts: 0, elapsedMs: 0, slot: 1n })).toBe("0 accounts, 0 accounts/s, 0.0 s elapsed");
});

it("rewrites one stderr line on a terminal", () => {
  let out = "";
  const report = createProgressReporter({ stream: { isTTY: true, write: (t: string) => (out += t) }, logger: pino({ level: "silent" }) });
  report({ accounts: 5000, elapsedMs: 1000, slot: 9n });
  report({ accounts: 10_000, elapsedMs: 2000, slot: 9n });
  report.done({ accounts: 12_000, elapsedMs: 2500, slot: 9n });
  expect(out.split("\r").filter(Boolean)).toEqual([
    "backfill: 5,000 accounts, 5,000 accounts/s, 1.0 s elapsed\u001b[K",
    "backfill: 10,000 accounts, 5,000 accounts/s, 2.0 s elapsed\u001b[K",
    "backfill: 12,000 accounts, 4,800 accounts/s, 2.5 s elapsed (done)\u001b[K\n",
  ]);
});

it("logs a line at most every interval when stderr is not a terminal", () => {
  const lines: Array<{ msg: string; accounts: number }> = [];
  const sink = new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(JSON.parse(chunk.toString()) as { msg: string; accounts: number }), cb()) });
  let now = 0;
  let tty = "";
  const report = createProgressReporter({ stream: { write: (t: string) => (tty += t) }, logger: pino({ level: "info" }, sink), everyMs: 5000, now: () => now });
  report({ accounts: 1, elapsedMs: 10, slot: 1n });
  now = 1000;
  report({ accounts: 2, elapsedMs: 1010, slot: 1n });
  now = 6000;
  report({ accounts: 3, elapsedMs: 6010, slot: 1n });
  report.done({ accounts: 3, elapsedMs: 6500, slot: 1n });
  expect(tty).toBe("");
  expect(lines.map((l) => l.accounts)).toEqual([1, 3, 3]);
  expect(lines.at(-1)!.msg).toMatch(/^backfill done: 3 accounts/);
});
