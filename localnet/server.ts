/** Assembles the local chain: chain core + staking program model + JSON-RPC/websocket facade (+ demo seed). */
import type { Logger } from "../src/log.ts";
import { createChain, type Chain } from "./chain.ts";
import { demoKeypair } from "./demo-keys.ts";
import { createJupiterGuardModel, startJupiterDouble, type JupiterDouble } from "./jupiter-double.ts";
import { createRpcServer, type RpcServer } from "./rpc/index.ts";
import type { WebhookConfig } from "./rpc/webhook-sender.ts";
import { seedDemo, type DemoSeed } from "./seed-demo.ts";
import { createStakingModel } from "./staking-model/index.ts";

export interface LocalnetOptions {
  host: string;
  /** 0 picks a free port. */
  rpcPort: number;
  /** Defaults to rpcPort + 1, as the validator does (or a free port when rpcPort is 0). */
  wsPort?: number;
  slotMs: number;
  blockhashValidity?: number;
  /** Commitment lags in blocks (defaults: the validator's 1 and 32). */
  confirmedLag?: number;
  finalizedLag?: number;
  programId: string;
  seedDemo: boolean;
  stateDir: string;
  /** Helius-style deliveries for transactions touching `programId`. */
  webhook?: Omit<WebhookConfig, "programId">;
  /** A Jupiter quote/swap double trading the demo mints with the demo liquidity wallet (needs seedDemo). */
  jupiter?: { host?: string; port: number; priceMicroUsdcPerKamiyo: bigint; apiKey?: string };
  logger: Logger;
}

export interface Localnet {
  chain: Chain;
  httpUrl: string;
  wsUrl: string;
  seed: DemoSeed | null;
  jupiter: JupiterDouble | null;
  /** The JSON-RPC/websocket facade (tests read its subscription count and webhook sender). */
  rpcServer: RpcServer;
  close(): Promise<void>;
}

export async function startLocalnet(o: LocalnetOptions): Promise<Localnet> {
  const chain = createChain({
    slotMs: o.slotMs,
    models: [createStakingModel({ programId: o.programId }), ...(o.jupiter ? [createJupiterGuardModel()] : [])],
    ...(o.blockhashValidity ? { blockhashValidity: o.blockhashValidity } : {}),
    ...(o.confirmedLag !== undefined ? { confirmedLag: o.confirmedLag } : {}),
    ...(o.finalizedLag !== undefined ? { finalizedLag: o.finalizedLag } : {}),
  });
  const server = createRpcServer({
    chain,
    logger: o.logger,
    ...(o.webhook && o.webhook.urls.length > 0
      ? { webhook: { ...o.webhook, programId: o.programId } }
      : {}),
  });
  let jupiter: JupiterDouble | null = null;
  try {
    const seed = o.seedDemo ? await seedDemo(chain, { programId: o.programId, stateDir: o.stateDir }) : null;
    if (seed) chain.settle();
    if (o.jupiter) {
      if (!seed) throw new Error("the Jupiter double trades the demo mints: it needs seedDemo");
      jupiter = await startJupiterDouble({
        chain,
        host: o.jupiter.host ?? o.host,
        port: o.jupiter.port,
        usdcMint: seed.usdcMint,
        kamiyoMint: seed.kamiyoMint,
        liquidity: demoKeypair("jupiterLiquidity"),
        priceMicroUsdcPerKamiyo: o.jupiter.priceMicroUsdcPerKamiyo,
        ...(o.jupiter.apiKey !== undefined ? { apiKey: o.jupiter.apiKey } : {}),
        logger: o.logger,
      });
    }
    const { httpUrl, wsUrl } = await server.listen({
      host: o.host,
      httpPort: o.rpcPort,
      wsPort: o.wsPort ?? (o.rpcPort === 0 ? 0 : o.rpcPort + 1),
    });
    return {
      chain,
      httpUrl,
      wsUrl,
      seed,
      jupiter,
      rpcServer: server,
      async close() {
        await jupiter?.close();
        await server.close();
        chain.close();
      },
    };
  } catch (err) {
    await jupiter?.close().catch(() => undefined);
    await server.close().catch(() => undefined);
    chain.close();
    throw err;
  }
}
