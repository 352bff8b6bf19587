import type { Command } from "commander";
import { loadConfig } from "../config/load-config.ts";
import { type Config, type SettingName, settings } from "../config/settings.ts";

/** The settings that locate the store; every command that opens it takes these. */
export const storeSettings: SettingName[] = ["dataDir", "databaseUrl", "poolSize"];

/** Adds `--config` and a flag for each named setting, with its help, env var and default. */
export function withSettings(
  command: Command,
  names: SettingName[] = Object.keys(settings) as SettingName[],
) {
  command.option("--config <file>", "JSON config file (env SWITCHBOARD_CONFIG)");
  for (const name of names) {
    const spec = settings[name];
    if (!("flag" in spec) || !spec.flag) continue;
    const fallback = "default" in spec ? `; default ${JSON.stringify(spec.default)}` : "";
    command.option(`--${spec.flag} <value>`, `${spec.help} (env ${spec.env}${fallback})`);
  }
  return command;
}

/** Resolves the configuration from a command's parsed options plus the environment and file. */
export function configFrom(options: Record<string, unknown>): Config {
  const flags: Partial<Record<SettingName, unknown>> = {};
  for (const name of Object.keys(settings) as SettingName[]) {
    if (options[name] !== undefined) flags[name] = options[name];
  }
  return loadConfig({ flags, configFile: options.config as string | undefined });
}
