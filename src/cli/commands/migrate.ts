import type { Command } from "commander";
import { endOfStep } from "../../hub/steps.ts";
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
    .option("--json", "print the result as JSON")
    .action(
      action(async (options: Record<string, unknown>) => {
        const config = configFrom(options);
        const { migrateStore, openConfiguredStore } = await import("../../hub/open-store.ts");
        await runStoppable(async (signal) => {
          const store = await openConfiguredStore(config, say, { holder: "switchboard migrate" });
          try {
            await endOfStep(signal);
            const status = await migrateStore(store, say, signal);
            if (options.json) printJson({ store: store.mode, location: store.location, ...status });
            else
              say(
                `Migrations: ${status.applied} of ${status.known} applied (${store.mode} store, ${store.location}).`,
              );
          } finally {
            await store.close();
          }
        });
      }),
    );
}
