import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { maxHeaderSize } from "node:http";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { eq, sql } from "drizzle-orm";
import pg from "pg";
import pino from "pino";
import { loadConfig } from "../config/load-config.ts";
import { AppError } from "../errors/app-error.ts";
import { openStore } from "../store/database.ts";
import { migrate, migrationLock, migrationStatus } from "../store/migrations.ts";
import { listApiKeys } from "../store/repositories/api-keys.ts";
import { createChannelAccount } from "../store/repositories/channel-accounts.ts";
import { countPendingInboundEvents } from "../store/repositories/inbound-events.ts";
import { countWorkspaces, createWorkspace, oldestWorkspace } from "../store/repositories/workspaces.ts";
import { channelAccount } from "../store/schema.ts";
import { SecretBox } from "../store/secret-box.ts";
import { scratchDir } from "../testing/scratch-dir.ts";
import { createScratchDatabase, serverUrl } from "../testing/stores.ts";
import { waitFor } from "../testing/vk-hub.ts";
import { endpointSealedWith } from "../testing/webhooks.ts";
import { startHub } from "./hub.ts";
import { countHubConnections, openConfiguredStore, openExistingStore, secretBoxFor } from "./open-store.ts";

const quiet = { say: () => {} };
const secretKey = Buffer.alloc(32, 3).toString("base64");
/** A hub process on a scratch PostgreSQL database, with the shared key. */
const serverConfig = (databaseUrl: string) => ({
  ...loadConfig({ env: {}, flags: { databaseUrl, port: 0, logLevel: "silent", poolSize: 3 } }),
  secretKey,
});

describe("hub", () => {
  it("starts on an embedded store, bootstraps once, and restarts on the same data", async () => {
    const dataDir = scratchDir("sb-hub-");
    const lines: string[] = [];
    const config = loadConfig({ env: {}, flags: { dataDir, port: 0, logLevel: "silent" } });
    const first = await startHub(config, { say: (line) => lines.push(line) });
    try {
      const ready = await fetch(`${first.url}/readyz`);
      assert.equal(ready.status, 200);
      // Longer than a proxy's idle timeout (60 s), so that the proxy closes a connection first.
      assert.equal(ready.headers.get("keep-alive"), "timeout=65");
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

  it("leaves a store a newer version migrated: out of service while running, refused at the next start and by commands", async () => {
    const dataDir = scratchDir("sb-hub-newer-");
    const config = loadConfig({ env: {}, flags: { dataDir, port: 0, logLevel: "silent" } });
    const hub = await startHub(config, quiet);
    const newer = (error: unknown) => {
      assert.ok(error instanceof AppError && error.code === "store_newer_than_version", String(error));
      assert.match(error.message, /^A newer version of Switchboard migrated this store: it has 2 migrations/);
      return true;
    };
    try {
      const ready = (await (await fetch(`${hub.url}/readyz`)).json()) as {
        migrations: { applied: number; known: number; newer: number };
      };
      assert.equal(ready.migrations.newer, 0);
      // What a newer version's migration leaves: a row this version has no file for, and for an
      // additive one, its mark.
      const newerMigration = async (at: number, additive: boolean) => {
        await hub.store.db.execute(
          sql`insert into drizzle.__drizzle_migrations (hash, created_at) values ('from a newer version', ${at})`,
        );
        if (additive)
          await hub.store.db.execute(
            sql`insert into drizzle.switchboard_additive_migrations (created_at) values (${at})`,
          );
      };
      await newerMigration(Date.now() + 86_400_000, true);
      const beside = await fetch(`${hub.url}/readyz`);
      assert.equal(beside.status, 200, "ready beside an additive migration (a rolling upgrade)");
      assert.deepEqual(((await beside.json()) as typeof ready).migrations, { ...ready.migrations, newer: 1 });
      await newerMigration(Date.now() + 2 * 86_400_000, false);
      const status = await migrationStatus(hub.store.db);
      assert.deepEqual([status.newer, status.newerBreaking], [2, 1]);
      const answer = await fetch(`${hub.url}/readyz`);
      assert.equal(answer.status, 503);
      const { error } = (await answer.json()) as { error: { code: string; message: string } };
      assert.equal(error.code, "not_ready");
      assert.match(
        error.message,
        /a newer version migrated the store \(2 migrations this version does not know, 1 of them not additive\)/,
      );
      await assert.rejects(migrate(hub.store), newer);
    } finally {
      await hub.close();
    }
    await assert.rejects(startHub(config, quiet), newer);
    await assert.rejects(openExistingStore(config, "switchboard keys list"), newer);
  });

  it("refuses a key that cannot open the stored secrets, naming the key the store needs, and writes no key", async () => {
    const dataDir = scratchDir("sb-hub-");
    const keyFile = join(dataDir, "secret.key");
    const flags = { dataDir, port: 0, logLevel: "silent" };
    const config = loadConfig({ env: {}, flags });
    // A store whose channel tokens were sealed with the key generated into its data directory.
    const store = await openStore({ mode: "embedded", dataDir });
    try {
      await migrate(store);
      await createChannelAccount(store.db, secretBoxFor(config), {
        workspaceId: (await createWorkspace(store.db, "Shop")).id,
        kind: "vk",
        externalId: "1",
        name: "Shop",
        credentials: { tokens: ["vk1.a.token"] },
        settings: {},
      });
    } finally {
      await store.close();
    }
    const refused = async (settings: typeof config, message: RegExp, remedy: RegExp) =>
      assert.rejects(startHub(settings, quiet), (error: unknown) => {
        assert.ok(error instanceof AppError && error.code === "store_secret_key_mismatch", String(error));
        const { message: text, remedy: how } = error.render("en");
        assert.match(text, message);
        assert.match(text, /The hub did not start, and changed nothing\.$/);
        assert.match(how, remedy);
        return true;
      });
    const other = Buffer.alloc(32, 9).toString("base64");

    // Another configured key: the store needs the data directory's, which it names.
    await refused(
      { ...config, secretKey: other },
      new RegExp(
        `^The configured SWITCHBOARD_SECRET_KEY cannot decrypt secrets stored in ${dataDir} \\(channel tokens: 1 of 1\\): `,
      ),
      new RegExp(`the one in ${keyFile}, which the hub uses when SWITCHBOARD_SECRET_KEY is not set: unset`),
    );
    const original = readFileSync(keyFile);
    // Another key file (restored from the wrong backup, say).
    writeFileSync(keyFile, `${other}\n`);
    await refused(
      config,
      new RegExp(`^The key in ${keyFile} cannot decrypt`),
      new RegExp(`otherwise the ${keyFile} of that time \\(restore it from the backup`),
    );
    // No key file at all: refused without generating one, which would not be the one it needs.
    rmSync(keyFile);
    await refused(
      config,
      new RegExp(
        `^Without a key \\(SWITCHBOARD_SECRET_KEY is not set, and ${keyFile} does not exist\\), the hub cannot decrypt`,
      ),
      /restore it from the backup/,
    );
    assert.equal(existsSync(keyFile), false, "no key file was generated");
    assert.equal(existsSync(join(dataDir, "switchboard.lock")), false, "the store was closed");

    // A key file that cannot be read, or holds no key, is said so: never replaced or ignored.
    writeFileSync(keyFile, "not a key\n");
    await assert.rejects(startHub(config, quiet), (error: unknown) => {
      assert.ok(error instanceof AppError && error.code === "secret_key_file_unreadable", String(error));
      assert.match(error.message, /it holds no key \(32 bytes in base64; this decodes to 5\)\.$/);
      assert.match(error.render("en").remedy, /Do not replace it with a new key/);
      return true;
    });
    rmSync(keyFile);
    mkdirSync(keyFile);
    await assert.rejects(
      startHub(config, quiet),
      (error: unknown) =>
        error instanceof AppError &&
        error.code === "secret_key_file_unreadable" &&
        /EISDIR/.test(String(error.params.reason)),
    );
    rmSync(keyFile, { recursive: true });

    // Every secret is tried, not one of each kind: a second channel sealed with another key.
    writeFileSync(keyFile, original);
    const mixed = await openStore({ mode: "embedded", dataDir });
    try {
      await createChannelAccount(mixed.db, new SecretBox(Buffer.alloc(32, 7)), {
        workspaceId: (await oldestWorkspace(mixed.db))?.id as string,
        kind: "vk",
        externalId: "2",
        name: "Outlet",
        credentials: { tokens: ["vk1.a.other"] },
        settings: {},
      });
    } finally {
      await mixed.close();
    }
    await refused(config, /cannot decrypt secrets stored in .* \(channel tokens: 1 of 2\)/, /secrets forget/);
    const cleanup = await openStore({ mode: "embedded", dataDir });
    try {
      await cleanup.db.delete(channelAccount).where(eq(channelAccount.externalId, "2"));
    } finally {
      await cleanup.close();
    }

    // With the right key it starts, and a configured copy of it is as good.
    for (const settings of [config, { ...config, secretKey: original.toString("utf8").trim() }]) {
      const hub = await startHub(settings, quiet);
      await hub.close();
    }
  });

  it("refuses a key that cannot open a stored webhook signing secret, and lets its address and store go", async () => {
    const dataDir = scratchDir("sb-hub-");
    const port = 47217;
    const config = loadConfig({ env: {}, flags: { dataDir, port, logLevel: "silent" } });
    const store = await openStore({ mode: "embedded", dataDir });
    try {
      await migrate(store);
      await endpointSealedWith(store.db, 1);
    } finally {
      await store.close();
    }
    await assert.rejects(
      startHub({ ...config, secretKey: Buffer.alloc(32, 2).toString("base64") }, quiet),
      (error: unknown) => error instanceof AppError && error.code === "store_secret_key_mismatch",
    );
    // The start had taken its address and opened the store before the key was tried: both are let go.
    assert.equal(existsSync(join(dataDir, "switchboard.lock")), false);
    const other = createServer();
    await new Promise<void>((resolve, reject) => {
      other.once("error", reject);
      other.listen(port, "127.0.0.1", resolve);
    });
    await new Promise((resolve) => other.close(resolve));
    const hub = await startHub({ ...config, secretKey: Buffer.alloc(32, 1).toString("base64") }, quiet);
    await hub.close();
  });

  it("stops after the step it is in when asked to, lets go of what it took, and starts again", async () => {
    const dataDir = scratchDir("sb-hub-");
    const port = 47218;
    const config = loadConfig({ env: {}, flags: { dataDir, port, logLevel: "silent" } });
    const asked = new AbortController();
    const logged: { msg: string }[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => logged.push(JSON.parse(line)) });
    // Asked to stop as the new store is being made: it is made, then nothing more.
    const say = (line: string) => {
      if (line.startsWith("Initialising the embedded store")) asked.abort(new Error("asked to stop"));
    };
    await assert.rejects(startHub(config, { say, logger, signal: asked.signal }), asked.signal.reason);
    assert.deepEqual(
      logged.map((line) => line.msg),
      ["stopped while starting, as asked; what the start had opened is closed"],
    );
    assert.equal(existsSync(join(dataDir, "switchboard.lock")), false, "the store is closed");
    const store = await openStore({ mode: "embedded", dataDir });
    try {
      assert.equal((await migrationStatus(store.db)).applied, 0, "no migration was begun");
    } finally {
      await store.close();
    }
    // The address was let go, and the next start makes the rest.
    const lines: string[] = [];
    const hub = await startHub(config, { say: (line) => lines.push(line) });
    try {
      assert.equal(hub.url, `http://127.0.0.1:${port}`);
      assert.ok(lines.some((line) => line.trim().startsWith("sbk_")));
      assert.equal((await fetch(`${hub.url}/readyz`)).status, 200);
    } finally {
      await hub.close();
    }
  });

  it("takes its address before the store, and answers 503 hub_starting until it serves", {
    skip: serverUrl ? false : "SWITCHBOARD_TEST_DATABASE_URL is not set",
  }, async () => {
    const scratch = await createScratchDatabase(serverUrl as string);
    // Another process migrating: the hub waits for the migration lock, its address already taken.
    const migrating = new pg.Client({ connectionString: scratch.url });
    await migrating.connect();
    await migrating.query("select pg_advisory_lock($1)", [migrationLock]);
    const logged: { msg: string; port?: number }[] = [];
    const logger = pino({ level: "debug" }, { write: (line: string) => logged.push(JSON.parse(line)) });
    const starting = startHub(serverConfig(scratch.url), { say: () => {}, logger });
    let hub: Awaited<typeof starting> | undefined;
    try {
      await waitFor("the hub migrating", () => logged.some((line) => line.msg === "migrating the store"));
      const port = logged.find((line) => line.port !== undefined)?.port;
      const early = await fetch(`http://127.0.0.1:${port}/v1/contacts`, {
        headers: { "accept-language": "ru" },
      });
      assert.equal(early.status, 503);
      assert.equal(early.headers.get("retry-after"), "2");
      const { error } = (await early.json()) as {
        error: { code: string; message: string; request_id: string };
      };
      assert.equal(error.code, "hub_starting");
      assert.match(error.message, /^Хаб запускается/);
      assert.equal(early.headers.get("x-request-id"), error.request_id);
      assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 503);

      await migrating.query("select pg_advisory_unlock($1)", [migrationLock]);
      hub = await starting;
      assert.equal(hub.url, `http://127.0.0.1:${port}`);
      assert.equal((await fetch(`${hub.url}/readyz`)).status, 200);
      const unauthenticated = (await (await fetch(`${hub.url}/v1/contacts`)).json()) as {
        error: { code: string };
      };
      assert.equal(unauthenticated.error.code, "auth_missing");
    } finally {
      await migrating.end();
      await (hub ?? (await starting.catch(() => undefined)))?.close();
      await scratch.drop();
    }
  });

  it("limits request bodies over HTTP whether their length is announced or they come chunked, and headers and unencoded URLs with a catalogued answer", async () => {
    const dataDir = scratchDir("sb-hub-");
    const lines: string[] = [];
    const config = loadConfig({ env: {}, flags: { dataDir, port: 0, logLevel: "silent", bodyLimit: 1024 } });
    const hub = await startHub(config, { say: (line) => lines.push(line) });
    try {
      const key = lines.find((line) => line.trim().startsWith("sbk_"))?.trim();
      const post = (body: string, chunked: boolean) =>
        fetch(`${hub.url}/v1/contacts`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          // A stream has no length to announce, so fetch sends it chunked.
          ...(chunked ? { body: new Blob([body]).stream(), duplex: "half" as const } : { body }),
        });
      const big = JSON.stringify({ name: "Big", custom_fields: { blob: "x".repeat(2000) } });
      for (const chunked of [false, true]) {
        const over = await post(big, chunked);
        assert.equal(over.status, 413, `chunked: ${chunked}`);
        assert.equal(((await over.json()) as { error: { code: string } }).error.code, "body_too_large");
        const fits = await post(JSON.stringify({ name: `Fits ${chunked}` }), chunked);
        assert.equal(fits.status, 201, `chunked: ${chunked}`);
      }
      // Headers over Node's limit never reach the app: the server answers them, with the body
      // every other error has.
      const huge = await fetch(`${hub.url}/v1/contacts`, {
        headers: { authorization: `Bearer ${key}`, "x-padding": "x".repeat(20_000) },
      });
      assert.equal(huge.status, 431);
      assert.match(huge.headers.get("content-type") ?? "", /^application\/json/);
      const refused = (await huge.json()) as { error: Record<string, string> };
      assert.deepEqual(Object.keys(refused.error), ["code", "message", "remedy", "request_id"]);
      assert.equal(refused.error.code, "headers_too_large");
      assert.equal(
        refused.error.message,
        `The request's headers are larger than the hub reads (${maxHeaderSize} bytes in all).`,
      );
      assert.equal(refused.error.request_id, huge.headers.get("x-request-id"));
      const raw = (request: string) =>
        new Promise<string>((resolve, reject) => {
          const socket = connect(Number(new URL(hub.url).port), "127.0.0.1", () => socket.end(request));
          let answer = "";
          socket.on("data", (chunk) => {
            answer += chunk;
          });
          socket.on("close", () => resolve(answer));
          socket.on("error", reject);
        });
      // A query written as curl sends `?q=Анна`, unencoded, is told what is wrong with it.
      const unencoded = await raw(
        `GET /v1/contacts?q=Анна HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${key}\r\n\r\n`,
      );
      assert.match(unencoded, /^HTTP\/1.1 400 Bad Request\r\n/);
      const [, unencodedBody = ""] = unencoded.split("\r\n\r\n");
      assert.equal(JSON.parse(unencodedBody).error.code, "url_malformed");
      // Other requests Node cannot read are answered as Node does, and the hub goes on serving.
      const garbled = await raw("NOT HTTP\r\n\r\n");
      assert.equal(garbled, "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      assert.equal((await fetch(`${hub.url}/healthz`)).status, 200);
    } finally {
      await hub.close();
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

  it("refuses, on PostgreSQL, a process whose key cannot open what the others stored", {
    skip: serverUrl ? false : "SWITCHBOARD_TEST_DATABASE_URL is not set",
  }, async () => {
    const scratch = await createScratchDatabase(serverUrl as string);
    const config = serverConfig(scratch.url);
    try {
      const first = await startHub(config, quiet);
      let stopped = false;
      try {
        await createChannelAccount(first.store.db, secretBoxFor(config), {
          workspaceId: (await oldestWorkspace(first.store.db))?.id as string,
          kind: "vk",
          externalId: "1",
          name: "Shop",
          credentials: { tokens: ["vk1.a.token"] },
          settings: {},
        });
        await assert.rejects(
          startHub({ ...config, secretKey: Buffer.alloc(32, 4).toString("base64") }, quiet),
          (error: unknown) => {
            assert.ok(error instanceof AppError && error.code === "store_secret_key_mismatch", String(error));
            assert.match(error.render("en").remedy, /every hub process on one database needs that same key/);
            return true;
          },
        );
        // A command tells a running hub by its connections' name, and does not count its own.
        const command = await openConfiguredStore(config, () => {}, { holder: "switchboard keys list" });
        try {
          assert.ok((await countHubConnections(command)) >= 1, "the running hub's connections");
          stopped = true;
          await first.close();
          // A closed connection's server process may show in pg_stat_activity a moment longer.
          await waitFor(
            "the stopped hub's connections to end",
            async () => (await countHubConnections(command)) === 0,
          );
        } finally {
          await command.close();
        }
      } finally {
        if (!stopped) await first.close();
      }
    } finally {
      await scratch.drop();
    }
  });

  it("leaves the background work to the processes with the role all", {
    skip: serverUrl ? false : "SWITCHBOARD_TEST_DATABASE_URL is not set",
  }, async () => {
    const scratch = await createScratchDatabase(serverUrl as string);
    const config = serverConfig(scratch.url);
    const api = await startHub({ ...config, role: "api" }, quiet);
    let worker: Awaited<ReturnType<typeof startHub>> | undefined;
    try {
      assert.equal(api.workers, undefined);
      const workspace = await oldestWorkspace(api.store.db);
      const channel = await createChannelAccount(api.store.db, secretBoxFor(config), {
        workspaceId: workspace?.id as string,
        kind: "vk",
        externalId: "4242",
        name: "Shop",
        credentials: { tokens: ["vk1.a.token"], callbackSecret: "s" },
        settings: { mode: "callback" },
      });
      const deliver = async (id: number) => {
        const body = {
          type: "message_new",
          group_id: 4242,
          event_id: `e${id}`,
          v: "5.199",
          secret: "s",
          object: { message: { id, date: 1_700_000_000, from_id: 7, peer_id: 7, out: 0, text: `m${id}` } },
        };
        const res = await fetch(`${api.url}/hooks/vk/${channel.id}`, {
          method: "POST",
          body: JSON.stringify(body),
        });
        assert.equal(await res.text(), "ok");
      };
      await deliver(1);
      await new Promise((done) => setTimeout(done, 1_500));
      assert.equal(
        await countPendingInboundEvents(api.store.db),
        1,
        "the api process stores, never processes",
      );
      worker = await startHub(config, quiet);
      await waitFor(
        "the all process applying the event",
        async () => (await countPendingInboundEvents(api.store.db)) === 0,
      );
    } finally {
      await worker?.close();
      await api.close();
      await scratch.drop();
    }
  });
});
