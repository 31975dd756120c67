/** A local chain (chain core + staking model + JSON-RPC/ws) on ephemeral ports, with the demo seed, for tests. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { STAKING_PROGRAM_PLACEHOLDER_ID } from "../../src/config.ts";
import { startLocalnet, type Localnet, type LocalnetOptions } from "../../localnet/server.ts";

export interface TestLocalnet extends Localnet {
  stateDir: string;
}

export async function startTestLocalnet(overrides: Partial<LocalnetOptions> = {}): Promise<TestLocalnet> {
  const stateDir = await mkdtemp(join(tmpdir(), "kamiyo-localnet-"));
  const net = await startLocalnet({
    host: "127.0.0.1",
    rpcPort: 0,
    slotMs: 50,
    programId: STAKING_PROGRAM_PLACEHOLDER_ID,
    seedDemo: true,
    stateDir,
    logger: pino({ level: "silent" }),
    ...overrides,
  });
  return {
    ...net,
    stateDir,
    async close() {
      await net.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}
