import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KeypairFileError, readKeypairFile } from "../../src/solana/keypair-file.ts";

describe("readKeypairFile", () => {
  const dir = mkdtempSync(join(tmpdir(), "kamiyo-keypair-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const failure = (path: string, label?: string): KeypairFileError => {
    try {
      readKeypairFile(path, label);
    } catch (err) {
      expect(err).toBeInstanceOf(KeypairFileError);
      return err as KeypairFileError;
    }
    throw new Error("expected a KeypairFileError");
  };

  it("returns the 64 bytes of a Solana CLI keypair file", () => {
    const bytes = Array.from({ length: 64 }, (_, i) => (i * 7) % 256);
    expect(readKeypairFile(file("ok.json", JSON.stringify(bytes)))).toEqual(Uint8Array.from(bytes));
  });

  it("names the file and the problem in one line, with the caller's label", () => {
    const missing = failure(join(dir, "nope.json"), "facilitator keypair");
    expect(missing.message).toBe(`facilitator keypair ${join(dir, "nope.json")}: no such file`);
    expect(missing.problem).toBe("missing");
    expect(failure(dir).problem).toBe("unreadable");
    expect(failure(file("short.json", JSON.stringify([1, 2, 3]))).problem).toBe("not_a_keypair");
    expect(failure(file("big.json", JSON.stringify(Array(64).fill(256)))).problem).toBe("not_a_keypair");
    for (const e of [missing, failure(dir)]) expect(e.message).not.toContain("\n");
  });

  it("never quotes the key bytes, even around a JSON syntax error", () => {
    const secret = Array.from({ length: 64 }, (_, i) => 100 + (i % 100));
    const path = file("broken.json", `${JSON.stringify(secret).slice(0, -1)},x]`);
    const err = failure(path);
    expect(err.problem).toBe("not_json");
    expect(err.message).toContain(path);
    expect(err.message).not.toMatch(/1\d\d,1\d\d/);
  });
});
