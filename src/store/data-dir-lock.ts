/**
 * The embedded store's data directory lock. PGlite is one process's database: a second hub on the
 * same directory would corrupt it. A lock file with the owner's pid keeps it out; a lock left by
 * a dead process is taken over. What the owner is (a hub, or which command) is in a second file,
 * so that `switchboard.lock` stays the pid alone, which every version reads: an earlier version
 * that could not read the lock would take it over beside a running hub.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { AppError, type Translated } from "../errors/app-error.ts";

/**
 * What holds a data directory: a hub, which runs until stopped and answers doctor through its
 * control socket, or a `switchboard` command by its name ("switchboard keys create"), which ends
 * by itself.
 */
export type LockHolder = "hub" | `switchboard ${string}`;

/** A lock's owner. An earlier version writes no holder file: its holder is unknown. */
interface LockOwner {
  pid: number;
  holder: LockHolder | undefined;
}

/**
 * Data directories this process holds, with what it holds them as: to refuse a second store on
 * one inside the same process, and to remove their lock files if the process exits without
 * closing its stores.
 */
const heldDataDirs = new Map<string, LockHolder | undefined>();

const lockPathOf = (dataDir: string) => join(dataDir, "switchboard.lock");
const holderPathOf = (dataDir: string) => join(dataDir, "switchboard.holder");

/**
 * A lock file is made, then its pid written; a takeover makes a directory, writes its pid into it,
 * and removes it. Either found without its pid is a lock being taken right now, unless it is this
 * old: its process died in between.
 */
const staleAfterMs = 10_000;

function release(dataDir: string) {
  heldDataDirs.delete(dataDir);
  rmSync(holderPathOf(dataDir), { force: true });
  rmSync(lockPathOf(dataDir), { force: true });
}

// An exit that does not wait for the stores to close (a second Ctrl+C, an uncaught error) removes
// their lock files still: the next process would take them over, but the file would say a dead
// process holds the directory until then. Exit handlers must be synchronous, as the removal is.
process.on("exit", () => {
  for (const dataDir of heldDataDirs.keys()) release(dataDir);
});

/**
 * Takes the lock of `dataDir` (made if missing) for `holder` and returns its release. Without a
 * holder (a test's store) the holder file is not written, as an earlier version did not. A lock
 * naming our own pid that we do not hold was left by an earlier process that had the same pid
 * (common in containers, where the hub is often pid 1).
 */
export function lockDataDir(dataDir: string, holder?: LockHolder): () => void {
  const lockPath = lockPathOf(dataDir);
  try {
    mkdirSync(dataDir, { recursive: true });
    // A name of our own: processes starting together must not remove each other's.
    const probe = join(dataDir, `.write-test-${process.pid}`);
    writeFileSync(probe, "");
    rmSync(probe);
  } catch (error) {
    throw new AppError(
      "data_dir_unwritable",
      { path: dataDir, reason: (error as Error).message },
      { cause: error },
    );
  }
  if (heldDataDirs.has(dataDir))
    throw lockedBy(dataDir, { pid: process.pid, holder: heldDataDirs.get(dataDir) });
  if (!createLock(lockPath) && !takeOver(dataDir)) throw lockedByAnother(dataDir);
  if (holder) writeFileSync(holderPathOf(dataDir), `${process.pid}\n${holder}\n`);
  else rmSync(holderPathOf(dataDir), { force: true });
  heldDataDirs.set(dataDir, holder);
  return () => release(dataDir);
}

/** Makes the lock file with our pid; false when it exists. */
function createLock(lockPath: string): boolean {
  let fd: number;
  try {
    fd = openSync(lockPath, "wx");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  try {
    writeSync(fd, String(process.pid));
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Takes the lock over from a dead process, or throws the refusal naming the live one that holds
 * it. Takeovers go one at a time, in a directory made for the purpose: two processes that found
 * the same dead owner would otherwise each remove the lock the other had just made, and both go
 * on. The one that makes the directory reads the lock again inside it; the other is refused.
 * False when another process made the lock meanwhile.
 */
function takeOver(dataDir: string): boolean {
  refuseLive(dataDir, readOwner(dataDir));
  const takeoverDir = join(dataDir, "switchboard.takeover");
  if (!beginTakeover(takeoverDir)) {
    if (!takeoverAbandoned(takeoverDir)) throw lockedByAnother(dataDir);
    rmSync(takeoverDir, { recursive: true, force: true });
    if (!beginTakeover(takeoverDir)) throw lockedByAnother(dataDir);
  }
  try {
    refuseLive(dataDir, readOwner(dataDir));
    rmSync(lockPathOf(dataDir), { force: true });
    return createLock(lockPathOf(dataDir));
  } finally {
    rmSync(takeoverDir, { recursive: true, force: true });
  }
}

/** Throws unless the lock's owner is gone: a dead process, or our own pid left by an earlier process. */
function refuseLive(dataDir: string, owner: LockOwner | "being taken") {
  if (owner === "being taken") throw lockedByAnother(dataDir);
  if (owner.pid && owner.pid !== process.pid && isAlive(owner.pid)) throw lockedBy(dataDir, owner);
}

/** Makes the takeover directory, with our pid in it; false when it exists. */
function beginTakeover(takeoverDir: string): boolean {
  try {
    mkdirSync(takeoverDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  writeFileSync(join(takeoverDir, "pid"), String(process.pid));
  return true;
}

/**
 * Whether a takeover directory was left by a process that died in the middle of its takeover
 * (which takes a moment): its pid is dead, or our own (a takeover here is synchronous, so it is an
 * earlier process's), or it is too old to be one under way (its pid not written yet, or reused
 * by another process since).
 */
function takeoverAbandoned(takeoverDir: string): boolean {
  let pid = 0;
  try {
    pid = Number(readFileSync(join(takeoverDir, "pid"), "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (pid > 0 && (pid === process.pid || !isAlive(pid))) return true;
  return ageMs(takeoverDir) >= staleAfterMs;
}

/** How long ago `path` was last changed; infinite when it is gone. */
function ageMs(path: string): number {
  const changedAt = statSync(path, { throwIfNoEntry: false })?.mtimeMs;
  return changedAt === undefined ? Number.POSITIVE_INFINITY : Date.now() - changedAt;
}

/**
 * The holder that a `data_dir_locked` error found beside the lock; undefined when nothing said
 * (an earlier version's lock, or one being taken).
 */
export function lockHolderOf(locked: AppError): LockHolder | undefined {
  return locked.params.heldBy as LockHolder | undefined;
}

/**
 * The lock's owner: its pid, and what it is when the holder file names the same pid (it is
 * written just after the lock, and an earlier version writes none).
 */
function readOwner(dataDir: string): LockOwner | "being taken" {
  const lockPath = lockPathOf(dataDir);
  let content: string;
  try {
    content = readFileSync(lockPath, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { pid: 0, holder: undefined };
    throw error;
  }
  if (content.trim() === "")
    return ageMs(lockPath) < staleAfterMs ? "being taken" : { pid: 0, holder: undefined };
  const pid = Number(content);
  let holderLines: string[] = [];
  try {
    holderLines = readFileSync(holderPathOf(dataDir), "utf8").split("\n");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  const [holderPid, holder] = holderLines;
  const named = Number(holderPid) === pid && (holder === "hub" || holder?.startsWith("switchboard "));
  return { pid, holder: named ? (holder as LockHolder) : undefined };
}

function lockedBy(dataDir: string, { pid, holder }: LockOwner): AppError {
  return new AppError("data_dir_locked", {
    path: dataDir,
    pid,
    holder: describeHolder(holder),
    ...(holder ? { heldBy: holder } : {}),
  });
}

/** Another process is taking the lock at this very moment, or took it over from a dead one as we did. */
function lockedByAnother(dataDir: string): AppError {
  return new AppError("data_dir_locked", {
    path: dataDir,
    pid: "unknown",
    holder: { en: "another process", ru: "другой процесс" },
  });
}

/** The holder as the messages name it. */
function describeHolder(holder: LockHolder | undefined): Translated {
  if (holder === "hub") return { en: "the hub", ru: "хаб" };
  if (holder) return { en: holder, ru: `команда ${holder}` };
  return { en: "a hub or command of an earlier version", ru: "хаб или команда более ранней версии" };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
