/** The one way a test waits for something to happen: poll a probe until it answers, never a fixed sleep. */
import { inspect } from "node:util";

export interface WaitForOptions {
  /** Default 10 s. */
  timeoutMs?: number;
  /** Pause between probes; default 25 ms. */
  everyMs?: number;
}

type Falsy = false | 0 | 0n | "" | null | undefined;

/**
 * Resolves with the first truthy value `probe` returns. A probe that throws is asked again (a server still
 * starting refuses connections); after `timeoutMs` the promise rejects with a message that names `what` and
 * the last value or error the probe gave.
 */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, options: WaitForOptions = {}): Promise<Exclude<T, Falsy>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const everyMs = options.everyMs ?? 25;
  const deadline = Date.now() + timeoutMs;
  let last: { value: unknown } | { error: unknown } = { value: undefined };
  for (;;) {
    try {
      const value = await probe();
      if (value) return value as Exclude<T, Falsy>;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() >= deadline) {
      const seen = "error" in last ? `last error: ${describe(last.error)}` : `last value: ${describe(last.value)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${seen})`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

function describe(x: unknown): string {
  if (x instanceof Error) return `${x.name}: ${x.message}`;
  return inspect(x, { depth: 3, breakLength: Infinity, maxStringLength: 300, maxArrayLength: 10 });
}
