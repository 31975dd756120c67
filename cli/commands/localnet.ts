/** `kamiyo-stake localnet [--seed-demo]`: the local chain in the foreground until SIGINT/SIGTERM. */
import { formatUnits, KAMIYO_DECIMALS, parseUnits, USDC_DECIMALS } from "../../src/domain/units.ts";
import { startLocalnet } from "../../localnet/server.ts";
import { UsageError, type CommandModule } from "../command.ts";
import { untilAborted } from "../services.ts";

export default {
  usage: `Usage: kamiyo-stake localnet [--seed-demo] [--port N] [--slot-ms N] [--jupiter [--kamiyo-price USDC]]

Runs a local Solana chain (LiteSVM) behind Solana JSON-RPC over HTTP and websockets, presenting itself
as devnet, with a model of the KAMIYO staking program at STAKING_PROGRAM_ID.

Options:
  --seed-demo   create the KAMIYO and USDC mints, the pool and stakers in every tier (keypairs are
                written to LOCALNET_STATE_DIR/wallets)
  --port N      JSON-RPC HTTP port (default LOCALNET_RPC_PORT, 8899); websockets listen on N+1
  --grpc-port N Yellowstone gRPC port (default LOCALNET_GRPC_PORT, 10000)
  --slot-ms N   milliseconds per slot (default LOCALNET_SLOT_MS, 400)
  --jupiter     with --seed-demo: serve a Jupiter Swap API v1 double at JUPITER_API_URL's port that swaps
                USDC and KAMIYO with the demo liquidity wallet
  --kamiyo-price USDC  the double's price of one KAMIYO (default 0.01)
  -h, --help    show this help`,
  options: {
    "seed-demo": { type: "boolean" },
    port: { type: "string" },
    "grpc-port": { type: "string" },
    "slot-ms": { type: "string" },
    jupiter: { type: "boolean" },
    "kamiyo-price": { type: "string" },
  },
  async run(args, ctx) {
    const config = ctx.config();
    const int = (name: string, fallback: number, min: number, max: number) => {
      const raw = args.values[name];
      if (raw === undefined) return fallback;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer in ${min}..${max}`);
      return n;
    };
    const logger = ctx.logger("localnet");
    let jupiter: { port: number; priceMicroUsdcPerKamiyo: bigint; apiKey?: string } | undefined;
    if (args.values.jupiter === true) {
      if (args.values["seed-demo"] !== true) throw new UsageError("--jupiter needs --seed-demo");
      let price: bigint;
      try {
        price = parseUnits(String(args.values["kamiyo-price"] ?? "0.01"), USDC_DECIMALS);
      } catch (err) {
        throw new UsageError(`--kamiyo-price ${(err as Error).message}`);
      }
      if (price <= 0n) throw new UsageError("--kamiyo-price must be positive");
      const url = new URL(config.jobs.jupiterApiUrl ?? "http://127.0.0.1:8902");
      jupiter = {
        port: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
        priceMicroUsdcPerKamiyo: price,
        ...(config.jobs.jupiterApiKey ? { apiKey: config.jobs.jupiterApiKey } : {}),
      };
    } else if (args.values["kamiyo-price"] !== undefined) throw new UsageError("--kamiyo-price needs --jupiter");
    const net = await startLocalnet({
      host: config.localnet.host,
      rpcPort: int("port", config.localnet.rpcPort, 0, 65534),
      grpcPort: int("grpc-port", config.localnet.grpcPort, 0, 65535),
      slotMs: int("slot-ms", config.localnet.slotMs, 1, 10_000),
      programId: config.solana.programId,
      seedDemo: args.values["seed-demo"] === true,
      stateDir: config.localnet.stateDir,
      webhook: { urls: config.localnet.webhookUrls, authHeader: config.helius.webhookAuth },
      ...(jupiter ? { jupiter } : {}),
      logger,
    });
    ctx.stdout.write(`local chain (devnet-compatible) at ${net.httpUrl} (websocket ${net.wsUrl}, Yellowstone gRPC ${net.grpcUrl})\n`);
    ctx.stdout.write(`staking program ${config.solana.programId}\n`);
    if (net.jupiter) ctx.stdout.write(`Jupiter double at ${net.jupiter.url}/swap/v1\n`);
    if (net.seed) {
      const s = net.seed;
      ctx.stdout.write(`KAMIYO mint ${s.kamiyoMint} (Token-2022, 9 decimals)\nUSDC mint   ${s.usdcMint} (6 decimals)\n`);
      ctx.stdout.write(`pool ${s.pool} (admin ${s.admin})\nx402 payTo ${s.payTo}\n\ndemo wallets (keypairs in ${s.walletsDir}):\n`);
      for (const w of s.wallets) {
        const cooldown = w.cooldown > 0n ? `, ${formatUnits(w.cooldown, KAMIYO_DECIMALS)} in cooldown` : "";
        ctx.stdout.write(`  ${w.name.padEnd(10)} ${w.address}  staked ${formatUnits(w.staked, KAMIYO_DECIMALS)} KAMIYO${cooldown}\n`);
      }
    }
    // A SIGTERM during startup has already fired its abort event.
    await untilAborted(ctx.signal);
    await net.close();
  },
} satisfies CommandModule;
