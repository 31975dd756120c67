/**
 * `npm run bench:outage`: seconds until the stakes table equals the chain again after an outage. An indexer
 * with the production timings (DEFAULT_INDEXER_OPTIONS) follows the local chain through TCP proxies while a
 * stake changes on the chain every 100 ms; the RPC (HTTP and websocket) or Postgres is black-holed (open and
 * new connections carry nothing) for 10 s and 60 s (and 5 minutes with OUTAGE_LONG=1); the changes stop at
 * restore, and the time from restore to "table equal to chain" is printed.
 *
 * Why it is short: during the outage the stall watchdog (STALL_TIMEOUT_MS, 15 s) and each RPC call's deadline
 * (30 s) have already failed the silent connections, and reconnection backs off to at most 10 s; at restore
 * the next attempt opens a fresh websocket and resyncs the pool with one getProgramAccounts. Postgres: the
 * write queue holds the changes and retries, the pool's deadlines replace wedged clients, and a leader whose
 * lock session died competes again (leaderRetryMs, 2 s) and resyncs at the start of its new term.
 */
import { DEFAULT_INDEXER_OPTIONS } from "../indexer/options.ts";
import { startOutageRig, type OutageTarget } from "../test/resilience/outage-rig.ts";

const LONG = process.env.OUTAGE_LONG === "1";
const DURATIONS_S = [10, 60, ...(LONG ? [300] : [])];
const CONVERGE_TIMEOUT_MS = 180_000;

const results: string[] = [];
for (const target of ["rpc", "postgres"] as OutageTarget[]) {
  for (const seconds of DURATIONS_S) {
    const rig = await startOutageRig({ indexer: { ...DEFAULT_INDEXER_OPTIONS, reconcileIntervalMs: 0 } });
    try {
      rig.startChanges(100);
      rig.blackHole(target);
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      const sent = await rig.stopChanges();
      const behind = (await rig.drift())?.length ?? "unreadable";
      rig.restore();
      const ms = await rig.timeToConverge(CONVERGE_TIMEOUT_MS);
      const what = target === "rpc" ? "RPC + websocket" : "Postgres";
      const line = `${what.padEnd(16)} black-holed ${String(seconds).padStart(3)} s, ${sent} changes (${behind} rows behind at restore): ${
        ms === null ? `NOT converged within ${CONVERGE_TIMEOUT_MS / 1000} s` : `table equal to the chain ${(ms / 1000).toFixed(2)} s after restore`
      }`;
      console.log(line);
      results.push(line);
      if (ms === null) process.exitCode = 1;
    } finally {
      await rig.close();
    }
  }
}
if (!LONG) console.log("5-minute outages skipped (OUTAGE_LONG=1 runs them: about 12 more minutes)");
