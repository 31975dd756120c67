/**
 * Stopping the services of a process cannot hang on one of them: a stop that never finishes (a dependency
 * black-holed) is given up after the per-service deadline, named in the log and the error, and the services
 * started before it are still stopped.
 */
import { describe, expect, it } from "vitest";
import { startServices, type Service } from "../../cli/services.ts";
import { capturingLogger } from "../api/harness.ts";

describe("service stop deadlines", () => {
  it("gives up a stop that never finishes after its deadline and stops the others", async () => {
    const stopped: string[] = [];
    const service = (name: string, stop: () => Promise<void>): Service => ({ name, start: () => Promise.resolve(), stop });
    const { logger, lines } = capturingLogger();
    const running = await startServices(
      [
        service("database", async () => void stopped.push("database")),
        service("indexer", () => new Promise<void>(() => undefined)),
        service("api", async () => void stopped.push("api")),
      ],
      logger,
      { stopDeadlineMs: 300 },
    );
    const started = Date.now();
    await expect(running.stop()).rejects.toThrow("indexer did not stop within 0.3 s");
    const ms = Date.now() - started;
    expect(stopped).toEqual(["api", "database"]);
    expect(ms).toBeLessThan(3_000);
    expect(lines.some((l) => l.includes("service did not stop cleanly") && l.includes("indexer"))).toBe(true);
  });
});
