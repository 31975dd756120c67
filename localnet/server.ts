/** Assembles the local chain: chain core + staking program model + JSON-RPC/websocket facade (+ demo seed). */
import { PublicKey, type Keypair } from "@solana/web3.js";
import type { Logger } from "../src/log.ts";
import { createChain, type Chain } from "./chain.ts";
import { demoKeypair } from "./demo-keys.ts";
import { createGeyserServer, type GeyserServer } from "./grpc/server.ts";
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
  /** The operator's pool admin and payTo for the demo seed (see SeedDemoOptions); default the demo wallets. */
  seedAdmin?: Keypair;
  seedPayTo?: string;
  stateDir: string;
  /** Yellowstone gRPC (geyser.Geyser) on this port (0: a free one); absent: no gRPC server. */
  grpcPort?: number;
  /** Slots of updates the gRPC server holds for fromSlot replay (default 3,000). */
  grpcReplaySlots?: number;
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
  /** The Yellowstone gRPC endpoint, when grpcPort was given. */
  grpcUrl: string | null;
  grpc: GeyserServer | null;
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
  let grpc: GeyserServer | null = null;
  try {
    const seed = o.seedDemo ? await seedDemo(chain, {
          programId: o.programId,
          stateDir: o.stateDir,
          ...(o.seedAdmin ? { admin: o.seedAdmin } : {}),
          ...(o.seedPayTo ? { payTo: new PublicKey(o.seedPayTo) } : {}),
        }) : null;
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
    let grpcUrl: string | null = null;
    if (o.grpcPort !== undefined) {
      grpc = createGeyserServer({ chain, logger: o.logger, ...(o.grpcReplaySlots !== undefined ? { replaySlots: o.grpcReplaySlots } : {}) });
      grpcUrl = (await grpc.listen(o.host, o.grpcPort)).url;
    }
    return {
      chain,
      httpUrl,
      wsUrl,
      grpcUrl,
      grpc,
      seed,
      jupiter,
      rpcServer: server,
      async close() {
        await jupiter?.close();
        await grpc?.close();
        await server.close();
        chain.close();
      },
    };
  } catch (err) {
    await jupiter?.close().catch(() => undefined);
    await grpc?.close().catch(() => undefined);
    await server.close().catch(() => undefined);
    chain.close();
    throw err;
  }
}
