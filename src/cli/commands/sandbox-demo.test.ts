import assert from "node:assert/strict";
import { readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "../../store/database.ts";
import { createApiKey, revokeApiKey } from "../../store/repositories/api-keys.ts";
import { createWorkspace } from "../../store/repositories/workspaces.ts";
import { apiKey } from "../../store/schema.ts";
import { scratchDir } from "../../testing/scratch-dir.ts";
import { storeKinds } from "../../testing/stores.ts";
import { sandboxKey } from "./sandbox-demo.ts";

/** When the key was revoked; null while it is active. */
async function revokedAt(db: Db, id: string): Promise<Date | null | undefined> {
  const [row] = await db.select({ revokedAt: apiKey.revokedAt }).from(apiKey).where(eq(apiKey.id, id));
  return row?.revokedAt;
}

/** Ids of the active keys named "sandbox key" in the workspace. */
async function activeSandboxKeys(db: Db, workspaceId: string): Promise<string[]> {
  const rows = await db
    .select({ id: apiKey.id })
    .from(apiKey)
    .where(
      and(eq(apiKey.workspaceId, workspaceId), eq(apiKey.name, "sandbox key"), isNull(apiKey.revokedAt)),
    );
  return rows.map((row) => row.id);
}

const modeOf = (file: string) => statSync(file).mode & 0o777;

describe("the sandbox's API key", () => {
  it("is kept in the data directory and given at each start while it is active; one sandbox key stays active", async () => {
    const kind = storeKinds[0];
    assert.ok(kind);
    const store = await kind.open();
    const dataDir = scratchDir("sb-sandbox-key-");
    try {
      const { db } = store;
      const workspace = await createWorkspace(db, "Default workspace");
      await createApiKey(db, { workspaceId: workspace.id, name: "bootstrap admin key", admin: true });
      // What an earlier version left: a new sandbox key at each start.
      const piled = await Promise.all(
        [1, 2].map(() => createApiKey(db, { workspaceId: workspace.id, name: "sandbox key", admin: true })),
      );
      // Another workspace's key of that name, its only one, is none of the sandbox's business.
      const other = await createWorkspace(db, "other");
      const othersKey = await createApiKey(db, { workspaceId: other.id, name: "sandbox key" });

      const first = await sandboxKey(db, workspace.id, dataDir);
      assert.equal(first.reused, false);
      assert.equal(first.file, join(dataDir, "sandbox.key"));
      assert.equal(readFileSync(first.file, "utf8"), `${first.secret}\n`);
      assert.equal(modeOf(first.file), 0o600);
      const [firstId] = await activeSandboxKeys(db, workspace.id);
      assert.equal((await activeSandboxKeys(db, workspace.id)).length, 1);
      for (const { key } of piled) assert.ok(await revokedAt(db, key.id), "an earlier one is revoked");
      assert.equal(await revokedAt(db, othersKey.key.id), null);

      // The next start gives the same key.
      assert.deepEqual(await sandboxKey(db, workspace.id, dataDir), { ...first, reused: true });
      assert.deepEqual(await activeSandboxKeys(db, workspace.id), [firstId]);

      // Revoked (through the API, say): the next start makes a new one and keeps it instead.
      await revokeApiKey(db, firstId as string, { admin: true });
      const renewed = await sandboxKey(db, workspace.id, dataDir);
      assert.equal(renewed.reused, false);
      assert.notEqual(renewed.secret, first.secret);
      assert.equal(readFileSync(renewed.file, "utf8"), `${renewed.secret}\n`);
      assert.equal(modeOf(renewed.file), 0o600);
      const [renewedId] = await activeSandboxKeys(db, workspace.id);
      assert.notEqual(renewedId, firstId);

      // The file lost: a new one, and the key the file held no longer works.
      rmSync(renewed.file);
      const remade = await sandboxKey(db, workspace.id, dataDir);
      assert.equal(remade.reused, false);
      assert.equal((await activeSandboxKeys(db, workspace.id)).length, 1);
      assert.ok(await revokedAt(db, renewedId as string));
    } finally {
      await store.drop();
    }
  });
});
