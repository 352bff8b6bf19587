import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Logger } from "pino";
import type { Config } from "../config/settings.ts";
import { openStore, type Store } from "../store/database.ts";
import { migrate } from "../store/migrations.ts";
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

export function secretBoxFor(config: Config): SecretBox {
  return new SecretBox(
    resolveSecretKey(config.secretKey, config.databaseUrl ? undefined : resolve(config.dataDir)),
  );
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
