/**
 * `npm run bench:log-soak`: bytes of log per 1,000 unpaid quotes (402) from the API at LOG_LEVEL=info, now
 * (a quote's request line is logged at debug, so at info it is not written) and before (quotes logged at
 * warn, as issue 10 found: 99 % of warnings). One run records every line at debug; "before" is simulated
 * by the --before rule applied to the same lines: a 402 request line counts as the warn line it used to be
 * (same bytes but the level number), everything else as at info.
 *
 * The API is the paywall harness (local chain, fresh schema, in-process facilitator). Environment:
 * SOAK_QUOTES (default 5,000), SOAK_CONCURRENCY (8).
 */
import { startPaywallHarness } from "../test/paywall/harness.ts";

const QUOTES = Number(process.env.SOAK_QUOTES ?? 5_000);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 8);
const INFO = 30;

interface Line {
  bytes: number;
  level: number;
  status: number | null;
}

function parse(raw: string): Line {
  const v = JSON.parse(raw) as { level?: number; res?: { statusCode?: number } };
  return { bytes: Buffer.byteLength(raw), level: v.level ?? 0, status: v.res?.statusCode ?? null };
}

const h = await startPaywallHarness();
try {
  const wallets = ["gold", "silver", "nonstaker"].map((n) => h.wallet(n).address);
  const before = h.api.logLines.length;
  let sent = 0;
  let quoted = 0;
  const worker = async () => {
    while (sent < QUOTES) {
      const i = sent++;
      const res = await fetch(`${h.url}/api/premium`, { headers: { "x-wallet-address": wallets[i % wallets.length]! } });
      await res.arrayBuffer();
      if (res.status === 402) quoted++;
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (Date.now() - started) / 1000;
  const lines = h.api.logLines.slice(before).map(parse);

  const now = lines.filter((l) => l.level >= INFO);
  // Before: the same lines, a 402 request line written at warn (40) rather than debug (20): the same length.
  const then = lines.filter((l) => l.level >= INFO || l.status === 402);
  const perThousand = (ls: Line[]) => (ls.reduce((sum, l) => sum + l.bytes, 0) * 1000) / quoted;
  const nowBytes = perThousand(now);
  const thenBytes = perThousand(then);
  console.log(`quote soak: ${quoted} unpaid quotes (402) of ${QUOTES} sent, ${CONCURRENCY} at a time, ${(quoted / seconds).toFixed(0)} quotes/s, LOG_LEVEL=info`);
  console.log(`  before (quotes at warn):  ${then.length} lines, ${thenBytes.toFixed(0)} bytes of log per 1,000 quotes`);
  console.log(`  now (quotes at debug):    ${now.length} lines, ${nowBytes.toFixed(0)} bytes of log per 1,000 quotes`);
  console.log(`  ratio before/now: ${nowBytes === 0 ? "infinite (nothing logged now)" : (thenBytes / nowBytes).toFixed(1)}`);
  if (quoted !== QUOTES) process.exitCode = 1;
} finally {
  await h.close();
}
