/**
 * jsonParsed accounts beyond the token programs, through web3.js and @solana/kit: sysvars, a nonce account, an
 * address lookup table, stake and vote accounts made by their programs, a Token-2022 mint with transferFeeConfig,
 * and config / upgradeable-loader accounts written in their programs' layouts.
 */
import { address, createSolanaRpc } from "@solana/kit";
import {
  createInitializeMint2Instruction,
  createInitializeTransferFeeConfigInstruction,
  ExtensionType,
  getMintLen,
  TOKEN_2022_PROGRAM_ID,
} from "@solana/spl-token";
import {
  AddressLookupTableProgram,
  Authorized,
  Keypair,
  LAMPORTS_PER_SOL,
  Lockup,
  NONCE_ACCOUNT_LENGTH,
  PublicKey,
  StakeProgram,
  SystemProgram,
  SYSVAR_CLOCK_PUBKEY,
  SYSVAR_RENT_PUBKEY,
  SYSVAR_SLOT_HASHES_PUBKEY,
  Transaction,
  VoteInit,
  VoteProgram,
  type ParsedAccountData,
  type TransactionInstruction,
} from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startHarness, type Harness } from "./rpc-harness.ts";
import { waitFor } from "../kit/wait-for.ts";

let h: Harness;
let payer: Keypair;

beforeAll(async () => {
  h = await startHarness({ slotMs: 20, confirmedLag: 1, finalizedLag: 4 });
  payer = Keypair.generate();
  h.chain.setAccount(payer.publicKey.toBase58(), { lamports: BigInt(1000 * LAMPORTS_PER_SOL) });
});
afterAll(async () => {
  await h.close();
});

async function send(ixs: TransactionInstruction[], signers: Keypair[] = []): Promise<string> {
  const latest = await h.connection.getLatestBlockhash();
  const tx = new Transaction({ feePayer: payer.publicKey, ...latest }).add(...ixs);
  const signature = await h.connection.sendTransaction(tx, [payer, ...signers]);
  const { value } = await h.connection.confirmTransaction({ signature, ...latest }, "confirmed");
  expect(value.err).toBeNull();
  return signature;
}

/** The jsonParsed instructions of a landed transaction, as {program, type, info}. */
async function parsedInstructions(signature: string) {
  const tx = await h.connection.getParsedTransaction(signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
  return tx!.transaction.message.instructions.map((ix) =>
    "parsed" in ix ? { program: ix.program, type: (ix.parsed as { type: string }).type, info: (ix.parsed as { info: Record<string, unknown> }).info } : null,
  );
}

async function parsed(key: PublicKey): Promise<ParsedAccountData> {
  const info = (await h.connection.getParsedAccountInfo(key, "confirmed")).value;
  expect(info).not.toBeNull();
  expect(Buffer.isBuffer(info!.data)).toBe(false); // parsed, not the base64 fallback
  return info!.data as ParsedAccountData;
}

describe("jsonParsed accounts", () => {
  it("parses the sysvars (kit and web3.js)", async () => {
    const rpc = createSolanaRpc(h.httpUrl);
    const clock = await rpc.getAccountInfo(address(SYSVAR_CLOCK_PUBKEY.toBase58()), { encoding: "jsonParsed", commitment: "processed" }).send();
    const data = clock.value!.data as unknown as { program: string; parsed: { type: string; info: { slot: bigint; unixTimestamp: bigint; epoch: bigint } } };
    expect(data.program).toBe("sysvar");
    expect(data.parsed.type).toBe("clock");
    expect(data.parsed.info.slot).toBe(clock.context.slot);
    expect(Number(data.parsed.info.unixTimestamp)).toBeGreaterThan(Date.now() / 1000 - 60);

    const rent = await parsed(SYSVAR_RENT_PUBKEY);
    expect(rent).toMatchObject({ program: "sysvar", parsed: { type: "rent", info: { burnPercent: expect.any(Number), exemptionThreshold: expect.any(Number) } } });
    expect(typeof rent.parsed.info.lamportsPerByteYear).toBe("string");

    // read at confirmed: the SlotHashes of the confirmed block, whose newest entry is that block's parent
    const { context, value } = await h.connection.getParsedAccountInfo(SYSVAR_SLOT_HASHES_PUBKEY, "confirmed");
    const slotHashes = value!.data as ParsedAccountData;
    expect(slotHashes.parsed.type).toBe("slotHashes");
    const entries = slotHashes.parsed.info as { slot: number; hash: string }[];
    expect(entries[0]!.slot).toBe(context.slot - 1);
    expect(entries[0]!.slot).toBeGreaterThan(entries[1]!.slot);
    const history = await h.connection.getParsedAccountInfo(new PublicKey("SysvarS1otHistory11111111111111111111111111"), "processed");
    const { nextSlot, bits } = (history.value!.data as ParsedAccountData).parsed.info as { nextSlot: number; bits: string };
    expect(nextSlot).toBe(history.context.slot + 1);
    expect(bits).toHaveLength(1024 * 1024);
    expect(bits[history.context.slot % (1024 * 1024)]).toBe("1");
    expect(bits[(history.context.slot + 1) % (1024 * 1024)]).toBe("0");

    const block = await h.connection.getBlock(entries[0]!.slot, { commitment: "confirmed", transactionDetails: "none", maxSupportedTransactionVersion: 0 });
    expect(entries[0]!.hash).toBe(block!.blockhash);
  });

  it("parses a nonce account and an address lookup table", async () => {
    const nonce = Keypair.generate();
    const rent = await h.connection.getMinimumBalanceForRentExemption(NONCE_ACCOUNT_LENGTH);
    await send(SystemProgram.createNonceAccount({ fromPubkey: payer.publicKey, noncePubkey: nonce.publicKey, authorizedPubkey: payer.publicKey, lamports: rent }).instructions, [nonce]);
    const stored = (await h.connection.getNonce(nonce.publicKey, "confirmed"))!;
    expect(await parsed(nonce.publicKey)).toEqual({
      program: "nonce",
      parsed: { type: "initialized", info: { authority: payer.publicKey.toBase58(), blockhash: stored.nonce, feeCalculator: { lamportsPerSignature: "5000" } } },
      space: NONCE_ACCOUNT_LENGTH,
    });

    const recentSlot = await h.connection.getSlot("finalized");
    const [create, table] = AddressLookupTableProgram.createLookupTable({ authority: payer.publicKey, payer: payer.publicKey, recentSlot });
    const members = [Keypair.generate().publicKey, Keypair.generate().publicKey];
    const tableSignature = await send([create, AddressLookupTableProgram.extendLookupTable({ lookupTable: table, authority: payer.publicKey, payer: payer.publicKey, addresses: members })]);
    const [createIx, extendIx] = await parsedInstructions(tableSignature);
    expect(createIx).toMatchObject({ program: "address-lookup-table", type: "createLookupTable", info: { lookupTableAccount: table.toBase58(), recentSlot } });
    expect(extendIx).toMatchObject({ program: "address-lookup-table", type: "extendLookupTable", info: { newAddresses: members.map((m) => m.toBase58()) } });
    const lookup = await parsed(table);
    expect(lookup.program).toBe("address-lookup-table");
    expect(lookup.parsed).toMatchObject({
      type: "lookupTable",
      info: {
        addresses: members.map((m) => m.toBase58()),
        authority: payer.publicKey.toBase58(),
        deactivationSlot: "18446744073709551615",
        lastExtendedSlotStartIndex: 0,
      },
    });
    expect(BigInt(lookup.parsed.info.lastExtendedSlot)).toBeGreaterThan(BigInt(recentSlot));
  });

  it("parses stake and vote accounts made by their programs", async () => {
    const stake = Keypair.generate();
    const staker = Keypair.generate().publicKey;
    const stakeRent = await h.connection.getMinimumBalanceForRentExemption(StakeProgram.space);
    const stakeSignature = await send(
      StakeProgram.createAccount({
        fromPubkey: payer.publicKey,
        stakePubkey: stake.publicKey,
        authorized: new Authorized(staker, payer.publicKey),
        lockup: new Lockup(0, 0, PublicKey.default),
        lamports: stakeRent + 2 * LAMPORTS_PER_SOL,
      }).instructions,
      [stake],
    );
    expect(await parsed(stake.publicKey)).toEqual({
      program: "stake",
      parsed: {
        type: "initialized",
        info: {
          meta: {
            rentExemptReserve: String(stakeRent),
            authorized: { staker: staker.toBase58(), withdrawer: payer.publicKey.toBase58() },
            lockup: { unixTimestamp: 0, epoch: 0, custodian: PublicKey.default.toBase58() },
          },
          stake: null,
        },
      },
      space: StakeProgram.space,
    });

    const [, initialize] = await parsedInstructions(stakeSignature);
    expect(initialize).toEqual({
      program: "stake",
      type: "initialize",
      info: {
        stakeAccount: stake.publicKey.toBase58(),
        rentSysvar: SYSVAR_RENT_PUBKEY.toBase58(),
        authorized: { staker: staker.toBase58(), withdrawer: payer.publicKey.toBase58() },
        lockup: { unixTimestamp: 0, epoch: 0, custodian: PublicKey.default.toBase58() },
      },
    });

    const vote = Keypair.generate();
    const node = Keypair.generate();
    const voteRent = await h.connection.getMinimumBalanceForRentExemption(VoteProgram.space);
    await send(
      VoteProgram.createAccount({
        fromPubkey: payer.publicKey,
        votePubkey: vote.publicKey,
        voteInit: new VoteInit(node.publicKey, payer.publicKey, payer.publicKey, 7),
        lamports: voteRent,
      }).instructions,
      [vote, node],
    );
    const voteAccount = await parsed(vote.publicKey);
    expect(voteAccount.program).toBe("vote");
    expect(voteAccount.parsed).toMatchObject({
      type: "vote",
      info: {
        nodePubkey: node.publicKey.toBase58(),
        authorizedWithdrawer: payer.publicKey.toBase58(),
        commission: 7,
        inflationRewardsCommissionBps: 700,
        pendingDelegatorRewards: "0",
        votes: [],
        rootSlot: null,
        authorizedVoters: [{ authorizedVoter: payer.publicKey.toBase58() }],
        priorVoters: [],
        epochCredits: [],
        lastTimestamp: { slot: 0, timestamp: 0 },
      },
    });
  });

  it("parses a Token-2022 mint's transferFeeConfig extension", async () => {
    const mint = Keypair.generate();
    const authority = Keypair.generate().publicKey;
    const space = getMintLen([ExtensionType.TransferFeeConfig]);
    await send(
      [
        SystemProgram.createAccount({
          fromPubkey: payer.publicKey,
          newAccountPubkey: mint.publicKey,
          space,
          lamports: await h.connection.getMinimumBalanceForRentExemption(space),
          programId: TOKEN_2022_PROGRAM_ID,
        }),
        createInitializeTransferFeeConfigInstruction(mint.publicKey, authority, null, 150, 5_000_000n, TOKEN_2022_PROGRAM_ID),
        createInitializeMint2Instruction(mint.publicKey, 6, payer.publicKey, null, TOKEN_2022_PROGRAM_ID),
      ],
      [mint],
    );
    const account = await parsed(mint.publicKey);
    expect(account.program).toBe("spl-token-2022");
    const epoch = (await h.connection.getEpochInfo("confirmed")).epoch;
    const fee = { epoch, maximumFee: 5_000_000, transferFeeBasisPoints: 150 };
    expect(account.parsed.info.extensions).toEqual([
      {
        extension: "transferFeeConfig",
        state: { transferFeeConfigAuthority: authority.toBase58(), withdrawWithheldAuthority: null, withheldAmount: 0, olderTransferFee: fee, newerTransferFee: fee },
      },
    ]);
  });

  it("parses config and upgradeable-loader accounts written in their layouts", async () => {
    const stakeConfig = new PublicKey("StakeConfig11111111111111111111111111111111");
    const configData = Buffer.alloc(10);
    configData[0] = 0; // no keys
    configData.writeDoubleLE(0.25, 1);
    configData[9] = 12;
    await h.call("surfnet_setAccount", [stakeConfig.toBase58(), { lamports: LAMPORTS_PER_SOL, data: configData.toString("hex"), owner: "Config1111111111111111111111111111111111111" }]);

    const programId = Keypair.generate().publicKey;
    const programData = PublicKey.findProgramAddressSync([programId.toBuffer()], new PublicKey("BPFLoaderUpgradeab1e11111111111111111111111"))[0];
    const programAccount = Buffer.alloc(36);
    programAccount.writeUInt32LE(2, 0);
    programData.toBuffer().copy(programAccount, 4);
    const dataAccount = Buffer.alloc(45 + 4);
    dataAccount.writeUInt32LE(3, 0);
    dataAccount.writeBigUInt64LE(42n, 4);
    dataAccount[12] = 1;
    payer.publicKey.toBuffer().copy(dataAccount, 13);
    dataAccount.set([1, 2, 3, 4], 45);
    const loader = "BPFLoaderUpgradeab1e11111111111111111111111";
    await h.call("surfnet_setAccount", [programId.toBase58(), { lamports: LAMPORTS_PER_SOL, data: programAccount.toString("hex"), owner: loader, executable: true }]);
    await h.call("surfnet_setAccount", [programData.toBase58(), { lamports: LAMPORTS_PER_SOL, data: dataAccount.toString("hex"), owner: loader }]);

    await waitFor("cheatcode writes visible", async () => (await h.connection.getAccountInfo(programData, "confirmed")) !== null, { timeoutMs: 3000 });
    expect((await parsed(stakeConfig)).parsed).toEqual({ type: "stakeConfig", info: { warmupCooldownRate: 0.25, slashPenalty: 12 } });
    expect(await parsed(programId)).toEqual({ program: "bpf-upgradeable-loader", parsed: { type: "program", info: { programData: programData.toBase58() } }, space: 36 });
    expect((await parsed(programData)).parsed).toEqual({
      type: "programData",
      info: { slot: 42, authority: payer.publicKey.toBase58(), data: [Buffer.from([1, 2, 3, 4]).toString("base64"), "base64"] },
    });
  });
});
