/**
 * Long-running parts of one process (local chain, database, indexer, API, ...) as a list of services:
 * started in order, stopped in reverse. A part that fails to start stops the ones already running.
 */
import { describeError } from "../src/errors.ts";
import type { Logger } from "../src/log.ts";

export interface Service {
  name: string;
  start(): Promise<void>;
  /** Called only after a successful start. */
  stop(): Promise<void>;
}

export interface RunningServices {
  /** Names of the started services, in start order. */
  readonly started: readonly string[];
  /** Stops every started service in reverse order; failures are logged, and the first is rethrown at the end. */
  stop(): Promise<void>;
}

/** A service failed to start; the ones before it have been stopped. */
export class ServiceStartError extends Error {
  override name = "ServiceStartError";
  readonly service: string;
  constructor(service: string, cause: unknown) {
    super(`${service} did not start: ${describeError(cause)}`, { cause });
    this.service = service;
  }
}

export async function startServices(services: readonly Service[], logger: Logger): Promise<RunningServices> {
  const started: Service[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = async () => {
    let first: unknown;
    for (const s of [...started].reverse()) {
      try {
        await s.stop();
        logger.debug({ service: s.name }, "service stopped");
      } catch (err) {
        logger.error({ service: s.name, reason: describeError(err) }, "service did not stop cleanly");
        first ??= err;
      }
    }
    if (first !== undefined) throw first instanceof Error ? first : new Error(String(first));
  };
  for (const s of services) {
    try {
      await s.start();
    } catch (err) {
      await stopAll().catch(() => undefined);
      throw new ServiceStartError(s.name, err);
    }
    started.push(s);
    logger.debug({ service: s.name }, "service started");
  }
  return {
    started: started.map((s) => s.name),
    stop: () => (stopping ??= stopAll()),
  };
}

/** Resolves when `signal` aborts (at once if it already has). */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}
