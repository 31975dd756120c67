/**
 * The one reader of Solana CLI keypair files (a JSON array of the 64 secret-key bytes), for the facilitator's
 * fee payer, the pipeline's admin and the `pay` command. Synchronous: keys are read once, at start-up.
 * Errors are one line naming the file and what is wrong with it; they never quote the file's contents
 * (JSON.parse's own message would echo the key bytes around a syntax error).
 */
import { readFileSync } from "node:fs";
import { NonRetryableError } from "../errors.ts";

export type KeypairFileProblem = "missing" | "unreadable" | "not_json" | "not_a_keypair";

export class KeypairFileError extends NonRetryableError {
  override name = "KeypairFileError";
  readonly path: string;
  readonly problem: KeypairFileProblem;
  constructor(label: string, path: string, problem: KeypairFileProblem, detail: string) {
    super("invalid_input", `${label} ${path}: ${detail}`, { code: "invalid_keypair_file" });
    this.path = path;
    this.problem = problem;
  }
}

/** The 64-byte secret key in `path`; `label` names the key in the error ("facilitator keypair", ...). */
export function readKeypairFile(path: string, label = "keypair file"): Uint8Array {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new KeypairFileError(label, path, "missing", "no such file");
    throw new KeypairFileError(label, path, "unreadable", `cannot be read (${code ?? "unknown error"})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new KeypairFileError(label, path, "not_json", "not valid JSON (expected a JSON array of 64 bytes)");
  }
  if (!Array.isArray(parsed) || parsed.length !== 64 || !parsed.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    throw new KeypairFileError(label, path, "not_a_keypair", "not a JSON array of 64 bytes");
  }
  return Uint8Array.from(parsed as number[]);
}
