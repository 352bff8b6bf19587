import { Command, type CommanderError } from "commander";
import { apiVersion } from "../version.ts";
import { registerDoctor } from "./commands/doctor.ts";
import { registerKeys } from "./commands/keys.ts";
import { registerMigrate } from "./commands/migrate.ts";
import { registerSandbox } from "./commands/sandbox.ts";
import { registerSecrets } from "./commands/secrets.ts";
import { registerStart } from "./commands/start.ts";

// A reader that stops early (`switchboard doctor | head -1`) closes the pipe: the rest of the
// output goes nowhere, and the command ends with its own exit code instead of a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
});

// Each command loads what it runs (the hub, the store) only when it runs: `--help`, usage mistakes
// and settings errors answer without loading the whole hub, in half the time.
const program = new Command("switchboard")
  .description("Switchboard: self-hosted omnichannel messaging hub")
  .version(apiVersion)
  .showHelpAfterError()
  // Usage mistakes exit with 2, like configuration errors; help and version with 0. Subcommands
  // created after this inherit it.
  .exitOverride((error: CommanderError) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

registerStart(program);
registerMigrate(program);
registerKeys(program);
registerDoctor(program);
registerSandbox(program);
registerSecrets(program);

await program.parseAsync();
