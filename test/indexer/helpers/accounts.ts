/** Building UserStake accounts and reads for tests, encoded by Anchor's coder as the program writes them. */
import { loadLocalnetConfig } from "../../../localnet/demo-env.ts";
import { Keypair } from "@solana/web3.js";
import { type Config } from "../../../src/config.ts";
import { poolTarget, type PoolTarget } from "../../../indexer/stake-accounts.ts";
import type { RawAccount } from "../../../indexer/rpc-client.ts";
import type { SourcedRead } from "../../../indexer/write-path.ts";

export const KAMIYO = 10n ** 9n;

export function testConfig(env: Record<string, string> = {}): Config {
  return loadLocalnetConfig({ LOG_LEVEL: "silent", ...env });
}

export function testTarget(config: Config = testConfig()): PoolTarget {
  return poolTarget(config);
}

export { userStakeAccount, type UserStakeFields as StakeFields } from "../../kit/stakes.ts";

export function read(address: string, slot: bigint, account: RawAccount | null, signature?: string): SourcedRead {
  return { address, slot, account, commitment: "confirmed", signature: signature ?? null };
}

export const randomAddress = () => Keypair.generate().publicKey.toBase58();
