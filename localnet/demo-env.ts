/**
 * What the local chain supplies for unset configuration on localnet: its mints (USDC at devnet's canonical
 * address), the demo payTo, the demo keypair files and its own endpoints. Passed to `loadConfig` as
 * `localnetDefaults`; ignored on other clusters, where each of these must come from the operator.
 */
import { join } from "node:path";
import { loadConfig, USDC_MINT_BY_CLUSTER, type Config } from "../src/config.ts";
import { DEMO_ADDRESSES } from "./demo-addresses.ts";

const DEFAULT_RPC_PORT = 8899;
const DEFAULT_JUPITER_PORT = 8902;

/** `env` is read only for the RPC host and port the endpoint defaults follow. */
export function localnetEnvDefaults(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const host = env.LOCALNET_HOST || "127.0.0.1";
  const rpcPort = Number(env.LOCALNET_RPC_PORT || DEFAULT_RPC_PORT);
  // A bad LOCALNET_RPC_PORT is reported by the config module; the defaults then need not be right.
  const port = Number.isInteger(rpcPort) ? rpcPort : DEFAULT_RPC_PORT;
  const wallets = join(env.LOCALNET_STATE_DIR || ".localnet", "wallets");
  return {
    KAMIYO_MINT: DEMO_ADDRESSES.kamiyoMint,
    // The demo seed writes its USDC mint at devnet's address, so stock x402 clients pay it unconfigured.
    USDC_MINT: USDC_MINT_BY_CLUSTER.devnet,
    X402_PAY_TO: DEMO_ADDRESSES.payTo,
    SOLANA_RPC_URL: `http://${host}:${port}`,
    SOLANA_WS_URL: `ws://${host}:${port + 1}`,
    JUPITER_API_URL: `http://127.0.0.1:${DEFAULT_JUPITER_PORT}`,
    X402_FACILITATOR_KEYPAIR: join(wallets, "facilitator.json"),
    ADMIN_KEYPAIR_PATH: join(wallets, "admin.json"),
  };
}

/** The configuration for a process that talks to the local chain (tests, benchmarks, demo commands). */
export function loadLocalnetConfig(env: Record<string, string | undefined>): Config {
  return loadConfig(env, { localnetDefaults: localnetEnvDefaults });
}
