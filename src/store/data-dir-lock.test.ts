import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AppError } from "../errors/app-error.ts";
import { lockDataDir } from "./data-dir-lock.ts";

const tempDir = () => mkdtempSync(join(tmpdir(), "sb-lock-"));
const lockFile = (dataDir: string) => join(dataDir, "switchboard.lock");

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
  it("names its process, keeps a second holder out, and is gone once released", () => {
    const dataDir = tempDir();
    const release = lockDataDir(dataDir);
    assert.equal(readFileSync(lockFile(dataDir), "utf8"), String(process.pid));
    assert.throws(
      () => lockDataDir(dataDir),
      (error) => error instanceof AppError && error.code === "data_dir_locked",
    );
    release();
    assert.equal(existsSync(lockFile(dataDir)), false);
    lockDataDir(dataDir)();
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

  it("refuses a directory held by a live process", () => {
    const dataDir = tempDir();
    writeFileSync(lockFile(dataDir), String(process.ppid));
    assert.throws(
      () => lockDataDir(dataDir),
      (error) =>
        error instanceof AppError && error.code === "data_dir_locked" && error.params.pid === process.ppid,
    );
  });
});
