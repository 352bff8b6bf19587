import { existsSync, statfsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Config } from "../../config/settings.ts";
import { AppError } from "../../errors/app-error.ts";
import { askHub, type HubDiagnosis } from "../../hub/control-socket.ts";
import { CheckList, type CheckResult, checkStore } from "../../hub/diagnosis.ts";
import { openExistingStore } from "../../hub/open-store.ts";
import { pauseForTest } from "../../hub/steps.ts";
import { keyInUse } from "../../hub/stored-secrets.ts";
import { lockHolderOf } from "../../store/data-dir-lock.ts";
import type { Store } from "../../store/database.ts";
import { configFrom } from "../options.ts";

/**
 * The checks of `switchboard doctor`, in order; one that others depend on stops them when it fails.
 * `signal` stops them after the one under way (see runStoppable), the store closed.
 */
export async function diagnose(
  options: Record<string, unknown>,
  signal?: AbortSignal,
): Promise<CheckResult[]> {
  const checks = new CheckList(signal);
  let settings: Config | undefined;
  await checks.record("configuration", () => {
    settings = configFrom(options);
    return "valid";
  });
  if (!settings) return checks.results;
  const config = settings;

  if (!config.databaseUrl) await checks.record("disk space", () => checkDisk(resolve(config.dataDir)));
  // Described, never generated: a key file made here would not be the one the store needs.
  await checks.record("encryption key", () => {
    const { key, configured, keyFile } = keyInUse(config);
    if (configured) return "configured";
    return key ? `read from ${keyFile}` : `none yet: the hub generates ${keyFile} at its first start`;
  });

  let store: Store | undefined;
  let runningHub: HubDiagnosis | undefined;
  const opened = await checks.record("database", async () => {
    try {
      store = await openExistingStore(config, "switchboard doctor", { allowNewer: true });
    } catch (error) {
      if (!(error instanceof AppError && error.code === "data_dir_locked")) throw error;
      // A command holds the store only until it ends, and has no control socket: the line says
      // which command, and to run doctor again then. An earlier version's lock file does not
      // say, and a hub is what holds a store for long.
      const holder = lockHolderOf(error);
      if (holder !== undefined && holder !== "hub") throw error;
      runningHub = await askRunningHub(config, error);
      return `held by the running hub (pid ${runningHub.pid}, serving ${runningHub.url}), which checked its store below`;
    }
    await store.ping();
    return `${store.mode === "server" ? "PostgreSQL" : "embedded PGlite"} at ${store.location} answers`;
  });
  if (runningHub) checks.results.push(...runningHub.checks);
  if (!opened || !store) return checks.results;
  try {
    await pauseForTest("checking the store");
    await checkStore(checks, config, store);
  } finally {
    await store.close();
  }
  return checks.results;
}

const minFreeBytes = 512 * 1024 * 1024;

function checkDisk(dataDir: string): string {
  let dir = dataDir;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const stats = statfsSync(dir);
  const free = stats.bavail * stats.bsize;
  const readable = `${(free / 1024 ** 3).toFixed(1)} GiB`;
  if (free < minFreeBytes) throw new AppError("disk_space_low", { free: readable, path: dataDir });
  return `${readable} free for ${dataDir}`;
}

/** How long doctor waits for the running hub, which checks every channel with VK meanwhile. */
const runningHubMs = 15_000;

/** The embedded store is held by a running hub: ask that hub instead of opening the files. */
async function askRunningHub(config: Config, locked: AppError): Promise<HubDiagnosis> {
  const dataDir = resolve(config.dataDir);
  try {
    return await askHub(dataDir, runningHubMs);
  } catch (error) {
    const { pid = "?", holder = "?" } = locked.params;
    throw new AppError("running_hub_unreachable", {
      pid,
      holder,
      path: dataDir,
      reason: (error as Error).message,
    });
  }
}
