// `switchboard doctor` on a stopped embedded store with VK channels connected to the emulator:
// one line per channel with its state, mode and last event, VK's own view, and the remedy.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { sql } from "drizzle-orm";
import pino from "pino";
import { startVkEmulator, type VkEmulator } from "../../../emulators/vk/server.ts";
import { connectVkChannel } from "../../channels/vk/connect.ts";
import { loadConfig } from "../../config/load-config.ts";
import { startHub } from "../../hub/hub.ts";
import { openConfiguredStore, prepareStore, secretBoxFor } from "../../hub/open-store.ts";
import { createWorkspace } from "../../store/repositories/workspaces.ts";
import { scratchDir } from "../../testing/scratch-dir.ts";
import { diagnose } from "./doctor-checks.ts";

describe("switchboard doctor with VK channels", () => {
  let vk: VkEmulator;
  const dataDir = scratchDir("sb-doctor-");
  const channels: Record<string, { id: string; groupId: number; tokens: string[] }> = {};

  before(async () => {
    vk = await startVkEmulator();
    const config = loadConfig({ env: {}, flags: { dataDir } });
    const store = await openConfiguredStore(config, () => {}, { holder: "switchboard migrate" });
    try {
      await prepareStore(store, () => {});
      const workspace = await createWorkspace(store.db, "Doctor");
      const deps = {
        store,
        box: secretBoxFor(config),
        publicUrl: undefined,
        logger: pino({ level: "silent" }),
      };
      for (const name of ["healthy", "switched off", "revoked"]) {
        const community = vk.control.createCommunity({ name, tokens: name === "healthy" ? [{}, {}] : [{}] });
        const tokens = community.tokens.map((t) => t.value);
        const { channel } = await connectVkChannel(deps, {
          workspaceId: workspace.id,
          groupId: community.id,
          tokens,
          apiBaseUrl: vk.apiBaseUrl,
        });
        channels[name] = { id: channel.id, groupId: community.id, tokens };
      }
    } finally {
      await store.close();
    }
  });
  after(() => vk.close());

  it("prints each channel's state, mode, last event and VK's view, with the remedy for a problem", async () => {
    const switchedOff = channels["switched off"];
    const revoked = channels.revoked;
    assert.ok(switchedOff && revoked);
    vk.control.updateCommunity(switchedOff.groupId, { longPoll: { enabled: false } });
    vk.control.revokeToken(revoked.tokens[0] as string);

    const started = Date.now();
    const results = await diagnose({ dataDir });
    assert.ok(Date.now() - started < 10_000, "doctor stays quick");
    const line = (name: string) => {
      const found = results.find((r) => r.check.includes(`(${channels[name]?.id})`));
      assert.ok(found, `a line for ${name}: ${JSON.stringify(results)}`);
      return found;
    };

    const healthy = line("healthy");
    assert.equal(healthy.ok, true, JSON.stringify(healthy));
    assert.match(healthy.check, /^channel vk healthy/);
    assert.match(healthy.detail, /^online, mode long_poll, last event never, VK: Long Poll enabled/);

    const off = line("switched off");
    assert.equal(off.ok, false);
    assert.equal(off.code, "vk_long_poll_failing");
    assert.match(off.detail, /switched off/);
    assert.match(off.remedy ?? "", /Long Poll API/);
    // The problem first, then the warning its single token is worth, each with its own remedy.
    assert.deepEqual(
      off.notes?.map((n) => [n.kind, n.code]),
      [
        ["problem", "vk_long_poll_failing"],
        ["warning", "vk_single_token"],
      ],
    );
    assert.match(off.notes?.[1]?.message ?? "", /^The channel has a single access token/);
    assert.match(off.notes?.[1]?.remedy ?? "", /token/);

    const dead = line("revoked");
    assert.equal(dead.ok, false);
    assert.equal(dead.code, "vk_group_auth_failed");
    assert.match(dead.remedy ?? "", /Access tokens/);
  });

  it("asks the hub that holds the store, which checks its store and channels as doctor does", async () => {
    const stopped = await diagnose({ dataDir });
    const hub = await startHub(loadConfig({ env: {}, flags: { dataDir, port: 0, logLevel: "silent" } }), {
      say: () => {},
    });
    let running: Awaited<ReturnType<typeof diagnose>>;
    try {
      running = await diagnose({ dataDir });
    } finally {
      await hub.close();
    }
    const detail = (check: string) => running.find((r) => r.check === check)?.detail;
    assert.equal(
      detail("database"),
      `held by the running hub (pid ${process.pid}, serving ${hub.url}), which checked its store below`,
    );
    for (const check of ["migrations", "stored secrets"])
      assert.equal(detail(check), stopped.find((r) => r.check === check)?.detail);
    assert.match(detail("stored secrets") ?? "", /^all 3 readable with the key in .*secret\.key$/);
    const channelLines = (results: typeof running) =>
      results
        .filter((r) => r.check.startsWith("channel "))
        .map(({ check, ok, code }) => ({ check, ok, code }));
    assert.deepEqual(channelLines(running), channelLines(stopped), JSON.stringify(running, null, 2));
    const healthy = running.find((r) => r.check.includes(`(${channels.healthy?.id})`));
    assert.match(healthy?.detail ?? "", /^online, mode long_poll, last event never, VK: Long Poll enabled/);
  });

  it("says of a key that cannot open the stored secrets what a hub would do with it, not that one did not start", async () => {
    const before = process.env.SWITCHBOARD_SECRET_KEY;
    process.env.SWITCHBOARD_SECRET_KEY = Buffer.alloc(32, 7).toString("base64");
    let results: Awaited<ReturnType<typeof diagnose>>;
    try {
      results = await diagnose({ dataDir });
    } finally {
      if (before === undefined) delete process.env.SWITCHBOARD_SECRET_KEY;
      else process.env.SWITCHBOARD_SECRET_KEY = before;
    }
    const secrets = results.find((r) => r.check === "stored secrets");
    assert.equal(secrets?.code, "store_secret_key_mismatch", JSON.stringify(results));
    assert.match(
      secrets?.detail ?? "",
      /^The configured SWITCHBOARD_SECRET_KEY cannot decrypt .*\(channel tokens: 3 of 3\).* A hub given this key would not start \(doctor changed nothing\)\.$/,
    );
    assert.doesNotMatch(secrets?.detail ?? "", /did not start/);
  });

  // The test runner's parent is alive and is not this process: its pid in a lock holds it.
  const alive = process.ppid;
  /**
   * A data directory with a store (as far as doctor looks) that a live process holds, as `holder`
   * says in the holder file; without one, as an earlier version's lock does.
   */
  const heldBy = (holder?: string) => {
    const held = scratchDir("sb-doctor-held-");
    mkdirSync(join(held, "pglite"));
    writeFileSync(join(held, "pglite", "PG_VERSION"), "17\n");
    writeFileSync(join(held, "switchboard.lock"), String(alive));
    if (holder) writeFileSync(join(held, "switchboard.holder"), `${alive}\n${holder}\n`);
    return held;
  };

  it("says the hub did not answer when a live process holds the store without a control socket", async () => {
    const noAnswer = (held: string) =>
      `which did not answer doctor: nothing answers at its control socket ${join(held, "hub.sock")} (a hub opens it once its store is ready; a hub older than this version has none).`;
    // An earlier version's lock file holds only the pid: its holder is probably a hub, asked as one.
    const earlier = heldBy();
    const database = (await diagnose({ dataDir: earlier })).find((r) => r.check === "database");
    assert.equal(database?.ok, false);
    assert.equal(database?.code, "running_hub_unreachable");
    assert.equal(
      database?.detail,
      `The data directory ${earlier} is held by a hub or command of an earlier version (pid ${alive}), ${noAnswer(earlier)}`,
    );
    assert.match(database?.remedy ?? "", /still starting.*An earlier version's hub has no control socket/);

    const hub = heldBy("hub");
    const hubLine = (await diagnose({ dataDir: hub })).find((r) => r.check === "database");
    assert.equal(hubLine?.code, "running_hub_unreachable");
    assert.equal(
      hubLine?.detail,
      `The data directory ${hub} is held by the hub (pid ${alive}), ${noAnswer(hub)}`,
    );
  });

  it("says which command holds the store, to run doctor again once it ends, without asking it as a hub", async () => {
    const held = heldBy("switchboard keys create");
    // Something answering at hub.sock would be asked, were the holder taken for a hub.
    let asked = 0;
    const socket = createServer((_req, res) => {
      asked++;
      res.end("{}");
    });
    await new Promise<void>((resolve) => socket.listen(join(held, "hub.sock"), resolve));
    try {
      const results = await diagnose({ dataDir: held });
      const database = results.find((r) => r.check === "database");
      assert.equal(asked, 0, "the control socket was not asked");
      assert.equal(database?.ok, false);
      assert.equal(database?.code, "data_dir_locked");
      assert.equal(
        database?.detail,
        `The data directory ${held} is held by switchboard keys create (pid ${alive}), and the embedded store allows one process at a time.`,
      );
      assert.match(database?.remedy ?? "", /^Run this again once switchboard keys create has ended /);
      assert.equal(results.at(-1), database, "nothing is checked after it");
    } finally {
      socket.close();
    }
  });

  it("says so when the data directory's key file cannot be read or holds no key", async () => {
    const elsewhere = scratchDir("sb-doctor-key-");
    writeFileSync(join(elsewhere, "secret.key"), "not a key\n");
    const key = (await diagnose({ dataDir: elsewhere })).find((r) => r.check === "encryption key");
    assert.equal(key?.ok, false, JSON.stringify(key));
    assert.equal(key?.code, "secret_key_file_unreadable");
    assert.match(key?.remedy ?? "", /Do not replace it with a new key/);
  });
});

describe("switchboard doctor on a store a newer version migrated", () => {
  it("says so on its migrations line, the database reachable, whether a hub holds the store or not", async () => {
    const dataDir = scratchDir("sb-doctor-newer-");
    const hub = await startHub(loadConfig({ env: {}, flags: { dataDir, port: 0, logLevel: "silent" } }), {
      say: () => {},
    });
    let running: Awaited<ReturnType<typeof diagnose>>;
    let besideAdditive: Awaited<ReturnType<typeof diagnose>>;
    try {
      // What a newer version's migrations leave: rows this version has no file for, and for an
      // additive one, its mark.
      const additiveAt = Date.now() + 86_400_000;
      await hub.store.db.execute(
        sql`insert into drizzle.__drizzle_migrations (hash, created_at) values ('from a newer version', ${additiveAt})`,
      );
      await hub.store.db.execute(
        sql`insert into drizzle.switchboard_additive_migrations (created_at) values (${additiveAt})`,
      );
      besideAdditive = await diagnose({ dataDir });
      await hub.store.db.execute(
        sql`insert into drizzle.__drizzle_migrations (hash, created_at) values ('from a newer version', ${additiveAt + 1})`,
      );
      running = await diagnose({ dataDir });
    } finally {
      await hub.close();
    }
    const stopped = await diagnose({ dataDir });
    const migrationsLine = (results: typeof running) => results.find((r) => r.check === "migrations");
    const additive = migrationsLine(besideAdditive);
    assert.equal(additive?.ok, true);
    assert.match(additive?.detail ?? "", /^(\d+) of \1 applied; 1 of a newer version, all additive$/);
    for (const [how, results] of [
      ["through the running hub", running],
      ["on the stopped store", stopped],
    ] as const) {
      assert.equal(results.find((r) => r.check === "database")?.ok, true, how);
      const migrations = migrationsLine(results);
      assert.equal(migrations?.ok, false, how);
      assert.equal(migrations?.code, "store_newer_than_version", how);
      assert.match(
        migrations?.detail ?? "",
        /^A newer version of Switchboard migrated this store: it has 2 migrations .*, 1 of them not additive/,
      );
      assert.equal(results.at(-1), migrations, `${how}: nothing is checked after it`);
    }
    assert.deepEqual(migrationsLine(stopped), migrationsLine(running));
  });
});
