/** Assembles the local chain: chain core + staking program model + JSON-RPC/websocket facade (+ demo seed). */
import type { Logger } from "../log.ts";
import { createChain, type Chain } from "./chain.ts";
import { createRpcServer } from "./rpc/index.ts";
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
  programId: string;
  seedDemo: boolean;
  stateDir: string;
  webhook?: { urls: string[]; authHeader: string };
  logger: Logger;
}

export interface Localnet {
  chain: Chain;
  httpUrl: string;
  wsUrl: string;
  seed: DemoSeed | null;
  close(): Promise<void>;
}

export async function startLocalnet(o: LocalnetOptions): Promise<Localnet> {
  const chain = createChain({
    slotMs: o.slotMs,
    models: [createStakingModel({ programId: o.programId })],
    ...(o.blockhashValidity ? { blockhashValidity: o.blockhashValidity } : {}),
  });
  const server = createRpcServer({
    chain,
    logger: o.logger,
    ...(o.webhook && o.webhook.urls.length > 0
      ? { webhook: { urls: o.webhook.urls, authHeader: o.webhook.authHeader, programId: o.programId } }
      : {}),
  });
  try {
    const seed = o.seedDemo ? await seedDemo(chain, { programId: o.programId, stateDir: o.stateDir }) : null;
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
      async close() {
        await server.close();
        chain.close();
      },
    };
  } catch (err) {
    await server.close().catch(() => undefined);
    chain.close();
    throw err;
  }
}
