import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { readMigrationFiles } from "drizzle-orm/migrator";
import type { PgDialect, PgSession } from "drizzle-orm/pg-core";
import { type Db, queryRows, type Store } from "./database.ts";

const migrationsFolder = fileURLToPath(new URL("./migrations", import.meta.url));
const migrationsSchema = "drizzle";
const migrationsTable = "__drizzle_migrations";
/** Advisory lock id under which one hub process migrates while the others wait. */
export const migrationLock = 0x5b0a_0001;

export interface MigrationStatus {
  applied: number;
  known: number;
}

/** Applies every pending migration. Safe to call from many processes at once. */
export async function migrate(store: Store): Promise<MigrationStatus> {
  const migrations = readMigrationFiles({ migrationsFolder });
  await store.exclusive(migrationLock, async (db) => {
    // Drizzle's migrator lives on the dialect; both drivers expose the same internals.
    const internals = db as unknown as { dialect: PgDialect; session: PgSession };
    await internals.dialect.migrate(migrations, internals.session, {
      migrationsFolder,
      migrationsSchema,
      migrationsTable,
    });
  });
  return migrationStatus(store.db);
}

export async function migrationStatus(db: Db): Promise<MigrationStatus> {
  const known = readMigrationFiles({ migrationsFolder });
  const [table] = await queryRows<{ present: boolean }>(
    db,
    sql`select to_regclass(${`${migrationsSchema}.${migrationsTable}`}) is not null as present`,
  );
  if (!table?.present) return { applied: 0, known: known.length };
  const rows = await queryRows<{ created_at: string }>(
    db,
    sql`select created_at from ${sql.identifier(migrationsSchema)}.${sql.identifier(migrationsTable)}`,
  );
  const applied = new Set(rows.map((row) => Number(row.created_at)));
  return { applied: known.filter((m) => applied.has(m.folderMillis)).length, known: known.length };
}
