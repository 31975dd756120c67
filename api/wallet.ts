/** Wallet addresses in request paths: the domain's address check, refused with a 400 saying why. */
import { walletProblem } from "../src/domain/wallet.ts";
import { HttpError } from "./errors.ts";

/** Returns the address unchanged, or throws a 400 HttpError with the reason. */
export function parseWallet(value: unknown): string {
  const text = typeof value === "string" ? value : "";
  const problem = walletProblem(text);
  if (problem !== null) throw new HttpError("invalid_input", "invalid_wallet", problem);
  return text;
}
