/**
 * `kamiyo-stake pay`: an x402 client for trying the paid API, with the real @x402/fetch client and a wallet
 * keypair file (by default one of the local demo wallets). It sends its own address as the wallet hint, so
 * a staker is quoted, signs and pays its own discounted price.
 */
import { join } from "node:path";
import { createKeyPairSignerFromBytes } from "@solana/kit";
import { decodePaymentResponseHeader } from "@x402/core/http";
import { wrapFetchWithPayment, x402Client } from "@x402/fetch";
import { ExactSvmScheme } from "@x402/svm/exact/client";
import { formatUnits, parseUnits, USDC_DECIMALS } from "../../src/domain/units.ts";
import { KeypairFileError, readKeypairFile } from "../../src/solana/keypair-file.ts";
import { UsageError, type CommandModule } from "../command.ts";

type Network = Parameters<x402Client["register"]>[0];

export default {
  usage: `Usage: kamiyo-stake pay [--wallet NAME | --keypair FILE] [--path PATH] [--count N] [--no-hint] [--max USDC]

Calls a paid route of the API at PUBLIC_URL and pays with x402 (USDC, Solana exact scheme) from a wallet,
then prints the settlement and the answer (which says what was charged).

Options:
  --wallet NAME   a demo wallet from LOCALNET_STATE_DIR/wallets (silver, gold, platinum, small, cooldown,
                  nonstaker; default gold)
  --keypair FILE  a Solana keypair file (JSON array of 64 bytes) instead of a demo wallet
  --path PATH     the paid route (default the first of X402_ROUTES)
  --count N       how many paid requests to make (default 1, at most 1000)
  --no-hint       do not send the wallet's address as x-wallet-address (the quote is then the full price)
  --max USDC      refuse to pay more than this per request (default 1)
  -h, --help      show this help`,
  options: {
    wallet: { type: "string" },
    keypair: { type: "string" },
    path: { type: "string" },
    count: { type: "string" },
    "no-hint": { type: "boolean" },
    max: { type: "string" },
  },
  async run(args, ctx) {
    const config = ctx.config();
    const v = args.values;
    if (v.wallet !== undefined && v.keypair !== undefined) throw new UsageError("give --wallet or --keypair, not both");
    const file =
      typeof v.keypair === "string"
        ? v.keypair
        : join(config.localnet.stateDir, "wallets", `staker-${typeof v.wallet === "string" ? v.wallet : "gold"}.json`);
    const count = v.count === undefined ? 1 : Number(v.count);
    if (!Number.isInteger(count) || count < 1 || count > 1000) throw new UsageError("--count must be an integer in 1..1000");
    let max: bigint;
    try {
      max = parseUnits(typeof v.max === "string" ? v.max : "1", USDC_DECIMALS);
    } catch (err) {
      throw new UsageError(`--max ${(err as Error).message}`);
    }
    const path = typeof v.path === "string" ? v.path : (config.x402.routes[0]?.path ?? "/api/premium");
    if (!path.startsWith("/")) throw new UsageError("--path must start with /");

    let secret: Uint8Array;
    try {
      secret = readKeypairFile(file, "keypair");
    } catch (err) {
      if (!(err instanceof KeypairFileError)) throw err;
      throw new UsageError(err.problem === "missing" ? `${err.message} (run \`npm start\` or \`localnet --seed-demo\` first)` : err.message);
    }
    const signer = await createKeyPairSignerFromBytes(secret);
    const client = new x402Client();
    client.register(config.x402.network as Network, new ExactSvmScheme(signer, { rpcUrl: config.solana.rpcUrl }));
    // The stock spend controls: USDC at its canonical address (the local chain holds it there too), capped
    // per payment in dollars.
    client.setSpendControls({ maxAmountPerPayment: `$${formatUnits(max, USDC_DECIMALS)}` });
    const paying = wrapFetchWithPayment(fetch, client);
    const url = new URL(path, config.publicUrl).href;
    const headers: Record<string, string> = v["no-hint"] === true ? {} : { "x-wallet-address": signer.address };
    let failures = 0;
    for (let i = 0; i < count; i++) {
      const res = await paying(url, { headers });
      const body = await res.text();
      const receipt = res.headers.get("payment-response");
      const settled = receipt ? decodePaymentResponseHeader(receipt) : null;
      ctx.stdout.write(`${res.status} ${signer.address}${settled?.success ? ` settled ${settled.transaction}` : ""}\n${body}\n`);
      if (!res.ok) failures++;
    }
    return failures === 0 ? 0 : 1;
  },
} satisfies CommandModule;
