import type { Command } from "commander";
import { loadConfig } from "../config/load-config.ts";
import { type Config, type SettingName, settings } from "../config/settings.ts";

/** The settings that locate the store; every command that opens it takes these. */
export const storeSettings: SettingName[] = ["dataDir", "databaseUrl", "poolSize"];

/**
 * Adds `--config` and a flag for each named setting, with its help, env var and default;
 * `ownDefaults` are the defaults a command applies itself, which neither the environment nor the
 * config file changes (the sandbox's data directory).
 */
export function withSettings(
  command: Command,
  names: SettingName[] = Object.keys(settings) as SettingName[],
  ownDefaults: Partial<Record<SettingName, unknown>> = {},
) {
  command.option("--config <file>", "JSON config file (env SWITCHBOARD_CONFIG)");
  for (const name of names) {
    const spec = settings[name];
    if (!("flag" in spec) || !spec.flag) continue;
    const source =
      name in ownDefaults
        ? `default ${JSON.stringify(ownDefaults[name])}`
        : `env ${spec.env}${"default" in spec ? `; default ${JSON.stringify(spec.default)}` : ""}`;
    command.option(`--${spec.flag} <value>`, `${spec.help} (${source})`);
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
