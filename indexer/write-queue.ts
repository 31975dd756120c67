/**
 * The leader's write queue: tasks start in submission order, at most `concurrency` at a time. Every stake
 * write goes through it, so a long backfill interleaves with websocket flushes instead of starving them,
 * and Postgres sees a bounded number of concurrent upserts. Overlapping batches cannot corrupt anything
 * (the slot guard decides), and batches lock rows in address order; a deadlock that still happens is
 * retried by the write path.
 */
export interface WriteQueue {
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Tasks submitted and not yet finished. */
  readonly pending: number;
  readonly concurrency: number;
}

export function createWriteQueue(concurrency: number): WriteQueue {
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError("concurrency must be a positive integer");
  const waiting: (() => void)[] = [];
  let running = 0;
  let pending = 0;
  const next = () => {
    if (running >= concurrency) return;
    const start = waiting.shift();
    if (!start) return;
    running++;
    start();
  };
  return {
    concurrency,
    run<T>(task: () => Promise<T>): Promise<T> {
      pending++;
      return new Promise<T>((resolve, reject) => {
        waiting.push(() => {
          task()
            .then(resolve, reject)
            .finally(() => {
              running--;
              pending--;
              next();
            });
        });
        next();
      });
    },
    get pending() {
      return pending;
    },
  };
}
