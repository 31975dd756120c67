#!/usr/bin/env node
// Runs cli/main.ts under a Node that strips TypeScript types (>= 24). When the `node` on PATH is older,
// the project's own node (the `node` devDependency) is used. Plain JS so that any Node can start it.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { fileURLToPath } from "node:url";

const MIN_MAJOR = 24;
const main = fileURLToPath(new URL("../cli/main.ts", import.meta.url));
const bundled = fileURLToPath(new URL("../node_modules/node/bin/node", import.meta.url));
const major = Number(process.versions.node.split(".")[0]);
const node = major >= MIN_MAJOR ? process.execPath : existsSync(bundled) ? bundled : null;
if (node === null) {
  process.stderr.write(`kamiyo-stake: needs Node >= ${MIN_MAJOR} (this is ${process.version}); run npm install\n`);
  process.exit(1);
}
// A young generation of at most 3 x 8 MiB: left to grow to its default, it took a million-account backfill to
// 285-314 MB of RSS for no measurable gain in CPU (bench:backfill runs under the same flag, as do the npm scripts).
const NODE_FLAGS = ["--experimental-strip-types", "--max-semi-space-size=8"];
const argv = [node, ...NODE_FLAGS, main, ...process.argv.slice(2)];

if (typeof process.execve === "function") {
  // Replaces this process, so signals and the exit status are the CLI's own.
  process.execve(node, argv);
} else {
  const child = spawn(node, argv.slice(1), { stdio: "inherit" });
  // Ctrl-C reaches the whole foreground process group, the child included; forwarding it would count twice.
  process.on("SIGINT", () => {});
  for (const signal of ["SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  child.on("error", (err) => {
    process.stderr.write(`kamiyo-stake: cannot start ${node}: ${err.message}\n`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => process.exit(signal ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1)));
}
