import type { Command } from "commander";
import { AppError } from "../../errors/app-error.ts";
import { configFrom, withSettings } from "../options.ts";
import { action } from "../output.ts";

const sandboxDataDir = "./data-sandbox";
/** The sandbox's terminal is for its own lines: only warnings and errors are logged, unless set. */
const sandboxDefaults = { logLevel: "warn" };

/** The emulator's port, checked as the hub's own `port` setting is. */
function portOption(value: unknown): number {
  if (typeof value === "string" && /^\d{1,5}$/.test(value) && Number(value) <= 65535) return Number(value);
  throw new AppError("config_invalid", {
    setting: "emulatorPort",
    source: "flag --emulator-port",
    value: JSON.stringify(value),
    expected: "an integer from 0 to 65535",
  });
}

/**
 * The hub with a VK emulator beside it and a demo community connected through the public API,
 * so that a new user sees messages flow without a VK account (sandbox-demo.ts). Sandbox data
 * lives in its own directory (./data-sandbox) and never mixes with a real hub's.
 */
export function registerSandbox(program: Command) {
  withSettings(
    program
      .command("sandbox")
      .description("Run the hub with a VK emulator and a connected demo community, to try it without VK"),
    ["host", "port", "dataDir", "logLevel", "egressAllow"],
    { dataDir: sandboxDataDir },
    sandboxDefaults,
  )
    .option("--emulator-port <port>", "port of the VK emulator and its page", "8090")
    .action(
      action(async (options: Record<string, unknown>) => {
        const dataDir = (options.dataDir as string | undefined) ?? sandboxDataDir;
        // Always the embedded store: a DATABASE_URL meant for a real hub must not receive the demo.
        const base = {
          ...configFrom({ ...options, dataDir }, sandboxDefaults),
          databaseUrl: undefined,
        };
        const emulatorPort = portOption(options.emulatorPort);
        const { runSandbox } = await import("./sandbox-demo.ts");
        await runSandbox(base, emulatorPort);
      }),
    );
}
