import type { Command } from "commander";
import type { Say } from "../../hub/open-store.ts";
import { endOfStep } from "../../hub/steps.ts";
import type { MigrationStatus } from "../../store/migrations.ts";
import { configFrom, storeSettings, withSettings } from "../options.ts";
import { action, printJson, say } from "../output.ts";
import { runStoppable } from "../signals.ts";

export function registerMigrate(program: Command) {
  withSettings(
    program
      .command("migrate")
      .description("Apply pending database migrations (the hub also does this when it starts)"),
    storeSettings,
  )
    .option(
      "--dry-run",
      "apply nothing: say what is pending, and whether hubs of the older version may go on running beside it",
    )
    .option("--json", "print the result as JSON")
    .action(
      action(async (options: Record<string, unknown>) => {
        const config = configFrom(options);
        const { migrateStore, openConfiguredStore, openExistingStore } = await import(
          "../../hub/open-store.ts"
        );
        await runStoppable(async (signal) => {
          const store = options.dryRun
            ? await openExistingStore(config, "switchboard migrate")
            : await openConfiguredStore(config, say, { holder: "switchboard migrate" });
          try {
            await endOfStep(signal);
            const { migrationStatus } = await import("../../store/migrations.ts");
            const status = options.dryRun
              ? await migrationStatus(store.db)
              : await migrateStore(store, say, signal);
            if (options.json)
              printJson({
                store: store.mode,
                location: store.location,
                applied: status.applied,
                known: status.known,
                newer: status.newer,
                pending: status.known - status.applied,
                pending_not_additive: status.pendingBreaking,
              });
            else {
              say(
                `Migrations: ${status.applied} of ${status.known} applied (${store.mode} store, ${store.location}).`,
              );
              if (options.dryRun) sayWhatIsPending(status, say);
            }
          } finally {
            await store.close();
          }
        });
      }),
    );
}

function sayWhatIsPending(status: MigrationStatus, say: Say) {
  const pending = status.known - status.applied;
  if (pending === 0) say("Nothing to apply.");
  else if (status.pendingBreaking === 0)
    say(
      `${pending} to apply, all additive: hubs of the older version may go on running while it is applied and after (a rolling upgrade).`,
    );
  else
    say(
      `${pending} to apply, ${status.pendingBreaking} of them not additive: stop every hub of the older version before applying them.`,
    );
}
