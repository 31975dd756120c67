/**
 * A bounded HTTP load generator for bench/paywall.ts, run in its own process so it does not share the
 * server's event loop: a fixed number of keep-alive connections, each sending one request after another,
 * either for a fixed duration or until a list of prepared requests is used up.
 *
 * Input (a JSON file named by argv[2]): { url, concurrency, durationMs?, warmupMs?, headers?: Record<string,string>[], once?: boolean,
 *   expectStatus }. With `once`, each entry of `headers` is sent exactly once. Output: one JSON line on stdout.
 */
import { readFileSync } from "node:fs";
import http from "node:http";

export interface LoadSpec {
  url: string;
  concurrency: number;
  durationMs?: number;
  warmupMs?: number;
  /** Request headers, used round-robin (or each once with `once`). */
  headers?: Array<Record<string, string>>;
  once?: boolean;
  expectStatus: number;
  /** Also return every latency (ms, 0.01 ms resolution) so runs can be pooled. */
  raw?: boolean;
}

export interface LoadResult {
  requests: number;
  unexpected: number;
  statuses: Record<string, number>;
  elapsedMs: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  latencies?: number[];
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const target = new URL(spec.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const headerSets = spec.headers && spec.headers.length > 0 ? spec.headers : [{}];
  const send = (headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request({ host: target.hostname, port: target.port, path: target.pathname + target.search, method: "GET", agent, headers }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end();
    });

  let next = 0;
  const take = (): Record<string, string> | null => {
    if (spec.once) return next < headerSets.length ? headerSets[next++]! : null;
    return headerSets[next++ % headerSets.length]!;
  };

  if (!spec.once && spec.warmupMs) {
    const warmEnd = performance.now() + spec.warmupMs;
    await Promise.all(
      Array.from({ length: spec.concurrency }, async () => {
        while (performance.now() < warmEnd) await send(take()!);
      }),
    );
  }

  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let unexpected = 0;
  const start = performance.now();
  const end = start + (spec.durationMs ?? Number.POSITIVE_INFINITY);
  await Promise.all(
    Array.from({ length: spec.concurrency }, async () => {
      for (;;) {
        if (!spec.once && performance.now() >= end) return;
        const headers = take();
        if (headers === null) return;
        const t0 = performance.now();
        let status: number;
        try {
          status = await send(headers);
        } catch {
          status = 0;
        }
        latencies.push(performance.now() - t0);
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status !== spec.expectStatus) unexpected++;
      }
    }),
  );
  const elapsedMs = performance.now() - start;
  agent.destroy();
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: latencies.length,
    unexpected,
    statuses,
    elapsedMs,
    rps: latencies.length / (elapsedMs / 1000),
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length ? sorted[sorted.length - 1]! : 0,
    ...(spec.raw ? { latencies: latencies.map((l) => Math.round(l * 100) / 100) } : {}),
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop()!)) {
  const spec = JSON.parse(readFileSync(process.argv[2] ?? "", "utf8")) as LoadSpec;
  run(spec).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err) => {
      process.stderr.write(`${String(err)}\n`);
      process.exit(1);
    },
  );
}
