// `switchboard secrets` beside a running hub on PostgreSQL: what only the server mode can tell;
// and what `forget` says of the key file it makes in a data directory that had none.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadConfig } from "../../config/load-config.ts";
import { AppError } from "../../errors/app-error.ts";
import { startHub } from "../../hub/hub.ts";
import { openConfiguredStore, prepareStore } from "../../hub/open-store.ts";
import { scratchDir } from "../../testing/scratch-dir.ts";
import { createScratchDatabase, serverUrl } from "../../testing/stores.ts";
import { waitFor } from "../../testing/vk-hub.ts";
import { endpointSealedWith } from "../../testing/webhooks.ts";
import { forget, rekey } from "./secrets-actions.ts";

describe("switchboard secrets on PostgreSQL", () => {
  it("refuses to change anything while a hub runs on the database, and lists meanwhile", {
    skip: serverUrl ? false : "SWITCHBOARD_TEST_DATABASE_URL is not set",
  }, async () => {
    const scratch = await createScratchDatabase(serverUrl as string);
    const secretKey = Buffer.alloc(32, 5).toString("base64");
    const options = { databaseUrl: scratch.url, secretKey, json: true };
    const quiet = { say: () => {} };
    try {
      const hub = await startHub(
        loadConfig({ env: {}, flags: { databaseUrl: scratch.url, secretKey, port: 0, logLevel: "silent" } }),
        quiet,
      );
      let running = true;
      try {
        const refused = (error: unknown) => {
          assert.ok(error instanceof AppError && error.code === "hubs_running", String(error));
          assert.match(error.message, /^\d+ connections of running hub processes are open to /);
          assert.match(error.render("en").remedy, /Stop every hub process/);
          return true;
        };
        await assert.rejects(forget({ ...options, yes: true }), refused);
        await assert.rejects(
          rekey({ ...options, previousSecretKey: Buffer.alloc(32, 6).toString("base64") }),
          refused,
        );
        // Listing changes nothing, so it runs beside the hub.
        await forget(options);
        running = false;
        await hub.close();
        // A closed connection's server process may show in pg_stat_activity a moment longer.
        await waitFor("forget to run once the hub stopped", async () => {
          try {
            await forget({ ...options, yes: true });
            return true;
          } catch (error) {
            if (error instanceof AppError && error.code === "hubs_running") return false;
            throw error;
          }
        });
      } finally {
        if (running) await hub.close();
      }
    } finally {
      await scratch.drop();
    }
  });
});

describe("switchboard secrets forget in a data directory without a key file", () => {
  it("makes the key file and says so, in JSON too", async (t) => {
    const dataDir = scratchDir("sb-forget-");
    const config = loadConfig({ env: {}, flags: { dataDir } });
    const store = await openConfiguredStore(config, () => {}, { holder: "switchboard migrate" });
    try {
      await prepareStore(store, () => {});
      // Sealed with a key the data directory no longer has.
      await endpointSealedWith(store.db, 1);
    } finally {
      await store.close();
    }
    const keyFile = join(dataDir, "secret.key");
    assert.equal(existsSync(keyFile), false);
    let printed = "";
    t.mock.method(process.stdout, "write", (chunk: string) => {
      printed += chunk;
      return true;
    });
    t.mock.method(process.stderr, "write", () => true);
    try {
      await forget({ dataDir, json: true });
      const listed = JSON.parse(printed);
      assert.deepEqual([listed.key, listed.forgotten, listed.new_key_file], ["none", false, undefined]);
      printed = "";
      await forget({ dataDir, yes: true, json: true });
    } finally {
      t.mock.restoreAll();
    }
    const forgot = JSON.parse(printed);
    // What stays is sealed with the key file made now: the key used is that file.
    assert.deepEqual([forgot.key, forgot.forgotten, forgot.new_key_file], ["file", true, keyFile]);
    assert.deepEqual(
      forgot.secrets.map((s: { kind: string }) => s.kind),
      ["endpoint_secret"],
    );
    assert.match(readFileSync(keyFile, "utf8"), /^[A-Za-z0-9+/]{43}=\n?$/);
  });
});
