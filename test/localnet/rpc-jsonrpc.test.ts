/** JSON-RPC envelopes, error shapes, limits, exact u64 output and the surfnet_* cheatcodes, over raw HTTP. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Keypair, LAMPORTS_PER_SOL, PublicKey, SystemProgram, Transaction } from "@solana/web3.js";
import { getAssociatedTokenAddressSync, TOKEN_2022_PROGRAM_ID } from "@solana/spl-token";
import { startHarness, type Harness } from "./rpc-harness.ts";

const key = () => Keypair.generate().publicKey.toBase58();

describe("JSON-RPC envelope and errors", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it("echoes string and number ids", async () => {
    const a = await h.rpc({ jsonrpc: "2.0", id: "abc-1", method: "getHealth" });
    expect(a.json).toEqual({ jsonrpc: "2.0", result: "ok", id: "abc-1" });
    const b = await h.rpc({ jsonrpc: "2.0", id: 42, method: "getSlot" });
    expect(b.json).toEqual({ jsonrpc: "2.0", result: Number(h.chain.slot()), id: 42 });
  });

  it("answers parse errors, invalid requests and unknown methods with the standard codes", async () => {
    const parse = await h.rpc("{not json");
    expect(parse.json).toEqual({ jsonrpc: "2.0", error: { code: -32700, message: "Parse error" }, id: null });
    const noMethod = await h.rpc({ jsonrpc: "2.0", id: 1 });
    expect(noMethod.json).toEqual({ jsonrpc: "2.0", error: { code: -32600, message: "Invalid request" }, id: 1 });
    const wrongVersion = await h.rpc({ jsonrpc: "1.0", id: 2, method: "getSlot" });
    expect(wrongVersion.json.error.code).toBe(-32600);
    const empty = await h.rpc([]);
    expect(empty.json).toEqual({ jsonrpc: "2.0", error: { code: -32600, message: "Invalid request" }, id: null });
    const unknown = await h.rpc({ jsonrpc: "2.0", id: 3, method: "getFooBar" });
    expect(unknown.json).toEqual({ jsonrpc: "2.0", error: { code: -32601, message: "Method not found" }, id: 3 });
  });

  it("answers invalid params with -32602 and a message that says what is wrong", async () => {
    const badKey = await h.rpc({ jsonrpc: "2.0", id: 1, method: "getBalance", params: ["xyz0"] });
    expect(badKey.json.error.code).toBe(-32602);
    expect(badKey.json.error.message).toMatch(/^Invalid param: Invalid/);
    const shortKey = await h.rpc({ jsonrpc: "2.0", id: 1, method: "getBalance", params: ["abc"] });
    expect(shortKey.json.error.message).toMatch(/^Invalid param: WrongSize/);
    const missing = await h.rpc({ jsonrpc: "2.0", id: 1, method: "getBalance", params: [] });
    expect(missing.json.error).toEqual({ code: -32602, message: "Invalid params: invalid length 0, expected 1 to 2 parameters" });
    const commitment = await h.rpc({ jsonrpc: "2.0", id: 1, method: "getSlot", params: [{ commitment: "sure" }] });
    expect(commitment.json.error.message).toMatch(/commitment: unknown variant string "sure"/);
    const encoding = await h.rpc({ jsonrpc: "2.0", id: 1, method: "getAccountInfo", params: [key(), { encoding: "hex" }] });
    expect(encoding.json.error.code).toBe(-32602);
    const objectParams = await h.rpc({ jsonrpc: "2.0", id: 1, method: "getSlot", params: { commitment: "confirmed" } });
    expect(objectParams.json.error.code).toBe(-32602);
  });

  it("runs batches in order, skipping notifications", async () => {
    const owner = key();
    h.chain.setAccount(owner, { lamports: 123n });
    const { json } = await h.rpc([
      { jsonrpc: "2.0", id: 1, method: "getBalance", params: [owner] },
      { jsonrpc: "2.0", method: "getSlot" },
      { jsonrpc: "2.0", id: "two", method: "nope" },
      { jsonrpc: "2.0", id: 3, method: "getProgramAccounts", params: [SystemProgram.programId.toBase58(), { dataSlice: { offset: 0, length: 0 }, filters: [{ memcmp: { offset: 0, bytes: "zzz" } }] }] },
      5,
    ]);
    expect(json).toHaveLength(4);
    expect(json[0]).toEqual({ jsonrpc: "2.0", result: { context: { slot: Number(h.chain.slot()), apiVersion: "2.3.0" }, value: 123 }, id: 1 });
    expect(json[1]).toEqual({ jsonrpc: "2.0", error: { code: -32601, message: "Method not found" }, id: "two" });
    expect(json[2]).toEqual({ jsonrpc: "2.0", result: [], id: 3 });
    expect(json[3]).toEqual({ jsonrpc: "2.0", error: { code: -32600, message: "Invalid request" }, id: null });
    const onlyNotifications = await h.rpc([{ jsonrpc: "2.0", method: "getSlot" }]);
    expect(onlyNotifications.text).toBe("");
  });

  it("enforces getMultipleAccounts and getProgramAccounts limits", async () => {
    const many = Array.from({ length: 101 }, key);
    const tooMany = await h.rpc({ jsonrpc: "2.0", id: 1, method: "getMultipleAccounts", params: [many] });
    expect(tooMany.json.error).toEqual({ code: -32602, message: "Too many inputs provided; max 100" });
    const hundred = await h.rpc({ jsonrpc: "2.0", id: 1, method: "getMultipleAccounts", params: [many.slice(0, 100)] });
    expect(hundred.json.result.value).toHaveLength(100);

    const program = SystemProgram.programId.toBase58();
    const five = Array.from({ length: 5 }, () => ({ dataSize: 1 }));
    const filters = await h.rpc({ jsonrpc: "2.0", id: 1, method: "getProgramAccounts", params: [program, { filters: five }] });
    expect(filters.json.error).toEqual({ code: -32602, message: "Too many filters provided; max 4" });
    const big = Buffer.alloc(129, 1).toString("base64");
    const tooLarge = await h.rpc({
      jsonrpc: "2.0",
      id: 1,
      method: "getProgramAccounts",
      params: [program, { filters: [{ memcmp: { offset: 0, bytes: big, encoding: "base64" } }] }],
    });
    expect(tooLarge.json.error).toEqual({ code: -32602, message: "Invalid param: DataTooLarge" });
  });

  it("matches memcmp bytes given in base64 as well as base58", async () => {
    const program = key();
    const wanted = key();
    h.chain.setAccount(wanted, { lamports: 1_000_000n, owner: program, data: Uint8Array.from([9, 8, 7, 6, 5]) });
    h.chain.setAccount(key(), { lamports: 1_000_000n, owner: program, data: Uint8Array.from([9, 8, 0, 6, 5]) });
    const base64 = await h.call("getProgramAccounts", [
      program,
      { encoding: "base64", filters: [{ memcmp: { offset: 1, bytes: Buffer.from([8, 7]).toString("base64"), encoding: "base64" } }] },
    ]);
    expect(base64).toEqual([
      { pubkey: wanted, account: { data: ["CQgHBgU=", "base64"], executable: false, lamports: 1_000_000, owner: program, rentEpoch: 0, space: 5 } },
    ]);
    const base58 = await h.call("getProgramAccounts", [program, { encoding: "base58", filters: [{ memcmp: { offset: 2, bytes: "8" } }] }]);
    expect(base58.map((a: { pubkey: string }) => a.pubkey)).toEqual([wanted]);
    expect(base58[0].account.data).toEqual(["226gjNL", "base58"]);
    const noMatch = await h.call("getProgramAccounts", [program, { filters: [{ memcmp: { offset: 4, bytes: "226gjNL" } }], withContext: true }]);
    expect(noMatch).toEqual({ context: { slot: Number(h.chain.slot()), apiVersion: "2.3.0" }, value: [] });
  });

  it("refuses base58 encoding of more than 128 bytes, as the validator does", async () => {
    const pubkey = key();
    h.chain.setAccount(pubkey, { lamports: 10_000_000n, data: new Uint8Array(200) });
    const { json } = await h.rpc({ jsonrpc: "2.0", id: 1, method: "getAccountInfo", params: [pubkey, { encoding: "base58" }] });
    expect(json.error).toEqual({
      code: -32600,
      message: "Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding.",
    });
    const sliced = await h.rpc({
      jsonrpc: "2.0",
      id: 1,
      method: "getAccountInfo",
      params: [pubkey, { encoding: "base58", dataSlice: { offset: 0, length: 4 } }],
    });
    expect(sliced.json.result.value.data).toEqual(["1111", "base58"]);
    expect(sliced.json.result.value.space).toBe(200);
  });

  it("writes u64 values as exact JSON number literals", async () => {
    const pubkey = key();
    const lamports = 2n ** 63n + 12_345n;
    await h.call("surfnet_setAccount", [pubkey, { lamports: 0 }]);
    // the request carries the big literal itself; JSON.stringify cannot, so the body is written by hand
    const body = `{"jsonrpc":"2.0","id":1,"method":"surfnet_setAccount","params":["${pubkey}",{"lamports":${lamports},"rentEpoch":18446744073709551615}]}`;
    const set = await h.rpc(body);
    expect(set.json.error).toBeUndefined();
    const { text } = await h.rpc({ jsonrpc: "2.0", id: 2, method: "getAccountInfo", params: [pubkey, { encoding: "base64" }] });
    expect(text).toContain(`"lamports":${lamports}`);
    expect(text).toContain(`"rentEpoch":18446744073709551615`);
    const balance = await h.rpc({ jsonrpc: "2.0", id: 3, method: "getBalance", params: [pubkey] });
    expect(balance.text).toContain(`"value":${lamports}}`);
  });

  it("passes the chain's RpcError through sendTransaction verbatim", async () => {
    const payer = Keypair.generate();
    const latest = h.chain.latestBlockhash();
    const tx = new Transaction({ feePayer: payer.publicKey, blockhash: latest.blockhash, lastValidBlockHeight: Number(latest.lastValidBlockHeight) }).add(
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: new PublicKey(key()), lamports: 1 }),
    );
    tx.sign(payer);
    const wire = tx.serialize();
    const { json } = await h.rpc({ jsonrpc: "2.0", id: 1, method: "sendTransaction", params: [wire.toString("base64"), { encoding: "base64" }] });
    expect(json.error.code).toBe(-32002);
    expect(json.error.message).toBe("Transaction simulation failed: Attempt to debit an account but found no record of a prior credit.");
    expect(json.error.data.err).toBe("AccountNotFound");
    const garbage = await h.rpc({ jsonrpc: "2.0", id: 2, method: "sendTransaction", params: [Buffer.from([1, 2, 3]).toString("base64"), { encoding: "base64" }] });
    expect(garbage.json.error.code).toBe(-32602);
    const base58Default = await h.rpc({ jsonrpc: "2.0", id: 3, method: "sendTransaction", params: [wire.toString("base64")] });
    expect(base58Default.json.error).toMatchObject({ code: -32602 });
  });

  it("simulates with accounts and replaceRecentBlockhash", async () => {
    const payer = Keypair.generate();
    const to = Keypair.generate().publicKey;
    h.chain.setAccount(payer.publicKey.toBase58(), { lamports: BigInt(LAMPORTS_PER_SOL) });
    const tx = new Transaction({ feePayer: payer.publicKey, blockhash: "11111111111111111111111111111111", lastValidBlockHeight: 0 }).add(
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports: 5_000_000 }),
    );
    tx.sign(payer);
    const wire = tx.serialize().toString("base64");
    const sim = await h.call("simulateTransaction", [
      wire,
      { encoding: "base64", replaceRecentBlockhash: true, accounts: { addresses: [to.toBase58()], encoding: "base64" } },
    ]);
    expect(sim.value.err).toBeNull();
    // a new account gets rent epoch u64::MAX (rent exempt), which JSON.parse rounds to 2^64
    expect(sim.value.accounts).toEqual([
      { data: ["", "base64"], executable: false, lamports: 5_000_000, owner: SystemProgram.programId.toBase58(), rentEpoch: 2 ** 64, space: 0 },
    ]);
    expect(sim.value.replacementBlockhash.blockhash).toBe(h.chain.latestBlockhash().blockhash);
    expect(sim.value.unitsConsumed).toBeGreaterThan(0);
    // nothing landed
    expect(h.chain.getAccount(to.toBase58())).toBeNull();
    const both = await h.rpc({ jsonrpc: "2.0", id: 1, method: "simulateTransaction", params: [wire, { encoding: "base64", sigVerify: true, replaceRecentBlockhash: true }] });
    expect(both.json.error).toEqual({ code: -32602, message: "sigVerify may not be used with replaceRecentBlockhash" });
    const stale = await h.call("simulateTransaction", [wire, { encoding: "base64" }]);
    expect(stale.value.err).toBe("BlockhashNotFound");
  });

  it("answers the remaining cluster methods in the validator's shapes", async () => {
    const epoch = await h.call("getEpochInfo");
    expect(epoch).toMatchObject({ absoluteSlot: Number(h.chain.slot()), blockHeight: Number(h.chain.blockHeight()), slotsInEpoch: 432000 });
    expect(epoch.slotIndex).toBe(epoch.absoluteSlot % 432000);
    expect(await h.call("getMinimumBalanceForRentExemption", [165])).toBe(2_039_280);
    expect(await h.call("getRecentPrioritizationFees", [[key()]])).toEqual([]);
    const latest = h.chain.latestBlockhash();
    const payer = Keypair.generate().publicKey;
    const message = new Transaction({ feePayer: payer, blockhash: latest.blockhash, lastValidBlockHeight: 0 })
      .add(SystemProgram.transfer({ fromPubkey: payer, toPubkey: new PublicKey(key()), lamports: 1 }))
      .compileMessage()
      .serialize()
      .toString("base64");
    expect((await h.call("getFeeForMessage", [message])).value).toBe(5000);
    expect(await h.call("getBlockHeight")).toBe(Number(h.chain.blockHeight()));
  });
});

describe("surfnet cheatcodes", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  it("surfnet_setAccount writes lamports, hex data, owner and executable", async () => {
    const pubkey = key();
    const owner = key();
    const res = await h.call("surfnet_setAccount", [pubkey, { lamports: 1_000_000, data: "deadbeef", owner, executable: false }]);
    expect(res).toEqual({ context: { slot: Number(h.chain.slot()), apiVersion: "2.3.0" }, value: null });
    const info = await h.call("getAccountInfo", [pubkey, { encoding: "base64" }]);
    expect(info.value).toEqual({ data: ["3q2+7w==", "base64"], executable: false, lamports: 1_000_000, owner, rentEpoch: 0, space: 4 });
    await h.call("surfnet_setAccount", [pubkey, { lamports: 5 }]);
    const patched = await h.call("getAccountInfo", [pubkey, { encoding: "base64" }]);
    expect(patched.value).toMatchObject({ lamports: 5, owner, data: ["3q2+7w==", "base64"] });
    const bad = await h.rpc({ jsonrpc: "2.0", id: 1, method: "surfnet_setAccount", params: [pubkey, { data: "xyz" }] });
    expect(bad.json.error.code).toBe(-32602);
  });

  it("surfnet_setTokenAccount creates the owner's associated token account", async () => {
    const owner = Keypair.generate().publicKey;
    const mint = Keypair.generate().publicKey;
    // a Token-2022 mint with 6 decimals, planted directly
    const mintData = Buffer.alloc(82);
    mintData.writeBigUInt64LE(10n ** 12n, 36);
    mintData[44] = 6;
    mintData[45] = 1;
    await h.call("surfnet_setAccount", [mint.toBase58(), { lamports: 1_461_600, owner: TOKEN_2022_PROGRAM_ID.toBase58(), data: mintData.toString("hex") }]);
    const delegate = key();
    await h.call("surfnet_setTokenAccount", [
      owner.toBase58(),
      mint.toBase58(),
      { amount: 2_500_000, delegate, delegatedAmount: 1000, state: "frozen" },
      TOKEN_2022_PROGRAM_ID.toBase58(),
    ]);
    const ata = getAssociatedTokenAddressSync(mint, owner, true, TOKEN_2022_PROGRAM_ID);
    const balance = await h.call("getTokenAccountBalance", [ata.toBase58()]);
    expect(balance.value).toEqual({ amount: "2500000", decimals: 6, uiAmount: 2.5, uiAmountString: "2.5" });
    const parsed = await h.call("getAccountInfo", [ata.toBase58(), { encoding: "jsonParsed" }]);
    expect(parsed.value.data.program).toBe("spl-token-2022");
    expect(parsed.value.data.parsed.info).toMatchObject({
      owner: owner.toBase58(),
      mint: mint.toBase58(),
      state: "frozen",
      delegate,
      delegatedAmount: { amount: "1000", decimals: 6, uiAmount: 0.001, uiAmountString: "0.001" },
    });
    const notToken = await h.rpc({ jsonrpc: "2.0", id: 1, method: "getTokenAccountBalance", params: [mint.toBase58()] });
    expect(notToken.json.error).toEqual({ code: -32602, message: "Invalid param: not a Token account" });
  });

  it("surfnet_timeTravel moves slot, epoch and clock", async () => {
    const target = Number(h.chain.slot()) + 500;
    const info = await h.call("surfnet_timeTravel", [{ absoluteSlot: target }]);
    const targetEpoch = Math.floor(target / 432000);
    expect(info).toMatchObject({ absoluteSlot: target, epoch: targetEpoch, slotIndex: target % 432000, slotsInEpoch: 432000 });
    expect(await h.call("getSlot")).toBe(target);
    const nextEpoch = targetEpoch + 3;
    const epoch = await h.call("surfnet_timeTravel", [{ absoluteEpoch: nextEpoch }]);
    expect(epoch).toMatchObject({ absoluteSlot: nextEpoch * 432000, epoch: nextEpoch, slotIndex: 0 });
    const when = Date.UTC(2030, 0, 1);
    await h.call("surfnet_timeTravel", [{ absoluteTimestamp: when }]);
    expect(h.chain.clock().unixTimestamp).toBe(BigInt(when / 1000));
    const none = await h.rpc({ jsonrpc: "2.0", id: 1, method: "surfnet_timeTravel", params: [{}] });
    expect(none.json.error.code).toBe(-32602);
    const back = await h.rpc({ jsonrpc: "2.0", id: 1, method: "surfnet_timeTravel", params: [{ absoluteSlot: 1 }] });
    expect(back.json.error.code).toBe(-32602);
  });
});
