import type { Command } from "commander";
import { loadConfig } from "../config/load-config.ts";
import { type Config, type SettingName, settings } from "../config/settings.ts";

/** The settings that locate the store; every command that opens it takes these. */
export const storeSettings: SettingName[] = ["dataDir", "databaseUrl", "poolSize"];

type Defaults = Partial<Record<SettingName, unknown>>;

/**
 * Adds `--config` and a flag for each named setting, with its help, env var and default;
 * `ownDefaults` are the defaults a command applies itself, which neither the environment nor the
 * config file changes (the sandbox's data directory); `defaults` replace the settings' defaults,
 * below the environment and the config file (the sandbox's log level), as `configFrom` must be
 * given them too.
 */
export function withSettings(
  command: Command,
  names: SettingName[] = Object.keys(settings) as SettingName[],
  ownDefaults: Defaults = {},
  defaults: Defaults = {},
) {
  command.option("--config <file>", "JSON config file (env SWITCHBOARD_CONFIG)");
  for (const name of names) {
    const spec = settings[name];
    if (!("flag" in spec) || !spec.flag) continue;
    const fallback = name in defaults ? { default: defaults[name] } : spec;
    const source =
      name in ownDefaults
        ? `default ${JSON.stringify(ownDefaults[name])}`
        : `env ${spec.env}${"default" in fallback ? `; default ${JSON.stringify(fallback.default)}` : ""}`;
    command.option(`--${spec.flag} <value>`, `${spec.help} (${source})`);
  }
  return command;
}

/**
 * Resolves the configuration from a command's parsed options plus the environment and file, with
 * the command's own `defaults` (those it gave `withSettings`).
 */
export function configFrom(options: Record<string, unknown>, defaults: Defaults = {}): Config {
  const flags: Defaults = {};
  for (const name of Object.keys(settings) as SettingName[]) {
    if (options[name] !== undefined) flags[name] = options[name];
  }
  return loadConfig({ flags, configFile: options.config as string | undefined, defaults });
}
