/**
 * Scheduling. `setupSchedules` upserts the two job schedulers (safe to repeat from every deploy and
 * replica: an upsert by fixed id) and queues one catch-up tick. A tick creates the run of every closed
 * UTC day that has none yet, from the first day with revenue (or the first run) to yesterday, and queues
 * every open run oldest first. The run row's unique day is the guard: ticks firing twice, or from several
 * replicas at once, still make one run per day.
 */
import type { Queue } from "bullmq";
import { lastClosedUtcDay, utcDayOf, utcDayWindow, utcDaysBetween } from "../src/domain/utc-day.ts";
import type { Logger } from "../src/log.ts";
import { catchUpJobId, enqueueRun, JOB, SCHEDULER } from "./queue.ts";
import type { RunStore } from "./runs.ts";

export interface ScheduleOptions {
  /** 6-field cron (seconds first), UTC. */
  pipelineCron: string;
  apyCron: string;
  now?: () => Date;
}

export async function setupSchedules(queue: Queue, o: ScheduleOptions): Promise<void> {
  await queue.setGlobalConcurrency(1);
  await queue.upsertJobScheduler(
    SCHEDULER.daily,
    { pattern: o.pipelineCron, tz: "UTC" },
    { name: JOB.tick, data: {}, opts: { attempts: 3, backoff: { type: "exponential", delay: 5_000 }, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
  );
  await queue.upsertJobScheduler(
    SCHEDULER.apy,
    { pattern: o.apyCron, tz: "UTC" },
    { name: JOB.apy, data: {}, opts: { attempts: 3, backoff: { type: "exponential", delay: 5_000 }, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } } },
  );
  // Catch up now rather than at the next cron time; one such tick per day whatever the number of boots.
  const today = utcDayOf((o.now ?? (() => new Date()))());
  await queue.add(JOB.tick, {}, { jobId: catchUpJobId(today), attempts: 3, backoff: { type: "exponential", delay: 5_000 }, removeOnComplete: { age: 86_400 }, removeOnFail: { age: 86_400 } });
}

/** Creates missing runs up to the last closed day and queues the open ones in day order. */
export async function tick(deps: { store: RunStore; queue: Queue; logger: Logger; now?: () => Date }): Promise<{ created: number; queued: number }> {
  const last = lastClosedUtcDay((deps.now ?? (() => new Date()))());
  const first = (await deps.store.firstActivityDay()) ?? last;
  const days = first <= last ? utcDaysBetween(first, last) : [];
  const created = await deps.store.ensureRuns(days.map((day) => ({ day, ...utcDayWindow(day) })));
  const open = await deps.store.openRuns();
  for (const run of open) await enqueueRun(deps.queue, run.id);
  if (created > 0 || open.length > 0) deps.logger.info({ created, queued: open.length, through: last }, "pipeline tick");
  return { created, queued: open.length };
}
