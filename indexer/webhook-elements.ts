/**
 * One element of a raw Helius delivery (getTransaction JSON): which accounts the transaction wrote.
 * Transactions carry no account state, so the processor re-reads these accounts afterwards.
 * Written = writable static keys (from the message header) plus `meta.loadedAddresses.writable`
 * (address lookup tables). Every element is judged on its own; a malformed one never affects the others.
 */
import { PublicKey, VersionedTransaction } from "@solana/web3.js";
import bs58 from "bs58";

export type ElementOutcome =
  | { kind: "no_transaction" }
  | { kind: "invalid"; reason: string }
  | { kind: "failed"; signature: string; slot: bigint }
  | { kind: "written"; signature: string; slot: bigint; accounts: string[] };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

class InvalidElement extends Error {}

function pubkey(value: unknown, what: string): string {
  if (typeof value !== "string") throw new InvalidElement(`${what} is not a string`);
  try {
    return new PublicKey(value).toBase58();
  } catch {
    throw new InvalidElement(`${what} is not a public key`);
  }
}

function count(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw new InvalidElement(`${what} is not a count`);
  return value;
}

function signatureOf(value: unknown): string {
  if (typeof value !== "string") throw new InvalidElement("transaction.signatures[0] is not a string");
  let bytes: Uint8Array;
  try {
    bytes = bs58.decode(value);
  } catch {
    throw new InvalidElement("transaction.signatures[0] is not base58");
  }
  if (bytes.length !== 64) throw new InvalidElement("transaction.signatures[0] is not 64 bytes");
  return value;
}

/** Writable static keys of a JSON-encoded message (`json` keys as strings, or `jsonParsed` key objects). */
function writableStaticKeys(message: Record<string, unknown>): string[] {
  const keys = message.accountKeys;
  if (!Array.isArray(keys)) throw new InvalidElement("message.accountKeys is not an array");
  if (keys.every(isObject)) {
    // jsonParsed: each key says whether it is writable
    return keys.filter((k) => k.writable === true).map((k, i) => pubkey(k.pubkey, `accountKeys[${i}].pubkey`));
  }
  const header = message.header;
  if (!isObject(header)) throw new InvalidElement("message.header is missing");
  const required = count(header.numRequiredSignatures, "header.numRequiredSignatures");
  const readonlySigned = count(header.numReadonlySignedAccounts, "header.numReadonlySignedAccounts");
  const readonlyUnsigned = count(header.numReadonlyUnsignedAccounts, "header.numReadonlyUnsignedAccounts");
  if (required > keys.length || readonlySigned > required || readonlyUnsigned > keys.length - required) {
    throw new InvalidElement("message.header does not fit accountKeys");
  }
  const out: string[] = [];
  keys.forEach((k, i) => {
    const key = pubkey(k, `accountKeys[${i}]`);
    const writable = i < required ? i < required - readonlySigned : i < keys.length - readonlyUnsigned;
    if (writable) out.push(key);
  });
  return out;
}

function fromEncoded(tx: unknown[]): { signature: string; keys: string[] } {
  const [data, encoding] = tx;
  if (typeof data !== "string" || (encoding !== "base64" && encoding !== "base58")) {
    throw new InvalidElement("transaction is an array but not [data, base64|base58]");
  }
  let parsed: VersionedTransaction;
  try {
    parsed = VersionedTransaction.deserialize(encoding === "base64" ? Buffer.from(data, "base64") : bs58.decode(data));
  } catch (err) {
    throw new InvalidElement(`transaction bytes do not parse: ${(err as Error).message}`);
  }
  const first = parsed.signatures[0];
  if (!first) throw new InvalidElement("transaction has no signature");
  const keys = parsed.message.staticAccountKeys
    .map((k, i) => (parsed.message.isAccountWritable(i) ? k.toBase58() : null))
    .filter((k): k is string => k !== null);
  return { signature: bs58.encode(first), keys };
}

export function readElement(element: unknown): ElementOutcome {
  try {
    if (!isObject(element)) throw new InvalidElement("element is not an object");
    const tx = element.transaction;
    if (tx === undefined || tx === null) return { kind: "no_transaction" };
    const slotValue = element.slot;
    if (typeof slotValue !== "number" || !Number.isSafeInteger(slotValue) || slotValue < 0) {
      throw new InvalidElement("slot is not a non-negative integer");
    }
    const slot = BigInt(slotValue);
    let signature: string;
    let keys: string[];
    if (Array.isArray(tx)) ({ signature, keys } = fromEncoded(tx));
    else if (isObject(tx)) {
      if (!Array.isArray(tx.signatures)) throw new InvalidElement("transaction.signatures is not an array");
      signature = signatureOf(tx.signatures[0]);
      if (!isObject(tx.message)) throw new InvalidElement("transaction.message is missing");
      keys = writableStaticKeys(tx.message);
    } else throw new InvalidElement("transaction is neither an object nor an encoded array");

    const meta = element.meta;
    if (meta !== undefined && meta !== null && !isObject(meta)) throw new InvalidElement("meta is not an object");
    // A failed transaction changed nothing but fees: nothing to re-read.
    if (isObject(meta) && meta.err !== null && meta.err !== undefined) return { kind: "failed", signature, slot };
    const loaded = isObject(meta) ? meta.loadedAddresses : undefined;
    if (isObject(loaded) && loaded.writable !== undefined) {
      if (!Array.isArray(loaded.writable)) throw new InvalidElement("meta.loadedAddresses.writable is not an array");
      loaded.writable.forEach((k, i) => keys.push(pubkey(k, `loadedAddresses.writable[${i}]`)));
    }
    return { kind: "written", signature, slot, accounts: [...new Set(keys)] };
  } catch (err) {
    if (err instanceof InvalidElement) return { kind: "invalid", reason: err.message };
    throw err;
  }
}
