/** Services start in order, stop in reverse, and a failed start stops what already runs. */
import { describe, expect, it } from "vitest";
import { ServiceStartError, startServices, untilAborted, type Service } from "../../cli/services.ts";
import { createLogger } from "../../src/log.ts";

const logger = createLogger({ level: "silent" });

function recording(log: string[], name: string, fail?: "start" | "stop"): Service {
  return {
    name,
    async start() {
      if (fail === "start") throw new Error(`${name} refused`);
      log.push(`start ${name}`);
    },
    async stop() {
      log.push(`stop ${name}`);
      if (fail === "stop") throw new Error(`${name} stuck`);
    },
  };
}

describe("startServices", () => {
  it("starts in order and stops in reverse, once", async () => {
    const log: string[] = [];
    const running = await startServices([recording(log, "a"), recording(log, "b"), recording(log, "c")], logger);
    expect(running.started).toEqual(["a", "b", "c"]);
    await Promise.all([running.stop(), running.stop()]);
    expect(log).toEqual(["start a", "start b", "start c", "stop c", "stop b", "stop a"]);
  });

  it("stops the started services when one fails to start, naming it", async () => {
    const log: string[] = [];
    const failing = startServices([recording(log, "a"), recording(log, "b"), recording(log, "c", "start"), recording(log, "d")], logger);
    await expect(failing).rejects.toThrow(new ServiceStartError("c", new Error("c refused")));
    await expect(failing).rejects.toMatchObject({ service: "c", message: "c did not start: c refused" });
    expect(log).toEqual(["start a", "start b", "stop b", "stop a"]);
  });

  it("keeps stopping the others when one fails to stop, then reports it", async () => {
    const log: string[] = [];
    const running = await startServices([recording(log, "a"), recording(log, "b", "stop"), recording(log, "c")], logger);
    await expect(running.stop()).rejects.toThrow("b stuck");
    expect(log.slice(3)).toEqual(["stop c", "stop b", "stop a"]);
  });
});

describe("untilAborted", () => {
  it("resolves on abort, and at once for a signal already aborted", async () => {
    const c = new AbortController();
    let done = false;
    const waiting = untilAborted(c.signal).then(() => (done = true));
    // A negative (not resolved before the abort): a bounded wait is the only way to see it.
    await new Promise((r) => setTimeout(r, 5));
    expect(done).toBe(false);
    c.abort();
    await waiting;
    expect(done).toBe(true);
    await untilAborted(c.signal);
  });
});
