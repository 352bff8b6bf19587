import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { AppError } from "../errors/app-error.ts";
import { scratchDir } from "../testing/scratch-dir.ts";
import { lockDataDir, lockHolderOf } from "./data-dir-lock.ts";

const run = promisify(execFile);
const tempDir = () => scratchDir("sb-lock-");
const lockFile = (dataDir: string) => join(dataDir, "switchboard.lock");
const holderFile = (dataDir: string) => join(dataDir, "switchboard.holder");

/** Runs `body` (ESM with `lockDataDir` imported) in a process of its own; its pid and exit code. */
function inAnotherProcess(body: string): { pid: number; status: number | null; stderr: string } {
  const module = new URL("./data-dir-lock.ts", import.meta.url).href;
  const child = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "--input-type=module",
      "-e",
      `import { lockDataDir } from ${JSON.stringify(module)};\n${body}`,
    ],
    { encoding: "utf8" },
  );
  return { pid: child.pid ?? 0, status: child.status, stderr: child.stderr };
}

describe("the data directory lock", () => {
  it("names its process and what it is, keeps a second holder out, and is gone once released", () => {
    const dataDir = tempDir();
    const release = lockDataDir(dataDir, "switchboard keys create");
    // The lock holds the pid alone, which every version reads; what the process is goes beside it.
    assert.equal(readFileSync(lockFile(dataDir), "utf8"), String(process.pid));
    assert.equal(readFileSync(holderFile(dataDir), "utf8"), `${process.pid}\nswitchboard keys create\n`);
    assert.throws(
      () => lockDataDir(dataDir, "hub"),
      (error) =>
        error instanceof AppError &&
        error.code === "data_dir_locked" &&
        lockHolderOf(error) === "switchboard keys create" &&
        error.message ===
          `The data directory ${dataDir} is held by switchboard keys create (pid ${process.pid}), and the embedded store allows one process at a time.`,
    );
    release();
    assert.equal(existsSync(lockFile(dataDir)), false);
    assert.equal(existsSync(holderFile(dataDir)), false);
    // A store opened without saying what opens it (a test's) writes no holder file.
    lockDataDir(dataDir)();
  });

  it("keeps an earlier version out: its reading of the lock file finds this process's pid", () => {
    const dataDir = tempDir();
    const release = lockDataDir(dataDir, "hub");
    // What versions before the holder file did with the lock file they found.
    const earlierOwner = Number(readFileSync(lockFile(dataDir), "utf8"));
    assert.equal(earlierOwner, process.pid);
    release();
  });

  it("takes a lock file found empty for one being taken this moment, and for a dead process's once it is old", () => {
    const dataDir = tempDir();
    writeFileSync(lockFile(dataDir), "");
    assert.throws(
      () => lockDataDir(dataDir, "hub"),
      (error) =>
        error instanceof AppError &&
        error.code === "data_dir_locked" &&
        error.message ===
          `The data directory ${dataDir} is held by another process (pid unknown), and the embedded store allows one process at a time.`,
    );
    const longAgo = new Date(Date.now() - 60_000);
    utimesSync(lockFile(dataDir), longAgo, longAgo);
    lockDataDir(dataDir, "hub")();
  });

  it("lets one takeover at a time replace a dead process's lock, and clears one its taker left", () => {
    const dataDir = tempDir();
    const dead = inAnotherProcess(
      `lockDataDir(${JSON.stringify(dataDir)});\nprocess.kill(process.pid, "SIGKILL");`,
    );
    assert.equal(readFileSync(lockFile(dataDir), "utf8"), String(dead.pid));
    const takeover = join(dataDir, "switchboard.takeover");
    mkdirSync(takeover);
    assert.throws(
      () => lockDataDir(dataDir, "hub"),
      (error) =>
        error instanceof AppError && error.code === "data_dir_locked" && error.params.pid === "unknown",
      "another process is taking the lock over",
    );
    assert.equal(
      readFileSync(lockFile(dataDir), "utf8"),
      String(dead.pid),
      "the dead process's lock is left to it",
    );
    writeFileSync(join(takeover, "pid"), String(process.ppid));
    const longAgo = new Date(Date.now() - 60_000);
    utimesSync(takeover, longAgo, longAgo);
    const release = lockDataDir(dataDir, "hub");
    assert.equal(readFileSync(lockFile(dataDir), "utf8"), String(process.pid));
    assert.equal(existsSync(takeover), false, "too old to be under way, though its pid is alive (reused)");
    release();
  });

  it("clears at once a takeover whose taker died in the middle of it", () => {
    const dataDir = tempDir();
    const dead = inAnotherProcess(
      `lockDataDir(${JSON.stringify(dataDir)});\nprocess.kill(process.pid, "SIGKILL");`,
    );
    const takeover = join(dataDir, "switchboard.takeover");
    mkdirSync(takeover);
    writeFileSync(join(takeover, "pid"), String(dead.pid));
    const release = lockDataDir(dataDir, "hub");
    assert.equal(readFileSync(lockFile(dataDir), "utf8"), String(process.pid));
    assert.equal(existsSync(takeover), false);
    release();
  });

  it("gives a dead process's lock to one of several processes taking it over at the same moment", async () => {
    const dataDir = tempDir();
    const dead = inAnotherProcess(
      `lockDataDir(${JSON.stringify(dataDir)});\nprocess.kill(process.pid, "SIGKILL");`,
    );
    assert.equal(readFileSync(lockFile(dataDir), "utf8"), String(dead.pid));
    const module = new URL("./data-dir-lock.ts", import.meta.url).href;
    // Late enough for every process to be up (tsx takes about a second of CPU to start each), and
    // each keeps what it took until well after, so that a late one still finds the winner alive.
    const startAt = Date.now() + 3_000;
    const holdUntil = startAt + 4_000;
    // Each waits for the same moment (the last milliseconds awake, for a start as close as can
    // be), tries, and keeps what it took until the others have tried.
    const body = `import { lockDataDir } from ${JSON.stringify(module)};
      await new Promise((resolve) => setTimeout(resolve, ${startAt} - 20 - Date.now()));
      while (Date.now() < ${startAt}) {}
      let outcome = "took";
      try { lockDataDir(${JSON.stringify(dataDir)}, "hub"); } catch (error) { outcome = error.code; }
      console.log(outcome);
      await new Promise((resolve) => setTimeout(resolve, ${holdUntil} - Date.now()));`;
    const processes = 5;
    const outcomes = await Promise.all(
      Array.from({ length: processes }, async () => {
        const { stdout } = await run(process.execPath, [
          "--import",
          "tsx",
          "--input-type=module",
          "-e",
          body,
        ]);
        return stdout.trim();
      }),
    );
    assert.deepEqual(outcomes.toSorted(), [...Array(processes - 1).fill("data_dir_locked"), "took"]);
  });

  it("names no holder when the holder file is another process's", () => {
    const dataDir = tempDir();
    writeFileSync(lockFile(dataDir), String(process.ppid));
    // Left by a process that held the directory before, with another pid.
    writeFileSync(holderFile(dataDir), `${process.ppid + 1}\nswitchboard keys list\n`);
    assert.throws(
      () => lockDataDir(dataDir, "hub"),
      (error) => error instanceof AppError && lockHolderOf(error) === undefined,
    );
  });

  it("is removed when its process exits without releasing it, at once or by an uncaught error", () => {
    for (const end of ["process.exit(1);", "throw new Error('unexpected');"]) {
      const dataDir = tempDir();
      const child = inAnotherProcess(`lockDataDir(${JSON.stringify(dataDir)});\n${end}`);
      assert.equal(child.status, 1, child.stderr);
      assert.equal(existsSync(lockFile(dataDir)), false, `after ${end}`);
    }
  });

  it("is taken over from a process that died without removing it", () => {
    const dataDir = tempDir();
    // A process that cannot run its exit handlers (SIGKILL) leaves its lock behind.
    const killed = inAnotherProcess(
      `lockDataDir(${JSON.stringify(dataDir)});\nprocess.kill(process.pid, "SIGKILL");`,
    );
    assert.equal(readFileSync(lockFile(dataDir), "utf8"), String(killed.pid));
    const release = lockDataDir(dataDir);
    assert.equal(readFileSync(lockFile(dataDir), "utf8"), String(process.pid));
    release();
  });

  it("refuses a directory held by a live process, naming the command, the hub, or neither for an earlier version's lock", () => {
    /** The error refusing a directory whose lock file says `owner`, held by a live process. */
    const refusal = (holder?: string) => {
      const dataDir = tempDir();
      writeFileSync(lockFile(dataDir), String(process.ppid));
      if (holder !== undefined) writeFileSync(holderFile(dataDir), holder);
      try {
        lockDataDir(dataDir, "switchboard migrate");
      } catch (error) {
        assert.ok(error instanceof AppError && error.code === "data_dir_locked", String(error));
        assert.equal(error.params.pid, process.ppid);
        return { holder: lockHolderOf(error), en: error.render("en"), ru: error.render("ru"), dataDir };
      }
      assert.fail(`a lock held by ${holder} kept nothing out`);
    };
    // The test runner's parent is alive and is not this process.
    const command = refusal(`${process.ppid}\nswitchboard keys list\n`);
    assert.equal(command.holder, "switchboard keys list");
    assert.match(
      command.en.message,
      new RegExp(`is held by switchboard keys list \\(pid ${process.ppid}\\),`),
    );
    assert.match(
      command.en.remedy,
      /^Run this again once switchboard keys list has ended \(a hub ends only when stopped/,
    );
    assert.match(
      command.ru.message,
      new RegExp(`его использует команда switchboard keys list \\(pid ${process.ppid}\\),`),
    );
    assert.match(
      command.ru.remedy,
      /^Повторите команду, когда команда switchboard keys list завершит работу/,
    );

    const hub = refusal(`${process.ppid}\nhub\n`);
    assert.equal(hub.holder, "hub");
    assert.equal(
      hub.en.message,
      `The data directory ${hub.dataDir} is held by the hub (pid ${process.ppid}), and the embedded store allows one process at a time.`,
    );
    assert.match(hub.ru.message, /его использует хаб \(pid/);

    for (const earlier of [undefined, ""]) {
      const unknown = refusal(earlier);
      assert.equal(unknown.holder, undefined);
      assert.match(unknown.en.message, /is held by a hub or command of an earlier version \(pid/);
      assert.match(unknown.ru.message, /его использует хаб или команда более ранней версии \(pid/);
    }
  });
});
