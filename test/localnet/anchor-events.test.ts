/** Anchor's addEventListener over logsSubscribe: the staking model's FundPoolEvent reaches the listener. */
import { AnchorProvider, Program, Wallet } from "@coral-xyz/anchor";
import { getAssociatedTokenAddressSync, TOKEN_2022_PROGRAM_ID } from "@solana/spl-token";
import { Connection } from "@solana/web3.js";
import BN from "bn.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoKeypair } from "../../localnet/demo-keys.ts";
import { stakingAddresses } from "../../src/solana/instructions.ts";
import { stakingIdl } from "../../src/solana/program.ts";
import { startTestLocalnet, type SeededTestLocalnet } from "../kit/localnet.ts";
import { waitFor } from "../kit/wait-for.ts";

const KAMIYO = 10n ** 9n;
let net: SeededTestLocalnet;
let connection: Connection;

beforeAll(async () => {
  net = await startTestLocalnet();
  connection = new Connection(net.httpUrl, { commitment: "confirmed", wsEndpoint: net.wsUrl });
});
afterAll(async () => {
  (connection as unknown as { _rpcWebSocket?: { close(): void } })._rpcWebSocket?.close();
  await net.close();
});

describe("Anchor events over logsSubscribe", () => {
  it("delivers FundPoolEvent to program.addEventListener at confirmed", async () => {
    const admin = demoKeypair("admin");
    const program = new Program(stakingIdl(net.seed.programId), new AnchorProvider(connection, new Wallet(admin), { commitment: "confirmed" }));
    const a = stakingAddresses(net.seed.programId, net.seed.kamiyoMint);
    const adminToken = getAssociatedTokenAddressSync(a.mint, admin.publicKey, true, TOKEN_2022_PROGRAM_ID);
    await net.call("surfnet_setTokenAccount", [admin.publicKey.toBase58(), a.mint.toBase58(), { amount: Number(10n * KAMIYO) }, TOKEN_2022_PROGRAM_ID.toBase58()]);

    const events: { event: Record<string, unknown>; slot: number; signature: string }[] = [];
    const before = net.rpcServer.subscriptionCount();
    const listener = program.addEventListener("fundPoolEvent", (event, slot, signature) => events.push({ event, slot, signature }));
    await waitFor("logsSubscribe", () => net.rpcServer.subscriptionCount() > before, { timeoutMs: 5000 });

    const signature = await program.methods.fundPool!(new BN((7n * KAMIYO).toString()))
      .accountsPartial({ admin: admin.publicKey, stakePool: a.pool, adminTokenAccount: adminToken, rewardVault: a.rewardVault, mint: a.mint, tokenProgram: TOKEN_2022_PROGRAM_ID })
      .rpc();
    await waitFor("FundPoolEvent", () => events.length === 1, { timeoutMs: 5000 });
    expect(events[0]!.signature).toBe(signature);
    expect((await connection.getSignatureStatuses([signature])).value[0]?.slot).toBe(events[0]!.slot);
    const amount = events[0]!.event.amount as BN;
    expect(amount.toString()).toBe((7n * KAMIYO).toString());
    await program.removeEventListener(listener);
  });
});
