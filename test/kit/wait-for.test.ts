/** The kit's one waitFor: first truthy value, probe errors retried, and a timeout that says what and why. */
import { describe, expect, it } from "vitest";
import { waitFor } from "./wait-for.ts";

describe("waitFor", () => {
  it("resolves with the probe's first truthy value", async () => {
    let calls = 0;
    const value = await waitFor("the third call", () => (++calls >= 3 ? { calls } : 0), { everyMs: 1 });
    expect(value).toEqual({ calls: 3 });
  });

  it("asks again after the probe throws", async () => {
    let calls = 0;
    const value = await waitFor(
      "a probe that fails twice",
      async () => {
        if (++calls < 3) throw new Error("not yet");
        return "up";
      },
      { everyMs: 1 },
    );
    expect(value).toBe("up");
  });

  it("fails with a message naming what it waited for and the last value", async () => {
    await expect(waitFor("the flag", () => false, { timeoutMs: 30, everyMs: 5 })).rejects.toThrow(
      /^timed out after 30 ms waiting for the flag \(last value: false\)$/,
    );
  });

  it("fails with the last error when the probe kept throwing", async () => {
    await expect(
      waitFor(
        "the server",
        () => {
          throw new Error("ECONNREFUSED");
        },
        { timeoutMs: 20, everyMs: 5 },
      ),
    ).rejects.toThrow("timed out after 20 ms waiting for the server (last error: Error: ECONNREFUSED)");
  });
});
