/**
 * Exactly-once delivery of a stored transaction (solana.com/docs/advanced/retry): the signature and raw
 * bytes were stored before the first send, so after any crash the chain is asked what became of them.
 *   landed ok        -> record it
 *   landed with err  -> it can never land again: safe to build a new one
 *   not found, valid -> send the same bytes again (same signature: cannot land twice)
 *   not found, expired (finalized height past lastValidBlockHeight and the blockhash refused), and still
 *     not found when asked once more -> it can no longer land: build and sign a new one
 */
import type { TransactionError } from "@solana/web3.js";
import type { ChainGateway } from "./chain.ts";
import type { StoredTx } from "./runs.ts";

export type FinalOutcome =
  | { kind: "landed"; slot: bigint }
  | { kind: "failed"; err: TransactionError }
  | { kind: "expired" };

export interface AwaitOptions {
  /** Between status polls. */
  pollMs: number;
  /** Between resends of the same bytes while the blockhash is valid. */
  resendMs: number;
  signal?: AbortSignal;
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/** One look at the stored transaction: its final outcome, or null while it may still land. */
export async function inspect(chain: ChainGateway, tx: Pick<StoredTx, "signature" | "blockhash" | "last_valid_block_height">): Promise<FinalOutcome | null> {
  const first = await chain.signatureOutcome(tx.signature);
  if (first.kind === "landed") return { kind: "landed", slot: first.slot };
  if (first.kind === "failed") return { kind: "failed", err: first.err };
  if (!(await chain.blockhashExpired(tx.blockhash, tx.last_valid_block_height))) return null;
  // Expiry was established before this second look, so a "not found" now is final.
  const again = await chain.signatureOutcome(tx.signature);
  if (again.kind === "landed") return { kind: "landed", slot: again.slot };
  if (again.kind === "failed") return { kind: "failed", err: again.err };
  return { kind: "expired" };
}

/**
 * Waits until the stored transaction has a final outcome, resending its bytes while it can still land.
 * `sentAlready` says whether this worker has just sent it (then the first resend waits `resendMs`).
 */
export async function awaitFinal(chain: ChainGateway, tx: StoredTx, options: AwaitOptions, sentAlready: boolean): Promise<FinalOutcome> {
  let lastSend = sentAlready ? Date.now() : 0;
  for (;;) {
    const outcome = await inspect(chain, tx);
    if (outcome) return outcome;
    if (Date.now() - lastSend >= options.resendMs) {
      await chain.sendRaw(tx.raw);
      lastSend = Date.now();
      continue;
    }
    await sleep(options.pollMs, options.signal);
  }
}
