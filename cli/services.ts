/**
 * Long-running parts of one process (local chain, database, indexer, API, ...) as a list of services:
 * started in order, stopped in reverse, each stop within its deadline. A part that fails to start stops the
 * ones already running.
 */
import { describeError } from "../src/errors.ts";
import type { Logger } from "../src/log.ts";

export interface Service {
  name: string;
  start(): Promise<void>;
  /** Called only after a successful start. */
  stop(): Promise<void>;
  /** This service's stop deadline, when it differs from the process's (a worker finishing its active job). */
  stopDeadlineMs?: number;
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

/**
 * The longest one service's stop is waited for (a stop stuck on a silent dependency): past it, the next one
 * stops anyway. Several of them stay under cli/main.ts's 8 s backstop in practice, since most stop at once.
 */
export const SERVICE_STOP_DEADLINE_MS = 3_000;

/** `s.stop()`, or a rejection naming the service once `ms` have passed without it finishing. */
function stopWithin(s: Service, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${s.name} did not stop within ${ms / 1000} s`)), ms);
  });
  const stopping = s.stop();
  stopping.catch(() => undefined);
  return Promise.race([stopping, late]).finally(() => clearTimeout(timer));
}

export async function startServices(
  services: readonly Service[],
  logger: Logger,
  options: { stopDeadlineMs?: number } = {},
): Promise<RunningServices> {
  const started: Service[] = [];
  let stopping: Promise<void> | undefined;
  const stopDeadlineMs = options.stopDeadlineMs ?? SERVICE_STOP_DEADLINE_MS;
  const stopAll = async () => {
    let first: unknown;
    for (const s of [...started].reverse()) {
      try {
        await stopWithin(s, s.stopDeadlineMs ?? stopDeadlineMs);
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
