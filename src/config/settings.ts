import { isSupportedCountry } from "libphonenumber-js/max";
import { z } from "zod";
import { isHost, isHostOrRange } from "./addresses.ts";

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

/**
 * A list given as an array (config file) or comma-separated (environment, flag). An empty string
 * is the empty list; an empty entry in a list (`a,,b`, `a,`, `,`) is refused, as no item takes it.
 */
const list = <T extends z.ZodType>(item: T) =>
  z.preprocess((value) => {
    const blank = (part: unknown) => (typeof part === "string" && part.trim() === "" ? undefined : part);
    if (typeof value === "string")
      return value.trim() === "" ? [] : value.split(",").map((part) => blank(part.trim()));
    return Array.isArray(value) ? value.map(blank) : value;
  }, z.array(item));

/** An AES-256 key in base64 (`openssl rand -base64 32`). */
const encryptionKey = z
  .string()
  .refine((value) => Buffer.from(value, "base64").length === 32)
  .optional();

/** An allowed destination: a host name, an IP address, or a CIDR range. */
const egressEntry = z.string().refine(isHostOrRange);

export const settings = {
  host: setting({
    env: "SWITCHBOARD_HOST",
    flag: "host",
    schema: z.string().refine(isHost),
    expected: "an IP address or host name of this machine to listen on",
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
  role: setting({
    env: "SWITCHBOARD_ROLE",
    flag: "role",
    schema: z.enum(["all", "api"]),
    expected: "all or api",
    help: "`all`: serve the API and platform webhooks and do the background work (intake, sending, webhook delivery, VK Long Poll). `api`: only serve, beside at least one `all` process on the same PostgreSQL server, so that acknowledging webhooks and answering the API never wait for that work.",
    default: "all",
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
    schema: encryptionKey,
    expected: "32 bytes in base64 (openssl rand -base64 32)",
    help: "Key that encrypts the stored channel tokens and webhook signing secrets. Required in server mode; generated into the data directory in embedded mode. `switchboard secrets rekey` changes it.",
  }),
  previousSecretKey: setting({
    env: "SWITCHBOARD_PREVIOUS_SECRET_KEY",
    schema: encryptionKey,
    expected: "32 bytes in base64",
    help: "Only for `switchboard secrets rekey`: the key the stored secrets are sealed with now, to be resealed with SWITCHBOARD_SECRET_KEY.",
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
    schema: z
      .string()
      .regex(/^[A-Z]{2}$/)
      .refine((code) => isSupportedCountry(code)),
    expected: "a two-letter ISO 3166 country code, in capitals, that has phone numbers, such as RU, KZ or DE",
    help: "Country used to read phone numbers written without a country code.",
    default: "RU",
  }),
  egressAllow: setting({
    env: "SWITCHBOARD_EGRESS_ALLOW",
    flag: "egress-allow",
    schema: list(egressEntry),
    expected: "comma-separated host names, IP addresses or CIDR ranges, e.g. 10.0.0.0/8,crm.internal",
    help: "Non-public destinations the hub may still reach for webhooks, status callbacks and attachments by URL (everything private, loopback and link-local is refused otherwise).",
    default: [] as string[],
  }),
  webhookTimeout: setting({
    env: "SWITCHBOARD_WEBHOOK_TIMEOUT",
    flag: "webhook-timeout",
    schema: integer(1, 120),
    expected: "a number of seconds from 1 to 120",
    help: "How long a webhook receiver has to answer 2xx before the attempt counts as failed.",
    default: 15,
  }),
  webhookRetrySchedule: setting({
    env: "SWITCHBOARD_WEBHOOK_RETRY_SCHEDULE",
    flag: "webhook-retry-schedule",
    schema: list(integer(0, 7 * 24 * 3600)).refine((delays) => delays.length <= 30),
    expected: "up to 30 comma-separated delays in seconds, e.g. 5,300,1800",
    help: "Delays before each retry of a webhook whose first attempt (made at once) failed; the default makes 8 attempts over 27.6 hours (a workspace may set its own).",
    default: [5, 300, 1800, 7200, 18000, 36000, 36000],
  }),
  webhookDisableAfter: setting({
    env: "SWITCHBOARD_WEBHOOK_DISABLE_AFTER",
    flag: "webhook-disable-after",
    schema: integer(1, 24 * 365),
    expected: "a number of hours from 1 to 8760",
    help: "An endpoint that fails every attempt for this many hours is disabled (a workspace may set its own).",
    default: 120,
  }),
  webhookSecretOverlap: setting({
    env: "SWITCHBOARD_WEBHOOK_SECRET_OVERLAP",
    flag: "webhook-secret-overlap",
    schema: integer(0, 24 * 30),
    expected: "a number of hours from 0 to 720",
    help: "After a signing secret is rotated, how long requests are signed with the old one too.",
    default: 24,
  }),
  webhookConcurrency: setting({
    env: "SWITCHBOARD_WEBHOOK_CONCURRENCY",
    flag: "webhook-concurrency",
    schema: integer(1, 1000),
    expected: "an integer from 1 to 1000",
    help: "Webhook and callback requests each hub process keeps in flight at most.",
    default: 64,
  }),
  webhookEndpointConcurrency: setting({
    env: "SWITCHBOARD_WEBHOOK_ENDPOINT_CONCURRENCY",
    flag: "webhook-endpoint-concurrency",
    schema: integer(1, 1000),
    expected: "an integer from 1 to 1000",
    help: "Requests in flight to one endpoint (or callback URL) at most, across every hub process.",
    default: 16,
  }),
  webhookOrderHold: setting({
    env: "SWITCHBOARD_WEBHOOK_ORDER_HOLD",
    flag: "webhook-order-hold",
    schema: integer(0, 30),
    expected: "an integer from 0 to 30",
    help: "Attempts an undelivered event makes before later events of its conversation stop waiting for it (0: no ordering).",
    default: 4,
  }),
  inboundEventRetention: setting({
    env: "SWITCHBOARD_INBOUND_EVENT_RETENTION",
    flag: "inbound-event-retention",
    schema: integer(0, 3650),
    expected: "a number of days from 0 to 3650 (0: keep them forever)",
    help: "How long a platform's event is kept as it arrived, once it has been processed. The messages, comments and leads made from it stay.",
    default: 14,
  }),
  webhookEventRetention: setting({
    env: "SWITCHBOARD_WEBHOOK_EVENT_RETENTION",
    flag: "webhook-event-retention",
    schema: integer(0, 3650),
    expected: "a number of days from 0 to 3650 (0: keep them forever)",
    help: "How long events stay listed, with their deliveries and attempts, for replay and recovery. An event still due to a receiver is kept until its delivery ends.",
    default: 30,
  }),
} as const;

export type SettingName = keyof typeof settings;

type ValueOf<S> = S extends { schema: z.ZodType } ? Exclude<z.output<S["schema"]>, undefined> : never;
type WithDefault<S> = S extends { default: unknown } ? ValueOf<S> : ValueOf<S> | undefined;

export type Config = { [K in SettingName]: WithDefault<(typeof settings)[K]> };
