/**
 * Process entry: `node cli/main.ts <command> [options]`. Turns signals into an AbortSignal for the
 * command and exits with the command's code.
 */
import { runCli } from "./run.ts";

/** The longest a stop may take after SIGINT/SIGTERM. */
const STOP_DEADLINE_MS = 8_000;
const controller = new AbortController();
let stopRequests = 0;
function onStopSignal(signal: NodeJS.Signals): void {
  stopRequests += 1;
  if (stopRequests > 1) process.exit(130);
  process.stderr.write(`kamiyo-stake: ${signal} received, stopping (send it again to force)\n`);
  controller.abort(new Error(`${signal} received`));
  // Stopping waits on dependencies (a silent database, Redis or RPC) only so long: every part has its own
  // deadline, and this one bounds whatever is left.
  setTimeout(() => {
    process.stderr.write(`kamiyo-stake: still stopping after ${STOP_DEADLINE_MS / 1000} s; exiting without waiting further\n`);
    process.exit(1);
  }, STOP_DEADLINE_MS).unref();
}
process.on("SIGINT", onStopSignal);
process.on("SIGTERM", onStopSignal);

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
});
// Exit now rather than wait for stray handles (an unclosed socket would otherwise keep a finished command alive).
process.exit(code);
