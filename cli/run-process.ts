/** Runs one production process (`api`, `indexer`, `worker`) from the composition until SIGINT/SIGTERM. */
import type { CommandContext } from "./command.ts";
import { composeServices, createCompositionState, describeFacilitator, validate, type CompositionOptions, type CompositionState } from "./compose.ts";
import { ServiceStartError, startServices, untilAborted, type Service } from "./services.ts";

export interface ProcessOptions extends Omit<CompositionOptions, "logger"> {
  /** Services of the command's own beside the composition's (e.g. a metrics listener), started last. */
  extra?: (state: CompositionState) => Service[];
  /** One line for people once everything runs. */
  banner(state: CompositionState): string;
}

export async function runProcess(ctx: CommandContext, o: ProcessOptions): Promise<void> {
  const logger = ctx.logger();
  const config = ctx.config();
  // What the roles need (keys, endpoints) is checked before any connection is opened.
  validate(config, o.roles);
  const state = createCompositionState(config);
  const services = [...composeServices(state, { ...o, logger }), ...(o.extra?.(state) ?? [])];
  // The operator wants the reason in one line ("the database has no stakes table; run ..."), not the wrapper.
  const running = await startServices(services, logger).catch((err: unknown) => {
    throw err instanceof ServiceStartError ? err.cause : err;
  });
  try {
    const facilitator = o.roles.includes("api") ? ` [${describeFacilitator(state)}]` : "";
    ctx.stdout.write(`${o.banner(state)}${facilitator}\n`);
    await untilAborted(ctx.signal);
  } finally {
    await running.stop();
  }
}
