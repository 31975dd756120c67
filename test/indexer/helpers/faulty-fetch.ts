/** A fetch for the indexer's JSON-RPC client that fails on purpose: network errors, HTTP 503, node errors. */
import type { FetchLike } from "../../../indexer/rpc-client.ts";

export type Fault = "network" | "http503" | "node-behind";

export interface FaultyFetch {
  fetch: FetchLike;
  /** Calls failed so far, by method. */
  failed: Map<string, number>;
  /** Decides per call whether (and how) to fail; return null to pass it through. */
  plan: (method: string) => Fault | null;
}

/** Deterministic PRNG (mulberry32) so a failing run can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function faultyFetch(plan: (method: string) => Fault | null = () => null): FaultyFetch {
  const f: FaultyFetch = {
    failed: new Map(),
    plan,
    fetch: async (input, init) => {
      const method = (JSON.parse(String(init.body)) as { method: string }).method;
      const fault = f.plan(method);
      if (fault) f.failed.set(method, (f.failed.get(method) ?? 0) + 1);
      if (fault === "network") throw new TypeError("fetch failed (injected)");
      if (fault === "http503") return new Response("unavailable (injected)", { status: 503 });
      if (fault === "node-behind") {
        return Response.json({ jsonrpc: "2.0", id: 1, error: { code: -32005, message: "Node is behind (injected)" } });
      }
      return fetch(input, init);
    },
  };
  return f;
}
