/**
 * The embedded store's data directory lock. PGlite is one process's database: a second hub on the
 * same directory would corrupt it. A lock file with the owner's pid keeps it out; a lock left by
 * a dead process is taken over.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AppError } from "../errors/app-error.ts";

/**
 * Data directories this process holds: to refuse a second store on one inside the same process,
 * and to remove their lock files if the process exits without closing its stores.
 */
const heldDataDirs = new Set<string>();

const lockPathOf = (dataDir: string) => join(dataDir, "switchboard.lock");

function release(dataDir: string) {
  heldDataDirs.delete(dataDir);
  rmSync(lockPathOf(dataDir), { force: true });
}

// An exit that does not wait for the stores to close (a second Ctrl+C, an uncaught error) removes
// their lock files still: the next process would take them over, but the file would say a dead
// process holds the directory until then. Exit handlers must be synchronous, as the removal is.
process.on("exit", () => {
  for (const dataDir of heldDataDirs) release(dataDir);
});

/**
 * Takes the lock of `dataDir` (made if missing) and returns its release. A lock naming our own
 * pid that we do not hold was left by an earlier process that had the same pid (common in
 * containers, where the hub is often pid 1).
 */
export function lockDataDir(dataDir: string): () => void {
  const lockPath = lockPathOf(dataDir);
  try {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, ".write-test"), "");
    rmSync(join(dataDir, ".write-test"));
  } catch (error) {
    throw new AppError(
      "data_dir_unwritable",
      { path: dataDir, reason: (error as Error).message },
      { cause: error },
    );
  }
  if (heldDataDirs.has(dataDir)) throw new AppError("data_dir_locked", { path: dataDir, pid: process.pid });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      closeSync(openSync(lockPath, "wx"));
      writeFileSync(lockPath, String(process.pid));
      heldDataDirs.add(dataDir);
      return () => release(dataDir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number(readFileSync(lockPath, "utf8"));
      if (owner && owner !== process.pid && isAlive(owner)) {
        throw new AppError("data_dir_locked", { path: dataDir, pid: owner });
      }
      rmSync(lockPath, { force: true });
    }
  }
  throw new AppError("data_dir_locked", { path: dataDir, pid: "unknown" });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
