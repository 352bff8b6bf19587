import { existsSync, statfsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import type { Config } from "../../config/settings.ts";
import { AppError } from "../../errors/app-error.ts";
import { openConfiguredStore, secretBoxFor } from "../../hub/open-store.ts";
import type { Store } from "../../store/database.ts";
import { migrationStatus } from "../../store/migrations.ts";
import { channelAccount } from "../../store/schema.ts";
import { configFrom, withSettings } from "../options.ts";
import { action, printJson } from "../output.ts";

interface CheckResult {
  check: string;
  ok: boolean;
  detail: string;
  code?: string;
  remedy?: string;
}

const minFreeBytes = 512 * 1024 * 1024;
const unhealthyStates = new Set(["failing", "logged_out", "replaced"]);

export function registerDoctor(program: Command) {
  withSettings(
    program.command("doctor").description("Check configuration, database, migrations, disk and channels"),
  )
    .option("--json", "print the results as JSON")
    .action(
      action(async (options: Record<string, unknown>) => {
        const results = await diagnose(options);
        if (options.json) printJson({ ok: results.every((r) => r.ok), checks: results });
        else {
          for (const r of results) {
            process.stdout.write(`${r.ok ? "OK     " : "PROBLEM"}  ${r.check}: ${r.detail}\n`);
            if (r.remedy) process.stdout.write(`         remedy: ${r.remedy}\n`);
          }
        }
        if (!results.every((r) => r.ok)) process.exitCode = 1;
      }),
    );
}

export async function diagnose(options: Record<string, unknown>): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const record = async (check: string, run: () => Promise<string> | string): Promise<boolean> => {
    try {
      results.push({ check, ok: true, detail: await run() });
      return true;
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      const { code, message, remedy } = error.render("en");
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
  await record("encryption key", () => {
    secretBoxFor(config);
    return config.secretKey ? "configured" : "generated in the data directory";
  });

  let store: Store | undefined;
  const opened = await record("database", async () => {
    try {
      store = await openConfiguredStore(config, () => {});
    } catch (error) {
      if (error instanceof AppError && error.code === "data_dir_locked") return viaRunningHub(config, error);
      throw error;
    }
    await store.ping();
    return `${store.mode === "server" ? "PostgreSQL" : "embedded PGlite"} at ${store.location} answers`;
  });
  if (!opened || !store) return results;
  const db = store.db;
  try {
    await record("migrations", async () => {
      const status = await migrationStatus(db);
      if (status.applied < status.known) throw new AppError("migrations_pending", { ...status });
      return `${status.applied} of ${status.known} applied`;
    });
    const channels = await db.select().from(channelAccount);
    await record("stored secrets", () => {
      const sealed = channels.find((c) => c.credentials !== null);
      if (sealed?.credentials) secretBoxFor(config).open(sealed.credentials);
      return sealed ? "readable with the configured key" : "none stored yet";
    });
    if (channels.length === 0) results.push({ check: "channels", ok: true, detail: "none connected yet" });
    for (const channel of channels) {
      const ok = !unhealthyStates.has(channel.state);
      const reason = channel.stateReason ? ` (${channel.stateReason})` : "";
      results.push({
        check: `channel ${channel.kind} ${channel.name}`,
        ok,
        detail: `${channel.state}${reason}; last event ${channel.lastEventAt?.toISOString() ?? "never"}`,
      });
    }
  } finally {
    await store.close();
  }
  return results;
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

/** The embedded store is held by a running hub: ask that hub instead of opening the files. */
async function viaRunningHub(config: Config, locked: AppError): Promise<string> {
  const url = `http://${config.host === "0.0.0.0" ? "127.0.0.1" : config.host}:${config.port}/readyz`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
    if (response.ok) return `held by the running hub (pid ${locked.params.pid}), whose ${url} reports ready`;
  } catch {
    // Falls through to the lock error, which names the process.
  }
  throw locked;
}
