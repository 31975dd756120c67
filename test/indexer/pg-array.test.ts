import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { arrayLiteral } from "../../src/db/pg-array.ts";
import { TEST_DATABASE_URL } from "../kit/db.ts";
import { U64_MAX } from "../../src/domain/units.ts";

let client: pg.Client;
beforeAll(async () => {
  client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
});

describe("arrayLiteral", () => {
  it("round-trips awkward text through Postgres exactly", async () => {
    const values = ["plain", "NULL", "null", "with space", 'qu"ote', "back\\slash", "com,ma", "{brace}", "", "ünï", null, "9Ki8PmimEy8RrotCwUDP9rKyYQYvmvEHQdZokMjeSyiN"];
    const r = await client.query<{ v: (string | null)[] }>("SELECT $1::text[] AS v", [arrayLiteral(values)]);
    expect(r.rows[0]!.v).toEqual(values);
  });

  it("carries u64 amounts, signed integers and booleans", async () => {
    const r = await client.query<{ n: string[]; i: string[]; b: boolean[] }>(
      "SELECT $1::numeric[]::text[] AS n, $2::int8[]::text[] AS i, $3::bool[] AS b",
      [arrayLiteral([U64_MAX, 0n, null]), arrayLiteral([-5n, 7, null]), arrayLiteral([true, false, null])],
    );
    expect(r.rows[0]).toEqual({ n: [U64_MAX.toString(), "0", null], i: ["-5", "7", null], b: [true, false, null] });
  });
});
