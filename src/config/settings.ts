import { z } from "zod";

/**
 * Every setting of the hub, with where it can come from. The README's configuration table and
 * `switchboard start --help` are generated from this list, so a setting is documented where it
 * is declared.
 */
export interface SettingSpec<T> {
  env: string;
  /** Command-line flag, without the leading dashes; absent for settings too secret for argv. */
  flag?: string;
  schema: z.ZodType<T>;
  expected: string;
  help: string;
  default?: T;
}

// biome-ignore lint/suspicious/noExplicitAny: each setting keeps its own value type
const setting = <const S extends SettingSpec<any>>(spec: S) => spec;

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const settings = {
  host: setting({
    env: "SWITCHBOARD_HOST",
    flag: "host",
    schema: z.string().min(1),
    expected: "a host name or IP address to listen on",
    help: "Address the HTTP server listens on; 0.0.0.0 for every interface.",
    default: "127.0.0.1",
  }),
  port: setting({
    env: "SWITCHBOARD_PORT",
    flag: "port",
    schema: integer(0, 65535),
    expected: "an integer from 0 to 65535",
    help: "TCP port of the HTTP server (0 picks a free one).",
    default: 8080,
  }),
  dataDir: setting({
    env: "SWITCHBOARD_DATA_DIR",
    flag: "data-dir",
    schema: z.string().min(1),
    expected: "a directory path",
    help: "Where the embedded store and the generated encryption key live.",
    default: "./data",
  }),
  databaseUrl: setting({
    env: "DATABASE_URL",
    flag: "database-url",
    schema: z
      .string()
      .regex(/^postgres(ql)?:\/\/.+/)
      .optional(),
    expected: "a URL like postgres://user:password@host:5432/database",
    help: "PostgreSQL server to use instead of the embedded store (server mode, several hub processes).",
  }),
  poolSize: setting({
    env: "SWITCHBOARD_POOL_SIZE",
    flag: "pool-size",
    schema: integer(1, 500),
    expected: "an integer from 1 to 500",
    help: "Connections each hub process keeps to PostgreSQL (server mode).",
    default: 10,
  }),
  secretKey: setting({
    env: "SWITCHBOARD_SECRET_KEY",
    schema: z
      .string()
      .refine((value) => Buffer.from(value, "base64").length === 32)
      .optional(),
    expected: "32 bytes in base64 (openssl rand -base64 32)",
    help: "Key that encrypts channel tokens at rest. Required in server mode; generated into the data directory in embedded mode.",
  }),
  publicUrl: setting({
    env: "SWITCHBOARD_PUBLIC_URL",
    flag: "public-url",
    schema: z.url({ protocol: /^https?$/ }).optional(),
    expected: "an http:// or https:// URL",
    help: "Address at which platforms reach this hub (for webhooks such as VK's Callback API).",
  }),
  logLevel: setting({
    env: "SWITCHBOARD_LOG_LEVEL",
    flag: "log-level",
    schema: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]),
    expected: "one of fatal, error, warn, info, debug, trace, silent",
    help: "Least severe log level written (JSON lines on standard output).",
    default: "info",
  }),
  bodyLimit: setting({
    env: "SWITCHBOARD_BODY_LIMIT",
    flag: "body-limit",
    schema: integer(1024, 256 * 1024 * 1024),
    expected: "a number of bytes from 1024 to 268435456",
    help: "Largest request body the API accepts, in bytes.",
    default: 4 * 1024 * 1024,
  }),
  rateLimit: setting({
    env: "SWITCHBOARD_RATE_LIMIT",
    flag: "rate-limit",
    schema: integer(1, 1_000_000),
    expected: "a positive integer",
    help: "Requests per second each API key may make, sustained (per hub process).",
    default: 100,
  }),
  rateLimitBurst: setting({
    env: "SWITCHBOARD_RATE_LIMIT_BURST",
    flag: "rate-limit-burst",
    schema: integer(1, 1_000_000),
    expected: "a positive integer",
    help: "Requests an API key may make at once before the per-second limit applies.",
    default: 200,
  }),
  sendRetryWindow: setting({
    env: "SWITCHBOARD_SEND_RETRY_WINDOW",
    flag: "send-retry-window",
    schema: integer(0, 300),
    expected: "a number of seconds from 0 to 300",
    help: "How long a send through the API keeps retrying a platform's passing failures (VK 6, 9, 10, 29, network) before it answers.",
    default: 15,
  }),
  sendDefaultTtl: setting({
    env: "SWITCHBOARD_SEND_DEFAULT_TTL",
    flag: "send-default-ttl",
    schema: integer(60, 30 * 86_400),
    expected: "a number of seconds from 60 to 2592000 (30 days)",
    help: "How long a queued message may wait for delivery when its request gives no `ttl`; after that it ends `expired`.",
    default: 86_400,
  }),
  defaultCountry: setting({
    env: "SWITCHBOARD_DEFAULT_COUNTRY",
    flag: "default-country",
    schema: z.string().regex(/^[A-Z]{2}$/),
    expected: "a two-letter country code such as RU",
    help: "Country used to read phone numbers written without a country code.",
    default: "RU",
  }),
} as const;

export type SettingName = keyof typeof settings;

type ValueOf<S> = S extends { schema: z.ZodType } ? Exclude<z.output<S["schema"]>, undefined> : never;
type WithDefault<S> = S extends { default: unknown } ? ValueOf<S> : ValueOf<S> | undefined;

export type Config = { [K in SettingName]: WithDefault<(typeof settings)[K]> };
