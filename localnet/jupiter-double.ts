/**
 * A Jupiter Swap API v1 double for the local chain: `GET /swap/v1/quote` and `POST /swap/v1/swap`, as
 * `@jup-ag/api` calls them. The swap transaction is real: the user's input tokens go to the liquidity
 * wallet's account, the liquidity wallet's output tokens go to the user's account (the liquidity wallet
 * signs; the user signs last and pays the fee), and a final slippage-guard instruction of a model of the
 * Jupiter program fails with its SlippageToleranceExceeded (6001) when the user got less than the quote's
 * threshold. `failNextSwaps(n)` makes the next n swaps deliver less (the price moved), so they land as
 * failed transactions: fee paid, nothing moved. Prices are micro-USDC per whole KAMIYO; amounts bigint.
 *
 * `POST /swap/v1/swap-instructions` answers as Jupiter does: compute budget, setup (the output ATA), one
 * swap instruction of the Jupiter program and no signatures, for the caller to assemble and sign. Here the
 * swap instruction is the model's `route`: the user's input goes to the liquidity wallet, and the liquidity
 * wallet's output comes back through a program-derived authority it delegated to (no second signer), then
 * the slippage check. `drainNextSwaps(n, how)` makes the next n answers hostile (a compromised API): extra
 * instructions that take more of the user's USDC, hand its token account to someone else, or move its SOL.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Keypair } from "@solana/web3.js";
import type { Logger } from "../src/log.ts";
import type { Chain } from "./chain.ts";
import type { DrainKind } from "./jupiter-hostile.ts";
import { LIQUIDITY_AUTHORITY } from "./jupiter-program.ts";
import { BadRequest, quote, swap, swapInstructions, tokenProgramOf, type SwapDesk } from "./jupiter-swaps.ts";

// The program model and the hostile answers live in their own files; re-exported so imports keep this path.
export { createJupiterGuardModel, JUPITER_V6_PROGRAM_ID, LIQUIDITY_AUTHORITY, SLIPPAGE_TOLERANCE_EXCEEDED } from "./jupiter-program.ts";
export type { DrainKind } from "./jupiter-hostile.ts";

export interface JupiterDoubleOptions {
  chain: Chain;
  host: string;
  /** 0 picks a free port. */
  port: number;
  usdcMint: string;
  kamiyoMint: string;
  /** Holds both tokens and signs the output side of every swap. */
  liquidity: Keypair;
  priceMicroUsdcPerKamiyo: bigint;
  /** When set, requests must carry it as x-api-key. */
  apiKey?: string;
  logger: Logger;
}

export interface JupiterDouble {
  url: string;
  setPrice(priceMicroUsdcPerKamiyo: bigint): void;
  /** The price impact the next quotes report, a decimal fraction string ("0.02" = 2 %). */
  setPriceImpact(pct: string): void;
  /** The next `count` swaps deliver less than their quote's threshold and fail on chain with 6001. */
  failNextSwaps(count: number): void;
  /** The next `count` swap-instructions answers also take from the user (see DrainKind). */
  drainNextSwaps(count: number, how: DrainKind): void;
  stats(): { quotes: number; swaps: number; failedSwaps: number };
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > 64 * 1024) reject(new BadRequest("body too large"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export async function startJupiterDouble(o: JupiterDoubleOptions): Promise<JupiterDouble> {
  const log = o.logger.child({ component: "jupiter-double" });
  const desk: SwapDesk = {
    o,
    log,
    state: { price: o.priceMicroUsdcPerKamiyo, impact: "0", failing: 0, draining: 0, drainKind: "usdc", counts: { quotes: 0, swaps: 0, failedSwaps: 0 } },
  };
  const s = desk.state;
  if (s.price <= 0n) throw new RangeError("price must be positive");

  // The liquidity wallet's token accounts are delegated to the route's program-derived authority.
  for (const mint of [o.usdcMint, o.kamiyoMint]) {
    const program = tokenProgramOf(o, mint).toBase58();
    o.chain.setTokenAccount(o.liquidity.publicKey.toBase58(), mint, { delegate: LIQUIDITY_AUTHORITY.toBase58(), delegatedAmount: 2n ** 64n - 1n }, program);
  }

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    void (async () => {
      try {
        if (o.apiKey !== undefined && req.headers["x-api-key"] !== o.apiKey) return send(res, 401, { error: "invalid or missing x-api-key" });
        const url = new URL(req.url ?? "/", "http://localhost");
        if (req.method === "GET" && url.pathname === "/swap/v1/quote") return send(res, 200, quote(desk, url.searchParams));
        if (req.method === "POST" && url.pathname === "/swap/v1/swap") {
          let body: unknown;
          try {
            body = JSON.parse(await readBody(req));
          } catch (err) {
            throw err instanceof BadRequest ? err : new BadRequest("body is not JSON");
          }
          return send(res, 200, swap(desk, body));
        }
        if (req.method === "POST" && url.pathname === "/swap/v1/swap-instructions") {
          let body: unknown;
          try {
            body = JSON.parse(await readBody(req));
          } catch (err) {
            throw err instanceof BadRequest ? err : new BadRequest("body is not JSON");
          }
          return send(res, 200, swapInstructions(desk, body));
        }
        return send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
      } catch (err) {
        if (err instanceof BadRequest) return send(res, 400, { error: err.message });
        log.error({ err: (err as Error).message }, "jupiter double failed");
        return send(res, 500, { error: "internal error" });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  log.info({ port, price: s.price.toString() }, "jupiter double listening");
  return {
    url: `http://${host}:${port}`,
    setPrice(p) {
      if (p <= 0n) throw new RangeError("price must be positive");
      s.price = p;
    },
    setPriceImpact(pct) {
      s.impact = pct;
    },
    failNextSwaps(count) {
      s.failing = count;
    },
    drainNextSwaps(count, how) {
      s.draining = count;
      s.drainKind = how;
    },
    stats: () => ({ ...s.counts }),
    async close() {
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
    },
  };
}
