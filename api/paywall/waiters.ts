/** Callers waiting for the cache to be trusted: released together, or each rejected after its timeout. */
export function createWaiters() {
  let waiters: Array<() => void> = [];
  return {
    release() {
      const ready = waiters;
      waiters = [];
      for (const w of ready) w();
    },
    wait(timeoutMs: number, lastError: () => string | null): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== done);
          const why = lastError();
          reject(new Error(`tier cache not loaded within ${timeoutMs} ms${why ? `: ${why}` : ""}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        waiters.push(done);
      });
    },
  };
}
