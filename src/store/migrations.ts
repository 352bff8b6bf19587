import { fileURLToPath } from "node:url";
import { sql } from "drizzle-orm";
import { type MigrationMeta, readMigrationFiles } from "drizzle-orm/migrator";
import type { PgDialect, PgSession } from "drizzle-orm/pg-core";
import { AppError } from "../errors/app-error.ts";
import { type Db, type LockWait, queryRows, type Store } from "./database.ts";

const migrationsFolder = fileURLToPath(new URL("./migrations", import.meta.url));
const migrationsSchema = "drizzle";
const migrationsTable = "__drizzle_migrations";
/** The applied migrations that were additive, by their `created_at`, beside Drizzle's own table. */
const additiveTable = "switchboard_additive_migrations";
/** Advisory lock id under which one hub process migrates while the others wait. */
export const migrationLock = 0x5b0a_0001;

/**
 * The first line of an additive migration's file. A migration is additive when hubs of the
 * version before it can go on running on the store it leaves, so that hub processes can be
 * upgraded one at a time: it only adds (tables, indexes, columns that are nullable or have a
 * default) and the new version reads rows the older one writes. Every other migration needs the
 * older version's hubs stopped first.
 */
export const additiveMarker = "-- additive";

export type Migration = MigrationMeta & { additive: boolean };

let known: Migration[] | undefined;

/** This version's migrations, oldest first. Read once: the files do not change while it runs. */
export function knownMigrations(): readonly Migration[] {
  known ??= readMigrationFiles({ migrationsFolder }).map((m) => ({
    ...m,
    additive: isMarkedAdditive(m.sql),
  }));
  return known;
}

/** Whether a migration's statements begin with the additive marker's line. */
export function isMarkedAdditive(statements: readonly string[]): boolean {
  return (statements[0] ?? "").split("\n", 1)[0]?.trim() === additiveMarker;
}

export interface MigrationStatus {
  /** This version's migrations that the store has. */
  applied: number;
  /** This version's migrations. */
  known: number;
  /** Migrations the store has that this version does not know: a newer version migrated it. */
  newer: number;
  /** Of the newer migrations, those that are not additive: this version would misread the store. */
  newerBreaking: number;
  /** Of this version's migrations the store lacks, those that are not additive. */
  pendingBreaking: number;
}

/**
 * Applies every pending migration. Safe to call from many processes at once: one migrates while
 * the others wait as `wait` says. A store a newer version migrated is refused
 * (`store_newer_than_version`) unless every migration this version does not know is additive:
 * this version would misread it, and Drizzle's migrator would silently apply nothing.
 */
export async function migrate(store: Store, wait?: LockWait): Promise<MigrationStatus> {
  await store.exclusive(
    migrationLock,
    async (db) => {
      refuseNewer(await migrationStatus(db));
      // Drizzle's migrator lives on the dialect; both drivers expose the same internals.
      const internals = db as unknown as { dialect: PgDialect; session: PgSession };
      await internals.dialect.migrate([...knownMigrations()], internals.session, {
        migrationsFolder,
        migrationsSchema,
        migrationsTable,
      });
      await recordAdditive(db);
    },
    wait,
  );
  return migrationStatus(store.db);
}

/**
 * Writes down which of the applied migrations are additive, for older versions to read: only
 * the version that made a migration knows. Each version writes its own, so a store migrated
 * before this table existed gets it at the next migration.
 */
async function recordAdditive(db: Db) {
  const table = sql`${sql.identifier(migrationsSchema)}.${sql.identifier(additiveTable)}`;
  await db.execute(sql`create table if not exists ${table} (created_at bigint primary key)`);
  const additive = knownMigrations().filter((m) => m.additive);
  if (additive.length === 0) return;
  await db.execute(sql`
    insert into ${table} (created_at)
    select unnest(${sql.param(additive.map((m) => m.folderMillis))}::bigint[])
    on conflict do nothing`);
}

export async function migrationStatus(db: Db): Promise<MigrationStatus> {
  const known = knownMigrations();
  const [tables] = await queryRows<{ migrations: boolean; additive: boolean }>(
    db,
    sql`select to_regclass(${`${migrationsSchema}.${migrationsTable}`}) is not null as migrations,
      to_regclass(${`${migrationsSchema}.${additiveTable}`}) is not null as additive`,
  );
  const pendingBreaking = known.filter((m) => !m.additive).length;
  if (!tables?.migrations)
    return { applied: 0, known: known.length, newer: 0, newerBreaking: 0, pendingBreaking };
  const createdAt = async (table: string) =>
    (
      await queryRows<{ created_at: string }>(
        db,
        sql`select created_at from ${sql.identifier(migrationsSchema)}.${sql.identifier(table)}`,
      )
    ).map((row) => Number(row.created_at));
  const applied = new Set(await createdAt(migrationsTable));
  const additive = new Set(tables.additive ? await createdAt(additiveTable) : []);
  const ours = new Set(known.map((m) => m.folderMillis));
  const newer = [...applied].filter((at) => !ours.has(at));
  const pending = known.filter((m) => !applied.has(m.folderMillis));
  return {
    applied: known.length - pending.length,
    known: known.length,
    newer: newer.length,
    newerBreaking: newer.filter((at) => !additive.has(at)).length,
    pendingBreaking: pending.filter((m) => !m.additive).length,
  };
}

/** Throws `store_newer_than_version` when a newer version has migrated the store in a way this one would misread. */
export function refuseNewer(status: MigrationStatus): void {
  if (status.newerBreaking > 0)
    throw new AppError("store_newer_than_version", {
      newer: status.newer,
      breaking: status.newerBreaking,
      known: status.known,
    });
}
