import { existsSync, statfsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { inspectVkChannel } from "../../channels/vk/inspect.ts";
import type { Config } from "../../config/settings.ts";
import { AppError, describeError, type ErrorParams } from "../../errors/app-error.ts";
import { catalogue, type ErrorCode } from "../../errors/catalogue.ts";
import { openExistingStore, secretBoxFor } from "../../hub/open-store.ts";
import { checkStoreKey, keyInUse } from "../../hub/stored-secrets.ts";
import type { Store } from "../../store/database.ts";
import { migrationStatus } from "../../store/migrations.ts";
import type { ChannelAccount } from "../../store/repositories/channel-accounts.ts";
import { channelAccount } from "../../store/schema.ts";
import type { SecretBox } from "../../store/secret-box.ts";
import { configFrom } from "../options.ts";

/** One line of `switchboard doctor` (doctor.ts prints them). */
export interface CheckResult {
  check: string;
  ok: boolean;
  detail: string;
  code?: string;
  remedy?: string;
  /** A channel's problems, then its warnings, each with its own remedy. */
  notes?: Note[];
}

interface Note {
  kind: "problem" | "warning";
  code: string;
  message: string;
  remedy: string;
}

const minFreeBytes = 512 * 1024 * 1024;
const unhealthyStates = new Set(["failing", "logged_out", "replaced"]);

/** The checks of `switchboard doctor`, in order; one that others depend on stops them when it fails. */
export async function diagnose(options: Record<string, unknown>): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const record = async (check: string, run: () => Promise<string> | string): Promise<boolean> => {
    try {
      results.push({ check, ok: true, detail: await run() });
      return true;
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      const { code, message, remedy } = error.render("en", "cli");
      results.push({ check, ok: false, detail: message, code, remedy });
      return false;
    }
  };

  let settings: Config | undefined;
  await record("configuration", () => {
    settings = configFrom(options);
    return "valid";
  });
  if (!settings) return results;
  const config = settings;

  if (!config.databaseUrl) await record("disk space", () => checkDisk(resolve(config.dataDir)));
  // Described, never generated: a key file made here would not be the one the store needs.
  const keyFile = join(resolve(config.dataDir), "secret.key");
  await record("encryption key", () => {
    const { key, configured } = keyInUse(config);
    if (configured) return "configured";
    return key ? `read from ${keyFile}` : `none yet: the hub generates ${keyFile} at its first start`;
  });

  let store: Store | undefined;
  let runningHub: RunningHub | undefined;
  const opened = await record("database", async () => {
    try {
      store = await openExistingStore(config);
    } catch (error) {
      if (!(error instanceof AppError && error.code === "data_dir_locked")) throw error;
      runningHub = await askRunningHub(config, error);
      return `held by the running hub (pid ${error.params.pid}), whose ${runningHub.url} reports ready`;
    }
    await store.ping();
    return `${store.mode === "server" ? "PostgreSQL" : "embedded PGlite"} at ${store.location} answers`;
  });
  if (runningHub) {
    const { applied, known } = runningHub.migrations;
    results.push(
      { check: "migrations", ok: true, detail: `${applied} of ${known} applied, as the running hub reports` },
      {
        check: "channels",
        ok: true,
        detail:
          "not checked while the hub holds the embedded store: `GET /v1/channels` shows their states, or stop the hub and run doctor again",
      },
    );
  }
  if (!opened || !store) return results;
  const { db } = store;
  const openedStore = store;
  try {
    const migrated = await record("migrations", async () => {
      const status = await migrationStatus(db);
      if (status.applied < status.known) throw new AppError("migrations_pending", { ...status });
      return `${status.applied} of ${status.known} applied`;
    });
    // The tables below may not exist yet, or not be as this version reads them.
    if (!migrated) return results;
    const readable = await record("stored secrets", async () => {
      const stored = await checkStoreKey(config, openedStore);
      if (stored === 0) return "none stored yet";
      return `all ${stored} readable with ${config.secretKey ? "the configured key" : `the key in ${keyFile}`}`;
    });
    if (!readable) {
      results.push({
        check: "channels",
        ok: false,
        detail: "not checked: their tokens cannot be read with the configured key (see stored secrets)",
      });
      return results;
    }
    const channels = await db.select().from(channelAccount);
    if (channels.length === 0) results.push({ check: "channels", ok: true, detail: "none connected yet" });
    // The key opened the stored secrets above, so it exists: nothing is generated here.
    const box = channels.some((c) => c.credentials !== null) ? secretBoxFor(config) : undefined;
    results.push(...(await Promise.all(channels.map((channel) => checkChannel(channel, box, config)))));
  } finally {
    await store.close();
  }
  return results;
}

/** How long doctor waits for VK per channel (all channels are checked at once). */
const vkCheckMs = 5_000;

/**
 * One line per channel: state, mode, last event time, and for a connected VK channel what VK
 * itself says now (its callback server's status, Long Poll, foreign servers); a problem comes
 * with the catalogued remedy.
 */
async function checkChannel(
  channel: ChannelAccount,
  box: SecretBox | undefined,
  config: Config,
): Promise<CheckResult> {
  const settings = channel.settings;
  const mode = typeof settings.mode === "string" ? settings.mode : undefined;
  const head = [
    channel.state,
    ...(mode ? [`mode ${mode}`] : []),
    `last event ${channel.lastEventAt?.toISOString() ?? "never"}`,
  ];
  const check = `channel ${channel.kind} ${channel.name} (${channel.id})`;
  const stored = isNotice(settings.problem) ? settings.problem : undefined;
  const problems: Notice[] = [];
  const warnings: Notice[] = Array.isArray(settings.warnings) ? settings.warnings.filter(isNotice) : [];
  if (unhealthyStates.has(channel.state))
    problems.push(stored ?? { code: "", params: {}, text: channel.stateReason });
  if (box && channel.kind === "vk" && channel.state !== "disabled" && channel.credentials !== null) {
    const inspection = await Promise.race([
      inspectVkChannel(box, channel, { publicUrl: config.publicUrl, timeoutMs: vkCheckMs }),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), vkCheckMs + 1_000).unref()),
    ]);
    if (!inspection) head.push("VK did not answer in time");
    else {
      head.push(`VK: ${inspection.summary}`);
      problems.push(...inspection.problems.filter((p) => p.code !== stored?.code));
      if (inspection.problems.length === 0) {
        // Foreign servers as VK lists them now, instead of those seen at connect time.
        const foreign = "vk_foreign_callback_server";
        warnings.splice(
          0,
          warnings.length,
          ...warnings.filter((w) => w.code !== foreign),
          ...inspection.warnings,
        );
      }
    }
  }
  const note = (kind: Note["kind"], n: Notice): Note => ({
    kind,
    code: n.code,
    ...(Object.hasOwn(catalogue, n.code)
      ? describeError(n.code as ErrorCode, "en", n.params, "cli")
      : { message: n.text ?? n.code, remedy: "" }),
  });
  const notes = [...problems.map((p) => note("problem", p)), ...warnings.map((w) => note("warning", w))];
  const first = problems[0];
  return {
    check,
    ok: problems.length === 0,
    detail: head.join(", "),
    ...(first?.code ? { code: first.code } : {}),
    ...(notes[0]?.remedy ? { remedy: notes[0].remedy } : {}),
    ...(notes.length > 0 ? { notes } : {}),
  };
}

interface Notice {
  code: string;
  params: ErrorParams;
  text?: string | null;
}

function isNotice(value: unknown): value is Notice {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Notice).code === "string" &&
    typeof ((value as Notice).params ?? {}) === "object"
  );
}

function checkDisk(dataDir: string): string {
  let dir = dataDir;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const stats = statfsSync(dir);
  const free = stats.bavail * stats.bsize;
  const readable = `${(free / 1024 ** 3).toFixed(1)} GiB`;
  if (free < minFreeBytes) throw new AppError("disk_space_low", { free: readable, path: dataDir });
  return `${readable} free for ${dataDir}`;
}

interface RunningHub {
  url: string;
  migrations: { applied: number; known: number };
}

/** The embedded store is held by a running hub: ask that hub instead of opening the files. */
async function askRunningHub(config: Config, locked: AppError): Promise<RunningHub> {
  const url = `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${config.port}/readyz`;
  let reason: string;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
    const body = (await response.json().catch(() => undefined)) as
      | { migrations?: RunningHub["migrations"]; error?: { message?: string } }
      | undefined;
    if (response.ok && body?.migrations) return { url, migrations: body.migrations };
    reason = body?.error?.message ?? `HTTP ${response.status}`;
  } catch (error) {
    // fetch says only "fetch failed"; its cause says why (ECONNREFUSED, a timeout).
    const { message, cause } = error as Error & { cause?: Error };
    reason = cause?.message ?? message;
  }
  const { pid = "?", path = config.dataDir } = locked.params;
  throw new AppError("running_hub_unreachable", { pid, path, url, reason });
}
