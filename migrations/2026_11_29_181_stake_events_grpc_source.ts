/** Stake events applied from the Yellowstone gRPC live source are recorded as source 'grpc'. */
import { sql, type Kysely } from "kysely";

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE stake_events DROP CONSTRAINT stake_events_source_known`.execute(db);
  await sql`
    ALTER TABLE stake_events ADD CONSTRAINT stake_events_source_known
      CHECK (source IN ('ws', 'grpc', 'webhook', 'backfill', 'reconcile', 'resync'))
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE stake_events DROP CONSTRAINT stake_events_source_known`.execute(db);
  await sql`
    ALTER TABLE stake_events ADD CONSTRAINT stake_events_source_known
      CHECK (source IN ('ws', 'webhook', 'backfill', 'reconcile', 'resync'))
  `.execute(db);
}
