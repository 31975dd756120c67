import { describe, expect, it } from "vitest";
import { ResponseShapeError, RpcResultScanner } from "../../indexer/json-scan.ts";

function scan(text: string, chunkSize: number) {
  const items: unknown[] = [];
  const contexts: unknown[] = [];
  const errors: unknown[] = [];
  const scanner = new RpcResultScanner({
    item: (b) => items.push(JSON.parse(b.toString("utf8"))),
    context: (b) => contexts.push(JSON.parse(b.toString("utf8"))),
    error: (b) => errors.push(JSON.parse(b.toString("utf8"))),
  });
  const bytes = Buffer.from(text, "utf8");
  for (let i = 0; i < bytes.length; i += chunkSize) scanner.push(bytes.subarray(i, i + chunkSize));
  scanner.end();
  return { items, contexts, errors };
}

const account = (n: number) => ({
  account: { data: [`AQID${n}`, "base64"], executable: false, lamports: 2_000_000 + n, owner: "Prog", rentEpoch: 1, space: 147 },
  pubkey: `key{${n}}"[]`,
});

describe("RpcResultScanner", () => {
  const withContext = JSON.stringify({
    jsonrpc: "2.0",
    result: { context: { apiVersion: "2.3.0", slot: 77 }, value: [account(1), account(2), account(3)] },
    id: 1,
  });

  it("hands out each element of result.value and the context, whatever the chunk boundaries", () => {
    for (const size of [1, 2, 3, 7, 64, 100_000]) {
      const out = scan(withContext, size);
      expect(out.items).toEqual([account(1), account(2), account(3)]);
      expect(out.contexts).toEqual([{ apiVersion: "2.3.0", slot: 77 }]);
      expect(out.errors).toEqual([]);
    }
  });

  it("handles a result that is a bare array, keys in any order, and escapes and UTF-8 inside strings", () => {
    const tricky = { pubkey: 'a\\"}{][', account: { owner: "ünïcødé ✓", data: ["x", "base64"], lamports: 1 } };
    const text = JSON.stringify({ id: 3, result: [tricky, account(9)], jsonrpc: "2.0" });
    for (const size of [1, 5, 1000]) {
      const out = scan(text, size);
      expect(out.items).toEqual([tricky, account(9)]);
      expect(out.contexts).toEqual([]);
    }
  });

  it("reports the error member of an error response", () => {
    const text = JSON.stringify({ jsonrpc: "2.0", error: { code: -32016, message: "Minimum context slot has not been reached" }, id: 1 });
    expect(scan(text, 4).errors).toEqual([{ code: -32016, message: "Minimum context slot has not been reached" }]);
  });

  it("rejects a truncated or malformed document", () => {
    expect(() => scan(withContext.slice(0, -5), 16)).toThrow(ResponseShapeError);
    expect(() => scan("[1,2]", 16)).toThrow(ResponseShapeError);
    expect(() => scan('{"result":[}', 16)).toThrow(ResponseShapeError);
  });
});
