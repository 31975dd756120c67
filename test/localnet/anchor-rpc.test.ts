/**
 * The staking program on the local chain, driven only through public clients over JSON-RPC:
 * an Anchor Program built from the shipped IDL, with AnchorProvider on a web3.js Connection.
 */
import { AnchorError, AnchorProvider, Program, Wallet } from "@coral-xyz/anchor";
import { getAccount, getAssociatedTokenAddressSync, TOKEN_2022_PROGRAM_ID } from "@solana/spl-token";
import { Connection, Keypair, LAMPORTS_PER_SOL, PublicKey } from "@solana/web3.js";
import BN from "bn.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeStakePool, decodeUserStake } from "../../src/solana/accounts.ts";
import { stakingAddresses } from "../../src/solana/instructions.ts";
import { stakingIdl, TOKEN_2022_PROGRAM_ID as T22, userStakePda } from "../../src/solana/program.ts";
import { demoKeypair } from "../../localnet/demo-keys.ts";
import { startTestLocalnet, type TestLocalnet } from "../kit/localnet.ts";

const KAMIYO = 10n ** 9n;
let net: TestLocalnet;
let connection: Connection;

async function rpc(method: string, params: unknown[]): Promise<any> {
  const res = await fetch(net.httpUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(body.error.message);
  return body.result;
}

function programFor(signer: Keypair) {
  const provider = new AnchorProvider(connection, new Wallet(signer), { commitment: "confirmed" });
  return new Program(stakingIdl(net.seed!.programId), provider);
}

async function anchorCode(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (err) {
    const parsed = err instanceof AnchorError ? err : AnchorError.parse((err as { logs?: string[] }).logs ?? []);
    if (parsed) return parsed.error.errorCode.number;
    throw err;
  }
  throw new Error("expected the instruction to fail");
}

async function newStaker(kamiyo: bigint): Promise<{ user: Keypair; tokenAccount: PublicKey }> {
  const user = Keypair.generate();
  await connection.confirmTransaction(await connection.requestAirdrop(user.publicKey, 2 * LAMPORTS_PER_SOL), "confirmed");
  await rpc("surfnet_setTokenAccount", [user.publicKey.toBase58(), net.seed!.kamiyoMint, { amount: Number(kamiyo) }, T22.toBase58()]);
  return { user, tokenAccount: getAssociatedTokenAddressSync(new PublicKey(net.seed!.kamiyoMint), user.publicKey, true, TOKEN_2022_PROGRAM_ID) };
}

beforeAll(async () => {
  net = await startTestLocalnet();
  connection = new Connection(net.httpUrl, { commitment: "confirmed", wsEndpoint: net.wsUrl });
});
afterAll(async () => {
  (connection as unknown as { _rpcWebSocket?: { close(): void } })._rpcWebSocket?.close();
  await net.close();
});

describe("staking program over JSON-RPC with Anchor", () => {
  it("stakes, refuses a second stake during cooldown, refuses early withdraw, then withdraws", async () => {
    const { user, tokenAccount } = await newStaker(300_000n * KAMIYO);
    const program = programFor(user);
    const a = stakingAddresses(net.seed!.programId, net.seed!.kamiyoMint);
    const accounts = {
      user: user.publicKey,
      stakePool: a.pool,
      userStake: userStakePda(a.programId, a.pool, user.publicKey)[0],
      userTokenAccount: tokenAccount,
      stakeVault: a.stakeVault,
      mint: a.mint,
      tokenProgram: T22,
    };
    await program.methods.stake!(new BN((200_000n * KAMIYO).toString())).accountsPartial(accounts).rpc();
    let info = await connection.getAccountInfo(accounts.userStake);
    let stake = decodeUserStake(info!.data);
    expect(stake.stakedAmount).toBe(200_000n * KAMIYO);
    expect(stake.owner).toBe(user.publicKey.toBase58());
    expect((await getAccount(connection, tokenAccount, "confirmed", TOKEN_2022_PROGRAM_ID)).amount).toBe(100_000n * KAMIYO);

    await program.methods.unstake!(new BN((50_000n * KAMIYO).toString()))
      .accountsPartial({ user: user.publicKey, stakePool: a.pool, userStake: accounts.userStake })
      .rpc();
    stake = decodeUserStake((await connection.getAccountInfo(accounts.userStake))!.data);
    expect(stake.cooldownAmount).toBe(50_000n * KAMIYO);
    expect(stake.cooldownEnd).not.toBeNull();

    expect(await anchorCode(program.methods.stake!(new BN((1_000n * KAMIYO).toString())).accountsPartial(accounts).rpc())).toBe(6013);
    const { stakeVault, userTokenAccount, mint, tokenProgram, stakePool, userStake } = accounts;
    const withdrawAccounts = { user: user.publicKey, stakePool, userStake, userTokenAccount, stakeVault, mint, tokenProgram };
    expect(await anchorCode(program.methods.withdraw!().accountsPartial(withdrawAccounts).rpc())).toBe(6005);

    await rpc("surfnet_timeTravel", [{ absoluteTimestamp: Number(stake.cooldownEnd! + 60n) * 1000 }]);
    await program.methods.withdraw!().accountsPartial(withdrawAccounts).rpc();
    info = await connection.getAccountInfo(accounts.userStake);
    stake = decodeUserStake(info!.data);
    expect(stake.stakedAmount).toBe(150_000n * KAMIYO);
    expect(stake.cooldownEnd).toBeNull();
    expect((await getAccount(connection, tokenAccount, "confirmed", TOKEN_2022_PROGRAM_ID)).amount).toBe(150_000n * KAMIYO);
  });

  it("funds the pool as admin and refuses fund_pool from anyone else", async () => {
    const admin = demoKeypair("admin");
    const a = stakingAddresses(net.seed!.programId, net.seed!.kamiyoMint);
    const adminToken = getAssociatedTokenAddressSync(a.mint, admin.publicKey, true, TOKEN_2022_PROGRAM_ID);
    await rpc("surfnet_setTokenAccount", [admin.publicKey.toBase58(), a.mint.toBase58(), { amount: Number(5_000n * KAMIYO) }, T22.toBase58()]);
    const before = (await getAccount(connection, a.rewardVault, "confirmed", TOKEN_2022_PROGRAM_ID)).amount;
    const fundAccounts = (who: PublicKey, token: PublicKey) => ({
      admin: who,
      stakePool: a.pool,
      adminTokenAccount: token,
      rewardVault: a.rewardVault,
      mint: a.mint,
      tokenProgram: T22,
    });
    await programFor(admin).methods.fundPool!(new BN((1_234n * KAMIYO).toString())).accountsPartial(fundAccounts(admin.publicKey, adminToken)).rpc();
    expect((await getAccount(connection, a.rewardVault, "confirmed", TOKEN_2022_PROGRAM_ID)).amount).toBe(before + 1_234n * KAMIYO);

    const { user, tokenAccount } = await newStaker(5_000n * KAMIYO);
    const code = await anchorCode(
      programFor(user).methods.fundPool!(new BN((1n * KAMIYO).toString())).accountsPartial(fundAccounts(user.publicKey, tokenAccount)).rpc(),
    );
    expect(code).toBe(6007);
    expect((await getAccount(connection, a.rewardVault, "confirmed", TOKEN_2022_PROGRAM_ID)).amount).toBe(before + 1_234n * KAMIYO);
  });

  it("shows the seeded pool and every demo staker through getProgramAccounts filters", async () => {
    const a = stakingAddresses(net.seed!.programId, net.seed!.kamiyoMint);
    const pool = decodeStakePool((await connection.getAccountInfo(a.pool))!.data);
    expect(pool.admin).toBe(demoKeypair("admin").publicKey.toBase58());
    const stakes = await connection.getProgramAccounts(a.programId, {
      filters: [
        { dataSize: 147 },
        { memcmp: { offset: 40, bytes: a.pool.toBase58() } },
      ],
    });
    const owners = new Map(stakes.map((s) => [decodeUserStake(s.account.data).owner, decodeUserStake(s.account.data)]));
    for (const w of net.seed!.wallets.filter((w) => w.staked > 0n)) {
      const s = owners.get(w.address);
      expect(s?.stakedAmount).toBe(w.staked);
      expect(s?.cooldownAmount).toBe(w.cooldown);
    }
  });
});
