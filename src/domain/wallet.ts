/**
 * What a wallet address is: base58 text that decodes to a 32-byte public key. Pure; callers decide how to refuse.
 * Base58 has one spelling per byte string, so a valid address needs no normalising: callers keep the text as given.
 */
import bs58 from "bs58";

/** Longer text cannot decode to 32 bytes (44 characters is the most); refused before decoding it. */
const MAX_ADDRESS_LENGTH = 64;

/** Why `text` is not a Solana address, or null when it is one. */
export function walletProblem(text: string): string | null {
  if (text.length === 0) return "the wallet address is empty";
  if (text.length > MAX_ADDRESS_LENGTH) return "the wallet address is too long to be a Solana address";
  const bytes = bs58.decodeUnsafe(text);
  if (bytes === undefined) return "the wallet address is not base58 (alphabet 1-9, A-Z, a-z without 0, O, I, l)";
  if (bytes.length !== 32) return `the wallet address decodes to ${bytes.length} bytes; a Solana address has 32`;
  return null;
}

export function isWalletAddress(text: string): boolean {
  return walletProblem(text) === null;
}
