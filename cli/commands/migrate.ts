/** `kamiyo-stake migrate [--down]` */
import { createDatabase } from "../../src/db/database.ts";
import { ensureDatabase, migrateDown, migrateToLatest } from "../../src/db/migrate.ts";
import type { CommandModule } from "../command.ts";

export default {
  usage: `Usage: kamiyo-stake migrate [--down]

Creates the database named by DATABASE_URL if it does not exist, then applies every
pending migration from migrations/ in name order and prints the ones it applied.

Options:
  --down      revert the most recently applied migration instead
  -h, --help  show this help`,
  options: { down: { type: "boolean" } },
  async run(args, ctx) {
    const { databaseUrl } = ctx.config();
    const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
    if (await ensureDatabase(databaseUrl)) ctx.stdout.write(`created database ${name}\n`);
    const { db, close } = createDatabase({ url: databaseUrl, max: 1, applicationName: "kamiyo-stake migrate" });
    try {
      if (args.values.down === true) {
        const reverted = await migrateDown(db);
        ctx.stdout.write(reverted.length ? reverted.map((m) => `reverted ${m}\n`).join("") : "no migration to revert\n");
      } else {
        const applied = await migrateToLatest(db);
        ctx.stdout.write(applied.length ? applied.map((m) => `applied ${m}\n`).join("") : `database ${name} is up to date\n`);
      }
    } finally {
      await close();
    }
  },
} satisfies CommandModule;
