// Runs before `npm start` and `npm test`: installs the locked dependencies when they are missing
// or older than the lockfile, so a fresh clone needs no separate install step.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const installed = "node_modules/.package-lock.json";
const stale = !existsSync(installed) || statSync(installed).mtimeMs < statSync("package-lock.json").mtimeMs;
if (stale) {
  process.stderr.write("Installing the locked dependencies…\n");
  // Not `npm ci`: see .ci/run. `--no-save` installs the locked versions and keeps the lockfile.
  const result = spawnSync("npm", ["install", "--no-save", "--no-audit", "--no-fund"], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
