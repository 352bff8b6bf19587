import type { Command } from "commander";
import { AppError } from "../../errors/app-error.ts";
import { endOfStep } from "../../hub/steps.ts";
import type { LockHolder } from "../../store/data-dir-lock.ts";
import type { Db } from "../../store/database.ts";
import type { ApiKey } from "../../store/repositories/api-keys.ts";
import { configFrom, storeSettings, withSettings } from "../options.ts";
import { action, printJson, say } from "../output.ts";
import { runStoppable } from "../signals.ts";

/** The repositories the key commands work with, loaded when one runs (see main.ts). */
const loadRepositories = async () => ({
  ...(await import("../../store/repositories/api-keys.ts")),
  ...(await import("../../store/repositories/workspaces.ts")),
});
type Repositories = Awaited<ReturnType<typeof loadRepositories>>;

/**
 * Runs `work`, the command `holder`, on the configured store, migrated and bootstrapped, and
 * closes it after; a signal stops it between those steps (see runStoppable). The store must
 * exist: a key in a store that no hub uses would be no use (see openExistingStore).
 */
async function withDb(
  holder: LockHolder,
  options: Record<string, unknown>,
  work: (db: Db, repositories: Repositories) => Promise<void>,
) {
  const config = configFrom(options);
  const { openExistingStore, prepareStore } = await import("../../hub/open-store.ts");
  const repositories = await loadRepositories();
  await runStoppable(async (signal) => {
    const store = await openExistingStore(config, holder);
    try {
      await endOfStep(signal);
      await prepareStore(store, say, signal);
      await endOfStep(signal);
      await work(store.db, repositories);
    } finally {
      await store.close();
    }
  });
}

const describeKey = (k: ApiKey) => ({
  id: k.id,
  workspace_id: k.workspaceId,
  name: k.name,
  prefix: k.prefix,
  admin: k.admin,
  created_at: k.createdAt.toISOString(),
  last_used_at: k.lastUsedAt?.toISOString() ?? null,
  revoked_at: k.revokedAt?.toISOString() ?? null,
});

export function registerKeys(program: Command) {
  const keys = program.command("keys").description("Manage API keys (works on the store directly)");

  withSettings(keys.command("create").description("Create an API key and print it once"), storeSettings)
    .option("--name <name>", "what the key is for", "API key")
    .option("--admin", "allow managing workspaces")
    .option("--workspace <id>", "workspace of the key (default: the default workspace)")
    .option("--json", "print the result as JSON")
    .action(
      action(async (options: Record<string, unknown>) => {
        await withDb(
          "switchboard keys create",
          options,
          async (db, { createApiKey, getWorkspace, oldestWorkspace }) => {
            const workspaceId = options.workspace as string | undefined;
            const workspace = workspaceId ? await getWorkspace(db, workspaceId) : await oldestWorkspace(db);
            if (!workspace) throw new AppError("workspace_not_found", { id: workspaceId ?? "(default)" });
            const { key, secret } = await createApiKey(db, {
              workspaceId: workspace.id,
              name: options.name as string,
              admin: Boolean(options.admin),
            });
            if (options.json) printJson({ ...describeKey(key), key: secret });
            else {
              say(
                `Created ${key.admin ? "admin " : ""}key ${key.id} "${key.name}" in workspace ${workspace.name}.`,
              );
              say("The key is shown only this once:");
              process.stdout.write(`${secret}\n`);
            }
          },
        );
      }),
    );

  withSettings(keys.command("list").description("List API keys"), storeSettings)
    .option("--workspace <id>", "only this workspace's keys")
    .option("--json", "print the result as JSON")
    .action(
      action(async (options: Record<string, unknown>) => {
        await withDb("switchboard keys list", options, async (db, { getWorkspace, listApiKeys }) => {
          const workspaceId = options.workspace as string | undefined;
          // An id that is no workspace's (or no id at all) is said so, not listed as no keys.
          if (workspaceId !== undefined && !(await getWorkspace(db, workspaceId)))
            throw new AppError("workspace_not_found", { id: workspaceId });
          const all: ApiKey[] = [];
          let cursor: string | undefined;
          do {
            const page = await listApiKeys(db, workspaceId, {
              cursor,
              limit: 200,
            });
            all.push(...page.items);
            cursor = page.nextCursor ?? undefined;
          } while (cursor);
          if (options.json) return printJson(all.map(describeKey));
          for (const k of all) {
            const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : "active";
            process.stdout.write(
              `${k.id}  ${k.prefix}…  ${k.admin ? "admin " : "member"}  ${state.padEnd(8)}  ${k.name}  (workspace ${k.workspaceId})\n`,
            );
          }
        });
      }),
    );

  withSettings(
    keys.command("revoke").description("Revoke an API key").argument("<id>", "the key's id"),
    storeSettings,
  )
    .option("--json", "print the result as JSON")
    .action(
      action(async (id: string, options: Record<string, unknown>) => {
        await withDb("switchboard keys revoke", options, async (db, { revokeApiKey }) => {
          // Revoking a revoked key changes nothing and succeeds, as the API's revoke does, but says so.
          const { key, alreadyRevoked } = await revokeApiKey(db, id, { admin: true });
          if (options.json) printJson({ ...describeKey(key), already_revoked: alreadyRevoked });
          else if (alreadyRevoked)
            say(
              `Key ${key.id} "${key.name}" was already revoked at ${key.revokedAt.toISOString()}; nothing changed.`,
            );
          else say(`Revoked key ${key.id} "${key.name}".`);
        });
      }),
    );
}
