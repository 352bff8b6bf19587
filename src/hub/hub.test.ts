import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadConfig } from "../config/load-config.ts";
import { AppError } from "../errors/app-error.ts";
import { listApiKeys } from "../store/repositories/api-keys.ts";
import { countWorkspaces } from "../store/repositories/workspaces.ts";
import { createScratchDatabase, serverUrl } from "../testing/stores.ts";
import { startHub } from "./hub.ts";

const quiet = { say: () => {} };
const secretKey = Buffer.alloc(32, 3).toString("base64");

describe("hub", () => {
  it("starts on an embedded store, bootstraps once, and restarts on the same data", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "sb-hub-"));
    const lines: string[] = [];
    const config = loadConfig({ env: {}, flags: { dataDir, port: 0, logLevel: "silent" } });
    const first = await startHub(config, { say: (line) => lines.push(line) });
    try {
      assert.equal((await fetch(`${first.url}/readyz`)).status, 200);
      const key = lines.find((line) => line.trim().startsWith("sbk_"))?.trim();
      assert.ok(key, lines.join("\n"));
      const keys = await fetch(`${first.url}/v1/api-keys`, { headers: { authorization: `Bearer ${key}` } });
      const body = (await keys.json()) as { items: { admin: boolean }[] };
      assert.equal(body.items[0]?.admin, true);
      await assert.rejects(
        startHub(config, quiet),
        (error: unknown) => error instanceof AppError && error.code === "data_dir_locked",
      );
    } finally {
      await first.close();
    }
    const again = await startHub(config, quiet);
    try {
      assert.equal(await countWorkspaces(again.store.db), 1);
    } finally {
      await again.close();
    }
  });

  it("lets several hub processes start together on one empty PostgreSQL database", {
    skip: serverUrl ? false : "SWITCHBOARD_TEST_DATABASE_URL is not set",
  }, async () => {
    const scratch = await createScratchDatabase(serverUrl as string);
    const config = loadConfig({
      env: {},
      flags: { databaseUrl: scratch.url, port: 0, logLevel: "silent", poolSize: 3 },
      configFile: undefined,
    });
    const withKey = { ...config, secretKey };
    const announced: string[] = [];
    const hubs = await Promise.all(
      [1, 2, 3].map(() => startHub(withKey, { say: (line) => announced.push(line) })),
    );
    try {
      for (const hub of hubs) assert.equal((await fetch(`${hub.url}/readyz`)).status, 200);
      const db = hubs[0]?.store.db;
      assert.ok(db);
      assert.equal(await countWorkspaces(db), 1);
      assert.equal((await listApiKeys(db, undefined, { limit: 10 })).items.length, 1);
      assert.equal(announced.filter((line) => line.trim().startsWith("sbk_")).length, 1);
    } finally {
      for (const hub of hubs) await hub.close();
      await scratch.drop();
    }
  });
});
