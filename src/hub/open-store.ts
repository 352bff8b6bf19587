import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { sql } from "drizzle-orm";
import type { Logger } from "pino";
import type { Config } from "../config/settings.ts";
import { AppError, type Translated } from "../errors/app-error.ts";
import { type Db, openStore, queryRows, type Store } from "../store/database.ts";
import { migrate, migrationStatus } from "../store/migrations.ts";
import { createApiKey } from "../store/repositories/api-keys.ts";
import { countWorkspaces, createWorkspace } from "../store/repositories/workspaces.ts";
import { resolveSecretKey, SecretBox } from "../store/secret-box.ts";

export type Say = (line: string) => void;

/**
 * Opens the configured store: PostgreSQL when DATABASE_URL is set, else PGlite in the data dir,
 * whose upkeep failures go to `logger` (a short command has none to tell).
 */
export async function openConfiguredStore(config: Config, say: Say, logger?: Logger): Promise<Store> {
  if (config.databaseUrl) {
    return openStore({ mode: "server", databaseUrl: config.databaseUrl, poolSize: config.poolSize });
  }
  const dataDir = resolve(config.dataDir);
  if (!existsSync(join(dataDir, "pglite", "PG_VERSION"))) {
    say(`Initialising the embedded store in ${dataDir} (first start; this takes a few seconds)…`);
  }
  return openStore({
    mode: "embedded",
    dataDir,
    onUpkeepFailure: (job, error) =>
      logger?.warn(
        { err: error, job },
        "the embedded store's upkeep failed; it tries again at its next turn",
      ),
  });
}

/**
 * Opens the configured store for a command that reads or manages an existing one (keys, doctor)
 * and must never make one: a data directory without an embedded store (a mistyped `--data-dir`),
 * or a database no hub ever migrated, is refused with `store_not_found` and left as it was.
 * Only `start`, `sandbox` and `migrate` create a store.
 */
export async function openExistingStore(config: Config, logger?: Logger): Promise<Store> {
  if (!config.databaseUrl) {
    const dataDir = resolve(config.dataDir);
    if (!existsSync(join(dataDir, "pglite", "PG_VERSION")))
      throw new AppError("store_not_found", { location: dataDir });
  }
  const store = await openConfiguredStore(config, () => {}, logger);
  try {
    // An embedded store that was only initialised (an earlier version's doctor did that), or an
    // empty database, holds nothing of a hub's.
    if ((await migrationStatus(store.db)).applied === 0)
      throw new AppError("store_not_found", { location: store.location });
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

/** The columns whose values are sealed with the hub's key (see secret-box.ts), by table. */
const sealedColumns = [
  ["channel_account", "credentials"],
  ["webhook_endpoint", "secret"],
  ["webhook_settings", "callback_secret"],
] as const;

/** One sealed value of each kind the store holds; none of a kind whose table is not there yet. */
async function sealedSamples(db: Db): Promise<string[]> {
  const samples: string[] = [];
  for (const [table, column] of sealedColumns) {
    const [found] = await queryRows<{ present: boolean }>(
      db,
      sql`select to_regclass(${table}) is not null as present`,
    );
    if (!found?.present) continue;
    const [row] = await queryRows<{ sealed: string }>(
      db,
      sql`select ${sql.identifier(column)} as sealed from ${sql.identifier(table)} where ${sql.identifier(column)} is not null limit 1`,
    );
    if (row) samples.push(row.sealed);
  }
  return samples;
}

function opensAll(key: Buffer | undefined, samples: string[]): boolean {
  if (key?.length !== 32) return false;
  const box = new SecretBox(key);
  try {
    for (const sealed of samples) box.open(sealed);
    return true;
  } catch (error) {
    if (error instanceof AppError && error.code === "secret_key_mismatch") return false;
    throw error;
  }
}

/**
 * Checks, before anything in the store changes, that the hub's key opens the secrets the store
 * already holds (one of each kind: channel tokens, webhook signing secrets, the callback secret),
 * and refuses with `store_secret_key_mismatch` naming the key the store needs. It writes nothing:
 * in embedded mode without a configured key it reads the data directory's key file if there is
 * one, and never generates it. Returns how many kinds of secret the store holds.
 */
export async function checkStoreKey(config: Config, store: Store): Promise<number> {
  checkKeyConfigured(config);
  const samples = await sealedSamples(store.db);
  if (samples.length === 0) return 0;
  const keyFile = config.databaseUrl ? undefined : join(resolve(config.dataDir), "secret.key");
  const fileKey =
    keyFile && existsSync(keyFile) ? Buffer.from(readFileSync(keyFile, "utf8").trim(), "base64") : undefined;
  const configured = config.secretKey ? Buffer.from(config.secretKey, "base64") : undefined;
  if (opensAll(configured ?? fileKey, samples)) return samples.length;
  let key: Translated;
  let needed: Translated;
  if (configured) {
    key = { en: "The configured SWITCHBOARD_SECRET_KEY", ru: "Настроенный SWITCHBOARD_SECRET_KEY" };
    needed =
      keyFile && opensAll(fileKey, samples)
        ? {
            en: `the one in ${keyFile}, which the hub uses when SWITCHBOARD_SECRET_KEY is not set: unset SWITCHBOARD_SECRET_KEY (and \`secretKey\` in the config file), or set it to that file's content.`,
            ru: `ключ из ${keyFile}, которым хаб пользуется, когда SWITCHBOARD_SECRET_KEY не задан: уберите SWITCHBOARD_SECRET_KEY (и \`secretKey\` в файле настроек) или задайте в нём содержимое этого файла.`,
          }
        : {
            en: "the SWITCHBOARD_SECRET_KEY the hub had when they were stored (every hub process on one database needs that same key).",
            ru: "тот SWITCHBOARD_SECRET_KEY, который был у хаба, когда они сохранялись (всем процессам хаба на одной базе нужен этот же ключ).",
          };
  } else {
    key = fileKey
      ? { en: `The key in ${keyFile}`, ru: `Ключ из ${keyFile}` }
      : {
          en: `Without a key (SWITCHBOARD_SECRET_KEY is not set, and ${keyFile} does not exist), the hub`,
          ru: `Без ключа (SWITCHBOARD_SECRET_KEY не задан, а файла ${keyFile} нет) хаб`,
        };
    needed = {
      en: `the SWITCHBOARD_SECRET_KEY the hub had when they were stored, if it had one (set it again); otherwise the ${keyFile} of that time (restore it from the backup of the data directory).`,
      ru: `тот SWITCHBOARD_SECRET_KEY, который был у хаба, когда они сохранялись, если он был задан (задайте его снова); иначе тот ${keyFile}, что был тогда (восстановите его из резервной копии каталога данных).`,
    };
  }
  throw new AppError("store_secret_key_mismatch", { location: store.location, key, needed });
}

/** Lock id under which one process bootstraps an empty database while others wait. */
const bootstrapLock = 0x5b0a_0002;

/**
 * Migrates, then on an empty database creates the default workspace and an admin key and
 * prints the key: the only time it is ever shown.
 */
export async function prepareStore(store: Store, say: Say): Promise<void> {
  await migrate(store);
  const secret = await store.exclusive(bootstrapLock, async (db) => {
    if ((await countWorkspaces(db)) > 0) return undefined;
    return db.transaction(async (tx) => {
      const workspace = await createWorkspace(tx, "Default workspace");
      return (await createApiKey(tx, { workspaceId: workspace.id, name: "bootstrap admin key", admin: true }))
        .secret;
    });
  });
  if (secret) {
    say("Created the default workspace and its admin API key. It is shown only this once; store it now:");
    say("");
    say(`    ${secret}`);
    say("");
    say("Use it as `Authorization: Bearer <key>`; `switchboard keys create` makes more.");
  }
}
