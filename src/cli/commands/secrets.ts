import type { Command } from "commander";
import { storeSettings, withSettings } from "../options.ts";
import { action } from "../output.ts";

export function registerSecrets(program: Command) {
  const secrets = program
    .command("secrets")
    .description("Change the encryption key, or recover from losing it (works on the store directly)");

  withSettings(
    secrets
      .command("forget")
      .description(
        "List the stored secrets the hub's key cannot open and, with --yes, drop them: channel tokens, webhook signing secrets",
      ),
    storeSettings,
  )
    .option("--yes", "forget them (without it, nothing changes)")
    .option("--json", "print the result as JSON")
    .action(
      action(async (options: Record<string, unknown>) => {
        const { forget } = await import("./secrets-actions.ts");
        await forget(options);
      }),
    );

  withSettings(
    secrets
      .command("rekey")
      .description(
        "Reseal every stored secret with SWITCHBOARD_SECRET_KEY; SWITCHBOARD_PREVIOUS_SECRET_KEY is the key they are sealed with now",
      ),
    storeSettings,
  )
    .option("--json", "print the result as JSON")
    .action(
      action(async (options: Record<string, unknown>) => {
        const { rekey } = await import("./secrets-actions.ts");
        await rekey(options);
      }),
    );
}
