import { readFileSync } from "node:fs";
import { AppError, type Translated } from "../errors/app-error.ts";
import { type Config, type SettingName, settings } from "./settings.ts";

export interface ConfigSources {
  /** Values given on the command line, by setting name. */
  flags?: Partial<Record<SettingName, unknown>>;
  env?: Record<string, string | undefined>;
  /** Path of a JSON config file; defaults to SWITCHBOARD_CONFIG. */
  configFile?: string;
  /** A command's own defaults, in place of the settings' (the sandbox logs less). */
  defaults?: Partial<Record<SettingName, unknown>>;
}

const secretSettings = new Set<SettingName>(["secretKey", "previousSecretKey", "databaseUrl"]);

/**
 * Resolves every setting from, in order of precedence: flags, environment, config file,
 * default. The first invalid value stops with `config_invalid`, naming the setting, where the
 * value came from and what was expected.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const flags = sources.flags ?? {};
  const filePath = sources.configFile ?? nonEmpty(env.SWITCHBOARD_CONFIG);
  const file = filePath ? readConfigFile(filePath) : {};

  const config: Record<string, unknown> = {};
  const origins = new Map<SettingName, string>();
  for (const name of Object.keys(settings) as SettingName[]) {
    const spec = settings[name];
    const [raw, source] = pick(name, [
      [flags[name], `flag --${"flag" in spec ? spec.flag : name}`],
      [nonEmpty(env[spec.env]), `environment variable ${spec.env}`],
      [file[name], `config file ${filePath}`],
    ]);
    if (raw === undefined) {
      config[name] =
        sources.defaults && name in sources.defaults
          ? sources.defaults[name]
          : "default" in spec
            ? spec.default
            : undefined;
      continue;
    }
    const parsed = (spec.schema as import("zod").ZodType).safeParse(raw);
    if (!parsed.success) {
      throw new AppError(
        "config_invalid",
        {
          setting: name,
          source,
          value: secretSettings.has(name)
            ? `(hidden, ${String(raw).length} characters)`
            : describeValue(raw, parsed.error.issues[0]?.path[0]),
          expected: spec.expected,
        },
        { details: [{ path: name, code: "invalid_value", detail: spec.expected }] },
      );
    }
    config[name] = parsed.data;
    origins.set(name, source);
  }
  // A process that only serves needs others that work, and the embedded store is one process.
  if (config.role === "api" && !config.databaseUrl) {
    throw new AppError("config_invalid", {
      setting: "role",
      source: origins.get("role") ?? "default of role",
      value: '"api"',
      expected: "`all` with the embedded store (`api` needs DATABASE_URL and another process with `all`)",
    });
  }
  return config as Config;
}

/**
 * The refused value as given; in a list, also which entry is wrong, since one bad entry among many
 * is hard to see.
 */
function describeValue(raw: unknown, index: PropertyKey | undefined): string | Translated {
  const whole = JSON.stringify(raw);
  const entries = typeof raw === "string" ? raw.split(",") : Array.isArray(raw) ? raw : undefined;
  if (typeof index !== "number" || !entries || entries.length < 2) return whole;
  const entry = entries[index];
  const position = index + 1;
  if (entry === undefined || (typeof entry === "string" && entry.trim() === ""))
    return { en: `${whole} (entry ${position} is empty)`, ru: `${whole} (элемент ${position} пустой)` };
  const shown = JSON.stringify(typeof entry === "string" ? entry.trim() : entry);
  return { en: `${whole} (entry ${position}, ${shown})`, ru: `${whole} (элемент ${position}, ${shown})` };
}

function pick(name: SettingName, candidates: [unknown, string][]): [unknown, string] {
  for (const candidate of candidates) if (candidate[0] !== undefined) return candidate;
  return [undefined, `default of ${name}`];
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new AppError("config_file_unreadable", { path, reason: (error as Error).message });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AppError("config_file_unreadable", {
      path,
      reason: `not valid JSON (${(error as Error).message})`,
    });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new AppError("config_file_unreadable", { path, reason: "the top level must be a JSON object" });
  }
  const unknown = Object.keys(parsed).filter((key) => !Object.hasOwn(settings, key));
  if (unknown.length > 0) {
    throw new AppError("config_file_unreadable", {
      path,
      reason: `unknown setting ${unknown.map((key) => `"${key}"`).join(", ")}; known: ${Object.keys(settings).join(", ")}`,
    });
  }
  return parsed as Record<string, unknown>;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
