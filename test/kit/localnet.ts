/**
 * The one way a test boots the local chain: chain core + staking model + JSON-RPC/websocket facade on free
 * ports, the demo seed unless asked not to, a state directory of its own, and `close()` that removes it all.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { STAKING_PROGRAM_PLACEHOLDER_ID } from "../../src/config.ts";
import type { DemoSeed } from "../../localnet/seed-demo.ts";
import { startLocalnet, type Localnet, type LocalnetOptions } from "../../localnet/server.ts";

export interface TestLocalnetOptions {
  /** Mints, pool, payTo, facilitator and stakers in every tier (default true). */
  seedDemo?: boolean;
  /** Default 50 ms; 0 keeps the slot still until a transaction or a cheatcode moves it. */
  slotMs?: number;
  blockhashValidity?: number;
  /**
   * Commitment lags in blocks. Default 0 and 0: every level is the newest block, as the suite outside
   * test/localnet was written against (it reads at confirmed right after sending, expects finalized statuses at
   * once). Tests of commitment itself pass lags (test/localnet/rpc-commitment.test.ts).
   */
  confirmedLag?: number;
  finalizedLag?: number;
  programId?: string;
  webhook?: LocalnetOptions["webhook"];
  jupiter?: LocalnetOptions["jupiter"];
  logger?: LocalnetOptions["logger"];
}

export interface TestLocalnet extends Localnet {
  stateDir: string;
  /** Environment that points a config (loadLocalnetConfig) at this chain and, when seeded, its mints. */
  env: Record<string, string>;
  /** A JSON-RPC call over HTTP; an error answer throws RpcFailure. */
  call<T = unknown>(method: string, params?: unknown[]): Promise<T>;
}

/** The local chain seeded with the demo: `seed` is always there. */
export type SeededTestLocalnet = TestLocalnet & { seed: DemoSeed };

export const TEST_CONFIRMED_LAG = 0;
export const TEST_FINALIZED_LAG = 0;

export class RpcFailure extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

export function startTestLocalnet(options?: TestLocalnetOptions & { seedDemo?: true }): Promise<SeededTestLocalnet>;
export function startTestLocalnet(options: TestLocalnetOptions): Promise<TestLocalnet>;
export async function startTestLocalnet(o: TestLocalnetOptions = {}): Promise<TestLocalnet> {
  const stateDir = await mkdtemp(join(tmpdir(), "kamiyo-test-chain-"));
  let net: Localnet;
  try {
    net = await startLocalnet({
      host: "127.0.0.1",
      rpcPort: 0,
      slotMs: o.slotMs ?? 50,
      programId: o.programId ?? STAKING_PROGRAM_PLACEHOLDER_ID,
      seedDemo: o.seedDemo ?? true,
      stateDir,
      logger: o.logger ?? pino({ level: "silent" }),
      ...(o.blockhashValidity ? { blockhashValidity: o.blockhashValidity } : {}),
      confirmedLag: o.confirmedLag ?? TEST_CONFIRMED_LAG,
      finalizedLag: o.finalizedLag ?? TEST_FINALIZED_LAG,
      ...(o.webhook ? { webhook: o.webhook } : {}),
      ...(o.jupiter ? { jupiter: o.jupiter } : {}),
    });
  } catch (err) {
    await rm(stateDir, { recursive: true, force: true });
    throw err;
  }
  const env: Record<string, string> = { SOLANA_RPC_URL: net.httpUrl, SOLANA_WS_URL: net.wsUrl };
  if (net.seed) Object.assign(env, { KAMIYO_MINT: net.seed.kamiyoMint, USDC_MINT: net.seed.usdcMint });
  if (net.jupiter) env.JUPITER_API_URL = net.jupiter.url;
  let id = 0;
  return {
    ...net,
    stateDir,
    env,
    async call<T>(method: string, params: unknown[] = []): Promise<T> {
      const res = await fetch(net.httpUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
      });
      const body = (await res.json()) as { result?: T; error?: { code: number; message: string } };
      if (body.error) throw new RpcFailure(body.error.code, `${method}: ${body.error.message}`);
      return body.result as T;
    },
    async close() {
      await net.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** A port nobody listens on right now (the OS may hand it out again later; tests use it at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A free port whose successor is free too: a chain started on a fixed port listens for websockets on port + 1. */
export async function freePortPair(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port >= 65_000) continue;
    const next = await new Promise<boolean>((resolve) => {
      const server = createServer().once("error", () => resolve(false));
      server.listen(port + 1, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (next) return port;
  }
}
