// `switchboard secrets` beside a running hub on PostgreSQL: what only the server mode can tell.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../config/load-config.ts";
import { AppError } from "../../errors/app-error.ts";
import { startHub } from "../../hub/hub.ts";
import { createScratchDatabase, serverUrl } from "../../testing/stores.ts";
import { waitFor } from "../../testing/vk-hub.ts";
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
