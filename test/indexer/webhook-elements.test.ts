import { describe, expect, it } from "vitest";
import { Keypair, PublicKey, SystemProgram, TransactionMessage, VersionedTransaction } from "@solana/web3.js";
import bs58 from "bs58";
import { readElement } from "../../indexer/webhook-elements.ts";

const key = () => Keypair.generate().publicKey.toBase58();
const SIG = bs58.encode(Buffer.alloc(64, 7));

describe("readElement", () => {
  it("takes writable static keys from the header and adds loadedAddresses.writable", () => {
    // 2 signers (1 readonly), 3 unsigned (1 readonly): writable are keys 0, 2, 3
    const keys = [key(), key(), key(), key(), key()];
    const loaded = key();
    const out = readElement({
      slot: 42,
      meta: { err: null, loadedAddresses: { writable: [loaded], readonly: [key()] } },
      transaction: {
        signatures: [SIG],
        message: { accountKeys: keys, header: { numRequiredSignatures: 2, numReadonlySignedAccounts: 1, numReadonlyUnsignedAccounts: 1 } },
      },
    });
    expect(out).toEqual({ kind: "written", signature: SIG, slot: 42n, accounts: [keys[0], keys[2], keys[3], loaded] });
  });

  it("reads jsonParsed account keys by their writable flag", () => {
    const [a, b] = [key(), key()];
    const out = readElement({
      slot: 1,
      meta: { err: null },
      transaction: { signatures: [SIG], message: { accountKeys: [{ pubkey: a, writable: true, signer: true }, { pubkey: b, writable: false }] } },
    });
    expect(out).toMatchObject({ kind: "written", accounts: [a] });
  });

  it("reads an encoded transaction ([base64, 'base64'])", () => {
    const payer = Keypair.generate();
    const to = Keypair.generate().publicKey;
    const message = new TransactionMessage({
      payerKey: payer.publicKey,
      recentBlockhash: new PublicKey(Buffer.alloc(32, 1)).toBase58(),
      instructions: [SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports: 1 })],
    }).compileToV0Message();
    const tx = new VersionedTransaction(message);
    tx.sign([payer]);
    const out = readElement({ slot: 9, meta: { err: null }, transaction: [Buffer.from(tx.serialize()).toString("base64"), "base64"] });
    expect(out).toEqual({
      kind: "written",
      signature: bs58.encode(tx.signatures[0]!),
      slot: 9n,
      accounts: [payer.publicKey.toBase58(), to.toBase58()],
    });
  });

  it("classifies failed transactions, missing transactions and malformed elements", () => {
    const message = { accountKeys: [key()], header: { numRequiredSignatures: 1, numReadonlySignedAccounts: 0, numReadonlyUnsignedAccounts: 0 } };
    expect(readElement({ slot: 3, meta: { err: { InstructionError: [0, { Custom: 6013 }] } }, transaction: { signatures: [SIG], message } })).toEqual({
      kind: "failed",
      signature: SIG,
      slot: 3n,
    });
    expect(readElement({ slot: 3, meta: { err: null } })).toEqual({ kind: "no_transaction" });
    expect(readElement(null)).toMatchObject({ kind: "invalid" });
    expect(readElement({ slot: -1, transaction: { signatures: [SIG], message } })).toMatchObject({ kind: "invalid" });
    expect(readElement({ slot: 1, transaction: { signatures: ["abc"], message } })).toMatchObject({ kind: "invalid" });
    expect(readElement({ slot: 1, transaction: { signatures: [SIG], message: { ...message, accountKeys: ["nope"] } } })).toMatchObject({
      kind: "invalid",
      reason: "accountKeys[0] is not a public key",
    });
    expect(
      readElement({ slot: 1, transaction: { signatures: [SIG], message: { ...message, header: { ...message.header, numRequiredSignatures: 5 } } } }),
    ).toMatchObject({ kind: "invalid", reason: "message.header does not fit accountKeys" });
  });
});
