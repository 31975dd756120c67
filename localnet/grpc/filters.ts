/**
 * A Subscribe request's account and slot filters, as the Geyser plugin reads them: an account update matches a
 * named filter when its pubkey is listed (or none is), its owner is listed (or none is), and every data filter
 * (memcmp, datasize, lamports) holds. The memcmp/datasize test is the JSON-RPC facade's (../rpc/filters.ts).
 */
import { decodeBase58, encodeBase58 } from "../../src/solana/base58.ts";
import { matchesFilters, MAX_MEMCMP_BYTES, type AccountFilter } from "../rpc/filters.ts";
import type { AccountState } from "../types.ts";

export class FilterError extends Error {}

interface RawMemcmp {
  offset?: string;
  bytes?: Buffer;
  base58?: string;
  base64?: string;
  data?: string;
}
interface RawFilter {
  memcmp?: RawMemcmp;
  datasize?: string;
  lamports?: { eq?: string; ne?: string; lt?: string; gt?: string };
  tokenAccountState?: boolean;
  filter?: string;
}
export interface RawAccountsFilter {
  account?: string[];
  owner?: string[];
  filters?: RawFilter[];
}

interface LamportsTest {
  op: "eq" | "ne" | "lt" | "gt";
  value: bigint;
}

export interface AccountsMatcher {
  name: string;
  accounts: Set<string>;
  owners: Set<string>;
  data: AccountFilter[];
  lamports: LamportsTest[];
}

const MAX_FILTERS = 4;

function pubkey(text: string, what: string): string {
  const bytes = decodeBase58(text);
  if (!bytes || bytes.length !== 32) throw new FilterError(`invalid ${what} pubkey: ${JSON.stringify(text.slice(0, 60))}`);
  return encodeBase58(bytes);
}

function memcmpBytes(m: RawMemcmp): Uint8Array {
  let bytes: Uint8Array | null;
  if (m.bytes !== undefined) bytes = new Uint8Array(m.bytes);
  else if (m.base58 !== undefined) bytes = decodeBase58(m.base58);
  else if (m.base64 !== undefined) bytes = new Uint8Array(Buffer.from(m.base64, "base64"));
  else throw new FilterError("memcmp: data is required");
  if (!bytes) throw new FilterError("memcmp: base58 data is not base58");
  if (bytes.length > MAX_MEMCMP_BYTES) throw new FilterError(`memcmp: data longer than ${MAX_MEMCMP_BYTES} bytes`);
  return bytes;
}

export function parseAccountsFilter(name: string, raw: RawAccountsFilter): AccountsMatcher {
  const filters = raw.filters ?? [];
  if (filters.length > MAX_FILTERS) throw new FilterError(`filter ${name}: more than ${MAX_FILTERS} data filters`);
  const m: AccountsMatcher = {
    name,
    accounts: new Set((raw.account ?? []).map((a) => pubkey(a, "account"))),
    owners: new Set((raw.owner ?? []).map((o) => pubkey(o, "owner"))),
    data: [],
    lamports: [],
  };
  for (const f of filters) {
    if (f.memcmp) m.data.push({ kind: "memcmp", offset: Number(f.memcmp.offset ?? "0"), bytes: memcmpBytes(f.memcmp) });
    else if (f.datasize !== undefined) m.data.push({ kind: "dataSize", size: Number(f.datasize) });
    else if (f.tokenAccountState !== undefined) m.data.push({ kind: "tokenAccountState" });
    else if (f.lamports) {
      const [op, value] = Object.entries(f.lamports).find(([, v]) => v !== undefined) ?? [];
      if (!op || value === undefined) throw new FilterError(`filter ${name}: lamports needs one comparison`);
      m.lamports.push({ op: op as LamportsTest["op"], value: BigInt(value) });
    } else throw new FilterError(`filter ${name}: an empty data filter`);
  }
  return m;
}

export function accountMatches(m: AccountsMatcher, pubkeyText: string, account: AccountState): boolean {
  if (m.accounts.size > 0 && !m.accounts.has(pubkeyText)) return false;
  if (m.owners.size > 0 && !m.owners.has(account.owner)) return false;
  if (!matchesFilters(account.data, m.data)) return false;
  for (const t of m.lamports) {
    const l = account.lamports;
    if (t.op === "eq" ? l !== t.value : t.op === "ne" ? l === t.value : t.op === "lt" ? l >= t.value : l <= t.value) return false;
  }
  return true;
}
