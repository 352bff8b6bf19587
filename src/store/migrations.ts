import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { readMigrationFiles } from "drizzle-orm/migrator";
import type { PgDialect, PgSession } from "drizzle-orm/pg-core";
import { AppError } from "../errors/app-error.ts";
import { type Db, type LockWait, queryRows, type Store } from "./database.ts";

const migrationsFolder = fileURLToPath(new URL("./migrations", import.meta.url));
const migrationsSchema = "drizzle";
const migrationsTable = "__drizzle_migrations";
/** Advisory lock id under which one hub process migrates while the others wait. */
export const migrationLock = 0x5b0a_0001;

export interface MigrationStatus {
  /** This version's migrations that the store has. */
  applied: number;
  /** This version's migrations. */
  known: number;
  /** Migrations the store has that this version does not know: a newer version migrated it. */
  newer: number;
}

/**
 * Applies every pending migration. Safe to call from many processes at once: one migrates while
 * the others wait as `wait` says. A store a newer version migrated is refused
 * (`store_newer_than_version`): this version would misread it, and Drizzle's migrator would
 * silently apply nothing.
 */
export async function migrate(store: Store, wait?: LockWait): Promise<MigrationStatus> {
  const migrations = readMigrationFiles({ migrationsFolder });
  await store.exclusive(
    migrationLock,
    async (db) => {
      refuseNewer(await migrationStatus(db));
      // Drizzle's migrator lives on the dialect; both drivers expose the same internals.
      const internals = db as unknown as { dialect: PgDialect; session: PgSession };
      await internals.dialect.migrate(migrations, internals.session, {
        migrationsFolder,
        migrationsSchema,
        migrationsTable,
      });
    },
    wait,
  );
  return migrationStatus(store.db);
}

export async function migrationStatus(db: Db): Promise<MigrationStatus> {
  const known = readMigrationFiles({ migrationsFolder });
  const [table] = await queryRows<{ present: boolean }>(
    db,
    sql`select to_regclass(${`${migrationsSchema}.${migrationsTable}`}) is not null as present`,
  );
  if (!table?.present) return { applied: 0, known: known.length, newer: 0 };
  const rows = await queryRows<{ created_at: string }>(
    db,
    sql`select created_at from ${sql.identifier(migrationsSchema)}.${sql.identifier(migrationsTable)}`,
  );
  const applied = new Set(rows.map((row) => Number(row.created_at)));
  const ours = new Set(known.map((m) => m.folderMillis));
  return {
    applied: known.filter((m) => applied.has(m.folderMillis)).length,
    known: known.length,
    newer: [...applied].filter((createdAt) => !ours.has(createdAt)).length,
  };
}

/** Throws `store_newer_than_version` when a newer version has migrated the store. */
export function refuseNewer(status: MigrationStatus): void {
  if (status.newer > 0)
    throw new AppError("store_newer_than_version", { newer: status.newer, known: status.known });
}
