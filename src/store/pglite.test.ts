import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import { openStore, queryRows, type Store } from "./database.ts";
import { migrate } from "./migrations.ts";
import { startUpkeep, type UpkeepPolicy } from "./pglite.ts";

// PGlite is PostgreSQL in single-user mode: nothing checkpoints unless the store does.
describe("checkpoints of the embedded store", () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const open = async (upkeep: Partial<UpkeepPolicy>) => {
    const dir = mkdtempSync(join(tmpdir(), "switchboard-checkpoints-"));
    dirs.push(dir);
    const store = await openStore({
      mode: "embedded",
      dataDir: dir,
      upkeep: {
        analyzeAfterMs: 3_600_000,
        checkpointWalBytes: 2 ** 30,
        checkpointMaxIntervalMs: 3_600_000,
        checkpointCheckMs: 20,
        ...upkeep,
      },
    });
    await store.db.execute(sql`create table filler (id int, text text)`);
    return { store, dir };
  };
  const redo = async (store: Store) =>
    (
      await queryRows<{ redo: string }>(
        store.db,
        sql`select redo_lsn::text as redo from pg_control_checkpoint()`,
      )
    )[0]?.redo;
  /** About `megabytes` MB of WAL. */
  const write = (store: Store, megabytes: number) =>
    store.db.execute(
      sql`insert into filler select g, repeat(md5(g::text), 32) from generate_series(1, ${megabytes * 800}) g`,
    );
  const waitForCheckpoint = async (store: Store, after: string | undefined) => {
    for (let waited = 0; waited < 5_000; waited += 20) {
      const now = await redo(store);
      if (now !== after) return now;
      await sleep(20);
    }
    assert.fail("no checkpoint within 5 s");
  };

  it("checkpoints once the WAL since the last checkpoint passes the policy's size, and not before", async () => {
    const { store } = await open({ checkpointWalBytes: 4 * 2 ** 20 });
    try {
      const start = await redo(store);
      await write(store, 1);
      await sleep(200);
      assert.equal(await redo(store), start, "1 MB of WAL is under the 4 MB policy");
      await write(store, 4);
      const first = await waitForCheckpoint(store, start);
      await sleep(200);
      assert.equal(await redo(store), first, "nothing written since: no second checkpoint");
    } finally {
      await store.close();
    }
  });

  it("checkpoints after the policy's interval when anything was written, and never when nothing was", async () => {
    const { store } = await open({ checkpointMaxIntervalMs: 100 });
    try {
      const first = await waitForCheckpoint(store, await redo(store));
      await sleep(300);
      assert.equal(await redo(store), first, "an idle store is not checkpointed again");
      await write(store, 0.1);
      await waitForCheckpoint(store, first);
    } finally {
      await store.close();
    }
  });

  it("keeps the data directory's WAL from growing while the store runs", async () => {
    const { store, dir } = await open({ checkpointWalBytes: 16 * 2 ** 20 });
    const segments = () =>
      readdirSync(join(dir, "pglite", "pg_wal")).filter((name) => /^[0-9A-F]{24}$/.test(name));
    try {
      for (let round = 0; round < 8; round++) {
        await write(store, 16);
        await sleep(100);
      }
      // 128 MB written: eight segments without checkpoints; with them, old ones are recycled.
      assert.ok(segments().length <= 4, `${segments().length} WAL segments`);
    } finally {
      await store.close();
    }
  });
});

/** A stand-in for PGlite with one table whose first vacuum fails, and (if told) every checkpoint look. */
function failingOnce(fail: { checkpoints: boolean }) {
  let vacuums = 0;
  const client = {
    query: async (text: string) => {
      if (fail.checkpoints && text.includes("pg_control_checkpoint")) throw new Error("no control file");
      return { rows: [{ name: "public.a" }] };
    },
    exec: async () => {
      vacuums += 1;
      if (vacuums === 1) throw new Error("disk full");
      return [];
    },
  };
  return { client: client as unknown as PGlite, vacuums: () => vacuums };
}

describe("vacuum and analyze of the embedded store", () => {
  it("goes a table at a time, letting the event loop turn between tables", async () => {
    const log: string[] = [];
    const client = {
      query: async (text: string) => ({
        rows: text.includes("pg_stat_user_tables") ? [{ name: "public.a" }, { name: "public.b" }] : [],
      }),
      exec: async (text: string) => {
        log.push(text);
        setImmediate(() => log.push("turn"));
        return [];
      },
    };
    const upkeep = startUpkeep(client as unknown as PGlite, {
      analyzeAfterMs: 0,
      checkpointCheckMs: 3_600_000,
    });
    while (log.length < 4) await sleep(5);
    await upkeep.stop();
    assert.deepEqual(log, ["vacuum (analyze) public.a", "turn", "vacuum (analyze) public.b", "turn"]);
  });

  it("tells each failed job, and tries again at the job's next turn", async () => {
    const failures: string[] = [];
    const { client, vacuums } = failingOnce({ checkpoints: true });
    const upkeep = startUpkeep(
      client,
      { analyzeAfterMs: 0, analyzeEveryMs: 20, checkpointCheckMs: 20 },
      (job, error) => failures.push(`${job}: ${(error as Error).message}`),
    );
    while (vacuums() < 2 || !failures.includes("checkpoint: no control file")) await sleep(5);
    await upkeep.stop();
    assert.equal(failures.filter((failure) => failure === "vacuum: disk full").length, 1);
    assert.ok(
      failures.every((failure) => ["vacuum: disk full", "checkpoint: no control file"].includes(failure)),
    );
  });

  it("goes on when the failure handler itself throws", async () => {
    const { client, vacuums } = failingOnce({ checkpoints: false });
    const upkeep = startUpkeep(
      client,
      { analyzeAfterMs: 0, analyzeEveryMs: 20, checkpointCheckMs: 3_600_000 },
      () => {
        throw new Error("the log is gone");
      },
    );
    const deadline = Date.now() + 2_000;
    while (vacuums() < 3 && Date.now() < deadline) await sleep(5);
    await upkeep.stop();
    assert.ok(vacuums() >= 3, `${vacuums()} vacuums`);
  });

  it("vacuums and analyzes every table of the store", async () => {
    const store = await openStore({ mode: "embedded", upkeep: { analyzeAfterMs: 0, analyzeEveryMs: 100 } });
    try {
      await migrate(store);
      const unanalyzed = async () =>
        (
          await queryRows<{ count: number }>(
            store.db,
            sql`select count(*)::int as count from pg_stat_user_tables where last_analyze is null or last_vacuum is null`,
          )
        )[0]?.count;
      // A round every 100 ms: one comes after the migrations made the tables.
      for (let waited = 0; waited < 10_000 && (await unanalyzed()) !== 0; waited += 50) await sleep(50);
      assert.equal(await unanalyzed(), 0);
    } finally {
      await store.close();
    }
  });
});
