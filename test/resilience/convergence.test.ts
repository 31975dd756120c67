/**
 * Convergence after an outage: the RPC (HTTP and websocket) black-holed for 10 s while stakes keep changing
 * on the chain; once it answers again the stakes table equals the chain within a bound. The bound: the
 * stall watchdog notices the silent websocket (2 s here, STALL_TIMEOUT_MS), the feed reconnects (backoff
 * capped at 300 ms here) and resyncs the whole pool with getProgramAccounts, which takes well under a second
 * on the local chain. bench/outage.ts measures the same with the production timings and longer outages.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOutageRig, type OutageRig } from "./outage-rig.ts";

const OUTAGE_MS = 10_000;
/** Stall timeout + reconnect + resync, with slack for a loaded machine. */
const CONVERGE_WITHIN_MS = 10_000;

describe("convergence after a 10 s RPC black hole", () => {
  let rig: OutageRig;
  beforeAll(async () => {
    rig = await startOutageRig();
  });
  afterAll(async () => {
    await rig?.close();
  });

  it("equals the chain again within the bound once the RPC answers", { timeout: 60_000 }, async () => {
    rig.startChanges(100);
    rig.blackHole("rpc");
    const until = Date.now() + OUTAGE_MS;
    // The outage lasts OUTAGE_MS whatever else happens: a fixed duration of the fault, not a wait for a result.
    while (Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 250));
    const sent = await rig.stopChanges();
    expect((await rig.drift())?.length ?? 0).toBeGreaterThan(0);
    rig.restore();
    const ms = await rig.timeToConverge(30_000);
    console.log(`[resilience] RPC + websocket black-holed for ${OUTAGE_MS / 1000} s under ${sent} stake changes: table equal to the chain ${ms} ms after restore`);
    expect(ms).not.toBeNull();
    expect(ms!).toBeLessThan(CONVERGE_WITHIN_MS);
  });
});
