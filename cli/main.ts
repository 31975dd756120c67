/**
 * Process entry: `node cli/main.ts <command> [options]`. Turns signals into an AbortSignal for the
 * command and exits with the command's code.
 */
import { runCli } from "./run.ts";

const controller = new AbortController();
let stopRequests = 0;
function onStopSignal(signal: NodeJS.Signals): void {
  stopRequests += 1;
  if (stopRequests > 1) process.exit(130);
  process.stderr.write(`kamiyo-stake: ${signal} received, stopping (send it again to force)\n`);
  controller.abort(new Error(`${signal} received`));
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
