import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Config } from "../config/settings.ts";
import { AppError } from "../errors/app-error.ts";
import type { LockHolder } from "../store/data-dir-lock.ts";
import { openStore, queryRows, type Store } from "../store/database.ts";
import { type MigrationStatus, migrate, migrationStatus, refuseNewer } from "../store/migrations.ts";
import { createApiKey } from "../store/repositories/api-keys.ts";
import { countWorkspaces, createWorkspace } from "../store/repositories/workspaces.ts";
import { resolveSecretKey, SecretBox } from "../store/secret-box.ts";
import { pauseForTest } from "./steps.ts";

export type Say = (line: string) => void;

/** How a hub process's connections are named to PostgreSQL, so commands can tell it is running. */
const hubApplicationName = "switchboard hub";

/**
 * Opens the configured store: PostgreSQL when DATABASE_URL is set, else PGlite in the data dir,
 * whose upkeep failures go to `logger` (a short command has none to tell). `holder` is what opens
 * it: the data directory's lock names it, and a hub's connections are named so (see
 * `countHubConnections`).
 */
export async function openConfiguredStore(
  config: Config,
  say: Say,
  { holder, logger }: { holder: LockHolder; logger?: Logger },
): Promise<Store> {
  if (config.databaseUrl) {
    return openStore({
      mode: "server",
      databaseUrl: config.databaseUrl,
      poolSize: config.poolSize,
      applicationName: holder === "hub" ? hubApplicationName : holder,
    });
  }
  const dataDir = resolve(config.dataDir);
  if (!existsSync(join(dataDir, "pglite", "PG_VERSION"))) {
    say(`Initialising the embedded store in ${dataDir} (first start; this takes a few seconds)…`);
  }
  return openStore({
    mode: "embedded",
    dataDir,
    holder,
    onUpkeepFailure: (job, error) =>
      logger?.warn(
        { err: error, job },
        "the embedded store's upkeep failed; it tries again at its next turn",
      ),
  });
}

/**
 * Opens the configured store for `holder`, a command that reads or manages an existing one (keys,
 * secrets, doctor) and must never make one: a data directory without an embedded store (a
 * mistyped `--data-dir`), or a database no hub ever migrated, is refused with `store_not_found`
 * and left as it was; a store a newer version migrated, with `store_newer_than_version`, unless
 * `allowNewer` (doctor, which reports that on its migrations line, as a running hub's diagnosis
 * does). Only `start`, `sandbox` and `migrate` create a store.
 */
export async function openExistingStore(
  config: Config,
  holder: LockHolder,
  { allowNewer = false } = {},
): Promise<Store> {
  if (!config.databaseUrl) {
    const dataDir = resolve(config.dataDir);
    if (!existsSync(join(dataDir, "pglite", "PG_VERSION")))
      throw new AppError("store_not_found", { location: dataDir });
  }
  const store = await openConfiguredStore(config, () => {}, { holder });
  try {
    // An embedded store that was only initialised (an earlier version's doctor did that), or an
    // empty database, holds nothing of a hub's.
    const status = await migrationStatus(store.db);
    if (status.applied === 0) throw new AppError("store_not_found", { location: store.location });
    if (!allowNewer) refuseNewer(status);
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

export function secretBoxFor(config: Config): SecretBox {
  return new SecretBox(
    resolveSecretKey(config.secretKey, config.databaseUrl ? undefined : resolve(config.dataDir)),
  );
}

/** Server mode needs a configured key: said before anything is connected or created. */
export function checkKeyConfigured(config: Config): void {
  if (config.databaseUrl && !config.secretKey) throw new AppError("secret_key_missing");
}

/**
 * The connections hub processes hold to a server store, for commands that must not run beside a
 * hub; none in embedded mode, whose data directory lock keeps a second process out.
 */
export async function countHubConnections(store: Store): Promise<number> {
  if (store.mode === "embedded") return 0;
  const [row] = await queryRows<{ count: number }>(
    store.db,
    sql`select count(*)::int as count from pg_stat_activity where datname = current_database() and application_name = ${hubApplicationName}`,
  );
  return row?.count ?? 0;
}

/**
 * Migrates `store`, saying so when another process is migrating it and this one waits for that;
 * `signal` ends such a wait at once (nothing is cut: this process has not begun), where a signal
 * during the migration itself lets it finish (steps.ts).
 */
export async function migrateStore(store: Store, say: Say, signal?: AbortSignal): Promise<MigrationStatus> {
  await pauseForTest("migrating");
  return migrate(store, {
    signal,
    onWait: () => say("Another process is migrating the store; waiting for it to finish…"),
  });
}

/** Lock id under which one process bootstraps an empty database while others wait. */
export const bootstrapLock = 0x5b0a_0002;

/**
 * Migrates, then on an empty database creates the default workspace and an admin key and
 * prints the key, the only time it is ever shown (or hands it to `onBootstrapKey` instead).
 * `signal` ends a wait for another process's migration or bootstrap.
 */
export async function prepareStore(
  store: Store,
  say: Say,
  signal?: AbortSignal,
  onBootstrapKey: (secret: string) => void = (secret) => announceBootstrapKey(say, secret),
): Promise<void> {
  await migrateStore(store, say, signal);
  const secret = await store.exclusive(
    bootstrapLock,
    async (db) => {
      if ((await countWorkspaces(db)) > 0) return undefined;
      return db.transaction(async (tx) => {
        const workspace = await createWorkspace(tx, "Default workspace");
        return (
          await createApiKey(tx, { workspaceId: workspace.id, name: "bootstrap admin key", admin: true })
        ).secret;
      });
    },
    {
      signal,
      onWait: () => say("Another process is setting up the new store; waiting for it to finish…"),
    },
  );
  if (secret) onBootstrapKey(secret);
}

function announceBootstrapKey(say: Say, secret: string) {
  say("Created the default workspace and its admin API key. It is shown only this once; store it now:");
  say("");
  say(`    ${secret}`);
  say("");
  say(
    "Use it as `Authorization: Bearer <key>`. It makes more with `POST /v1/api-keys` (or `switchboard keys create`; with the embedded store, while the hub is stopped).",
  );
}
