import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import pg from "pg";
import { sql } from "kysely";
import { pino } from "pino";
import { withFreshSchema, type FreshSchema } from "../kit/db.ts";
import { waitFor } from "../kit/wait-for.ts";
import { createWritePath, type WritePath } from "../../indexer/write-path.ts";
import { STAKE_CHANGES_CHANNEL, type StakeChangeNotice } from "../../indexer/contracts.ts";
import { U64_MAX } from "../../src/domain/units.ts";
import { KAMIYO, randomAddress, read, testConfig, testTarget, userStakeAccount } from "./helpers/accounts.ts";

const logger = pino({ level: "silent" });
const config = testConfig();
const target = testTarget(config);
const programId = target.programId;

let s: FreshSchema;
let listener: pg.Client;
let notices: StakeChangeNotice[] = [];
// The channel is database-wide: other test processes on this server may notify too. Only ours count.
const noticesFor = (...addresses: string[]) => notices.filter((n) => addresses.includes(n.address));
let write: WritePath;

beforeAll(async () => {
  s = await withFreshSchema();
  listener = new pg.Client({ connectionString: s.url });
  await listener.connect();
  listener.on("notification", (n) => {
    if (n.channel === STAKE_CHANGES_CHANNEL) notices.push(JSON.parse(n.payload!) as StakeChangeNotice);
  });
  await listener.query(`LISTEN ${STAKE_CHANGES_CHANNEL}`);
  write = createWritePath({ db: s.db, target, logger, batchRows: 3 });
});

afterAll(async () => {
  await listener?.end();
  await s?.close();
});

beforeEach(async () => {
  await sql`TRUNCATE stakes, stake_events`.execute(s.db);
  notices = [];
});

/**
 * Resolves once every notice committed before it has arrived: Postgres delivers notifications to a listener
 * in commit order, so when a fence stake written now is announced, nothing committed earlier is still on its
 * way. This lets "no notice was sent" be checked without a fixed sleep.
 */
async function fence(): Promise<void> {
  const marker = randomAddress();
  await write.apply([read(marker, 1n, await userStakeAccount(programId, { pool: target.pool, staked: 1n }))], "ws");
  await waitFor("the fence's notice", () => noticesFor(marker).length > 0);
}
const row = (address: string) => s.db.selectFrom("stakes").selectAll().where("address", "=", address).executeTakeFirst();
const events = (address: string) =>
  s.db.selectFrom("stake_events").selectAll().where("address", "=", address).orderBy("id").execute();

describe("write path", () => {
  it("inserts a new stake with effective stake and tier from the configured table, logs and announces it", async () => {
    const address = randomAddress();
    const owner = randomAddress();
    const account = await userStakeAccount(programId, {
      owner,
      pool: target.pool,
      staked: 700_000n * KAMIYO,
      cooldownAmount: 550_000n * KAMIYO,
      cooldownEnd: 1_900_000_000n,
      // the program's own tier byte says Enterprise; discounts must not follow it
      tier: "Enterprise",
    });
    const result = await write.apply([read(address, 10n, account)], "ws");
    expect(result).toMatchObject({ applied: 1, changed: 1, newestSlot: 10n, refused: 0 });
    const r = await row(address);
    expect(r).toMatchObject({
      owner,
      pool: target.pool,
      staked_amount: 700_000n * KAMIYO,
      cooldown_amount: 550_000n * KAMIYO,
      cooldown_end: 1_900_000_000n,
      effective_stake: 150_000n * KAMIYO,
      discount_tier: "silver",
      discount_bps: 1000,
      program_tier: 3,
      slot: 10n,
      commitment: "confirmed",
      closed: false,
    });
    const ev = await events(address);
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ source: "ws", previous_effective_stake: null, effective_stake: 150_000n * KAMIYO, slot: 10n });
    await waitFor("the new stake's notice", () => noticesFor(address).length > 0);
    await fence();
    expect(noticesFor(address)).toEqual([
      {
        owner,
        pool: target.pool,
        address,
        tier: "silver",
        discountBps: 1000,
        effectiveStake: (150_000n * KAMIYO).toString(),
        slot: "10",
      },
    ]);
  });

  it("refuses older and equal slots, and reports an equal slot with a different state as a conflict", async () => {
    const address = randomAddress();
    const owner = randomAddress();
    const at = (staked: bigint) => userStakeAccount(programId, { owner, pool: target.pool, staked });
    await write.apply([read(address, 20n, await at(100n * KAMIYO))], "backfill");
    const older = await write.apply([read(address, 19n, await at(999n * KAMIYO))], "webhook");
    expect(older).toMatchObject({ applied: 0, refused: 1 });
    expect(older.sameSlotConflicts).toHaveLength(0);
    const sameState = await write.apply([read(address, 20n, await at(100n * KAMIYO))], "ws");
    expect(sameState.applied).toBe(0);
    expect(sameState.sameSlotConflicts).toHaveLength(0);
    const sameSlot = await write.apply([read(address, 20n, await at(200n * KAMIYO))], "ws");
    expect(sameSlot.applied).toBe(0);
    expect(sameSlot.sameSlotConflicts).toEqual([{ address, slot: 20n }]);
    expect((await row(address))?.staked_amount).toBe(100n * KAMIYO);
    expect(await events(address)).toHaveLength(1);
  });

  it("advances the slot without an event when the state is unchanged, so a delayed older read cannot win", async () => {
    const address = randomAddress();
    const owner = randomAddress();
    const at = (staked: bigint) => userStakeAccount(programId, { owner, pool: target.pool, staked });
    await write.apply([read(address, 5n, await at(100n * KAMIYO))], "ws");
    await waitFor("the first write's notice", () => noticesFor(address).length > 0);
    notices = [];
    const same = await write.apply([read(address, 30n, await at(100n * KAMIYO))], "backfill");
    expect(same).toMatchObject({ applied: 1, changed: 0, newestSlot: 30n });
    const delayed = await write.apply([read(address, 20n, await at(300n * KAMIYO))], "webhook");
    expect(delayed.applied).toBe(0);
    expect(await row(address)).toMatchObject({ slot: 30n, staked_amount: 100n * KAMIYO });
    expect(await events(address)).toHaveLength(1);
    await fence();
    expect(noticesFor(address)).toEqual([]);
  });

  it("closes an existing row when its account is gone or not a stake of the pool, and ignores unknown ones", async () => {
    const [a, b, c, unknown] = [randomAddress(), randomAddress(), randomAddress(), randomAddress()];
    const live = (staked: bigint) => userStakeAccount(programId, { pool: target.pool, staked });
    await write.apply([read(a, 1n, await live(600_000n * KAMIYO)), read(b, 1n, await live(5n)), read(c, 1n, await live(5n))], "backfill");
    const otherPool = await userStakeAccount(programId, { pool: randomAddress(), staked: 5n });
    const result = await write.apply(
      [
        read(a, 2n, null),
        read(b, 2n, { owner: programId, lamports: 0n, data: new Uint8Array(0) }),
        read(c, 2n, otherPool),
        read(unknown, 2n, null),
      ],
      "reconcile",
    );
    expect(result).toMatchObject({ applied: 3, changed: 3, refused: 1 });
    for (const address of [a, b, c]) {
      expect(await row(address)).toMatchObject({
        staked_amount: 0n,
        cooldown_amount: 0n,
        cooldown_end: null,
        effective_stake: 0n,
        discount_tier: "none",
        discount_bps: 0,
        closed: true,
        slot: 2n,
      });
    }
    expect(await row(unknown)).toBeUndefined();
    const ev = await events(a);
    expect(ev.map((e) => [e.source, e.closed, e.previous_effective_stake, e.effective_stake])).toEqual([
      ["backfill", false, null, 600_000n * KAMIYO],
      ["reconcile", true, 600_000n * KAMIYO, 0n],
    ]);
    await waitFor("the close's notice", () => noticesFor(a).length >= 2);
    await fence();
    expect(noticesFor(a).map((n) => [n.tier, n.effectiveStake, n.slot])).toEqual([
      ["gold", (600_000n * KAMIYO).toString(), "1"],
      ["none", "0", "2"],
    ]);
    // re-created later (stake's init_if_needed): live again
    const again = await write.apply([read(a, 3n, await live(7n))], "ws");
    expect(again).toMatchObject({ applied: 1, changed: 1 });
    expect(await row(a)).toMatchObject({ closed: false, staked_amount: 7n, slot: 3n });
  });

  it("keeps the newest read per address within a call, across statement batches, with u64 amounts intact", async () => {
    const addresses = Array.from({ length: 7 }, randomAddress);
    const owners = addresses.map(() => randomAddress());
    const reads = [];
    for (const [i, address] of addresses.entries()) {
      const owner = owners[i]!;
      reads.push(read(address, 9n, await userStakeAccount(programId, { owner, pool: target.pool, staked: 1n })));
      reads.push(read(address, 11n, await userStakeAccount(programId, { owner, pool: target.pool, staked: U64_MAX })));
      reads.push(read(address, 10n, await userStakeAccount(programId, { owner, pool: target.pool, staked: 2n })));
    }
    const result = await write.apply(reads, "backfill");
    expect(result).toMatchObject({ applied: 7, changed: 7, newestSlot: 11n });
    for (const address of addresses) {
      expect(await row(address)).toMatchObject({ slot: 11n, staked_amount: U64_MAX, effective_stake: U64_MAX, discount_tier: "platinum" });
      expect(await events(address)).toHaveLength(1);
    }
  });

  it("skips an account that has the UserStake shape but does not decode, and applies the rest", async () => {
    const good = randomAddress();
    const bad = randomAddress();
    const account = await userStakeAccount(programId, { pool: target.pool, staked: 1n });
    const broken = Buffer.from(account.data);
    broken[112] = 9; // no such tier variant
    const result = await write.apply(
      [read(bad, 4n, { ...account, data: broken }), read(good, 4n, account)],
      "backfill",
    );
    expect(result.undecodable).toEqual([expect.objectContaining({ address: bad })]);
    expect(result.applied).toBe(1);
    expect(await row(good)).toBeDefined();
    expect(await row(bad)).toBeUndefined();
  });
});
