/** Wallet addresses in request paths: base58 that decodes to a 32-byte public key, or a 400 saying why not. */
import bs58 from "bs58";
import { HttpError } from "./errors.ts";

/** Why `text` is not a Solana address, or null when it is one. */
export function walletProblem(text: string): string | null {
  if (text.length === 0) return "the wallet address is empty";
  if (text.length > 64) return "the wallet address is too long to be a Solana address";
  const bytes = bs58.decodeUnsafe(text);
  if (bytes === undefined) return "the wallet address is not base58 (alphabet 1-9, A-Z, a-z without 0, O, I, l)";
  if (bytes.length !== 32) return `the wallet address decodes to ${bytes.length} bytes; a Solana address has 32`;
  return null;
}

/** Returns the address unchanged, or throws a 400 HttpError with the reason. */
export function parseWallet(value: unknown): string {
  const text = typeof value === "string" ? value : "";
  const problem = walletProblem(text);
  if (problem !== null) throw new HttpError("invalid_input", "invalid_wallet", problem);
  return text;
}
