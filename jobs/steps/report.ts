/**
 * What a run's steps tell the job that drives them: `log` lines fill bull-board's Logs tab, `progress` its
 * Progress tab (BullMQ's job.log and job.updateProgress). Reporting is best effort: a Redis hiccup while
 * writing a log line must not change what a money step does, so failures are logged and swallowed.
 */
import type { Job } from "bullmq";
import type { JsonValue } from "../../src/db/schema.ts";
import { describeError } from "../../src/errors.ts";
import type { Logger } from "../../src/log.ts";

export interface RunReport {
  log(line: string): Promise<void>;
  progress(state: { [key: string]: JsonValue }): Promise<void>;
}

/** For runs driven outside a job (tests, commands): reports nothing. */
export const SILENT_REPORT: RunReport = {
  log: () => Promise.resolve(),
  progress: () => Promise.resolve(),
};

export function jobReport(job: Pick<Job, "id" | "log" | "updateProgress">, logger: Logger): RunReport {
  const failed = (what: string) => (err: unknown) => logger.debug({ job: job.id, err: describeError(err) }, `could not write the job's ${what}`);
  return {
    async log(line) {
      await job.log(`${new Date().toISOString()} ${line}`).then(() => undefined, failed("log"));
    },
    async progress(state) {
      await job.updateProgress(state).catch(failed("progress"));
    },
  };
}
