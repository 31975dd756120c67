/**
 * The chain side of `npm run bench:backfill`, in its own process so the indexer's memory is measured alone:
 * a local chain with the staking model behind the JSON-RPC/websocket facade and Yellowstone gRPC, and N
 * UserStake accounts of one pool created with chain.setAccount (state shaping, not transactions). Prints one
 * JSON line when ready and runs until its stdin closes.
 *
 * Usage: node bench/backfill-chain.ts <accounts> <programId> <mint>
 */
import { createHash } from "node:crypto";
import { pino } from "pino";
import { PublicKey } from "@solana/web3.js";
import { createChain } from "../localnet/chain.ts";
import { createGeyserServer } from "../localnet/grpc/server.ts";
import { createRpcServer } from "../localnet/rpc/index.ts";
import { createStakingModel } from "../localnet/staking-model/index.ts";
import { encodeUserStake } from "../src/solana/accounts.ts";
import { stakePoolPda, USER_STAKE_SIZE } from "../src/solana/program.ts";

const [countArg, programId, mint] = process.argv.slice(2);
const count = Number(countArg);
if (!Number.isInteger(count) || count < 1 || !programId || !mint) {
  process.stderr.write("usage: node bench/backfill-chain.ts <accounts> <programId> <mint>\n");
  process.exit(2);
}

const chain = createChain({ slotMs: 400, models: [createStakingModel({ programId })] });
const server = createRpcServer({ chain, logger: pino({ level: "silent" }) });
const pool = stakePoolPda(programId, mint)[0].toBase58();

// One Anchor-encoded template; each account differs in owner (offset 8) and staked_amount (offset 72), the
// fixed-offset prefix of UserStake. The indexer decodes every account with Anchor's coder.
const template = encodeUserStake({
  owner: PublicKey.default.toBase58(),
  pool,
  stakedAmount: 0n,
  totalRewardsEarned: 0n,
  rewardsClaimed: 0n,
  stakeTimestamp: 1_700_000_000n,
  lastClaimTimestamp: 1_700_000_000n,
  tier: "Pro",
  rewardDebt: 0n,
  cooldownEnd: null,
  cooldownAmount: 0n,
  bump: 254,
});
if (template.length !== USER_STAKE_SIZE) throw new Error("template has the wrong size");
const lamports = chain.minimumBalanceForRentExemption(USER_STAKE_SIZE);
const started = Date.now();
for (let i = 0; i < count; i++) {
  // Deterministic, distinct keys (PDA derivation for a million owners would dominate the setup time).
  const digest = createHash("sha256").update(`bench-${i}`).digest();
  const owner = digest.subarray(0, 32);
  const address = createHash("sha256").update(digest).digest();
  const data = Buffer.from(template);
  owner.copy(data, 8);
  data.writeBigUInt64LE(BigInt(i % 2_000_000) * 1_000_000_000n + 100_000_000_000n, 72);
  chain.setAccount(new PublicKey(address).toBase58(), { lamports, data, owner: programId, executable: false, rentEpoch: 0n });
}
const { httpUrl, wsUrl } = await server.listen({ host: "127.0.0.1", httpPort: 0, wsPort: 0 });
// Started after the accounts exist: their creation is genesis state, not updates to hold for replay.
const grpc = createGeyserServer({ chain, logger: pino({ level: "silent" }) });
const { url: grpcUrl } = await grpc.listen("127.0.0.1", 0);
process.stdout.write(`${JSON.stringify({ httpUrl, wsUrl, grpcUrl, pool, accounts: count, setupMs: Date.now() - started })}\n`);

process.stdin.resume();
process.stdin.on("end", () => {
  void Promise.allSettled([grpc.close(), server.close()]).finally(() => {
    chain.close();
    process.exit(0);
  });
});
