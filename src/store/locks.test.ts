import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { createScratchDatabase, serverUrl, storeKinds } from "../testing/stores.ts";
import { waitFor } from "../testing/vk-hub.ts";
import { advisoryKey, openStore, type Store } from "./database.ts";

for (const kind of storeKinds) {
  describe(`store locks on ${kind.name}`, () => {
    let store: Awaited<ReturnType<typeof kind.open>>;

    before(async () => {
      store = await kind.open();
    });
    after(() => store.drop());

    it("gives a lock to one holder at a time, and again once released", async () => {
      const first = await store.tryLock("test:a");
      assert.ok(first);
      assert.equal(await store.tryLock("test:a"), undefined, "held by the first holder");
      const other = await store.tryLock("test:b");
      assert.ok(other, "another name is another lock");
      assert.equal(first.signal.aborted, false);
      await first.release();
      assert.equal(first.signal.aborted, true, "the holder's signal tells it the lock is gone");
      await first.release(); // twice is harmless
      const again = await store.tryLock("test:a");
      assert.ok(again);
      await again.release();
      await other.release();
    });

    it("lets only one of many concurrent callers take a lock", async () => {
      const results = await Promise.all(Array.from({ length: 8 }, () => store.tryLock("test:race")));
      const held = results.filter((lock) => lock !== undefined);
      assert.equal(held.length, 1);
      await held[0]?.release();
    });
  });
}

describe("store locks across processes (PostgreSQL)", {
  skip: serverUrl ? false : "SWITCHBOARD_TEST_DATABASE_URL is not set",
}, () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  const open = () => openStore({ mode: "server", databaseUrl: scratch.url, poolSize: 2 });

  before(async () => {
    scratch = await createScratchDatabase(serverUrl as string);
  });
  after(() => scratch.drop());

  it("keeps a lock with its process, and frees it when that process's store closes", async () => {
    const a = await open();
    const b = await open();
    try {
      const held = await a.tryLock("channel:1");
      assert.ok(held);
      assert.equal(await b.tryLock("channel:1"), undefined, "another process cannot take it");
      await a.close();
      assert.equal(held.signal.aborted, true);
      const taken = await b.tryLock("channel:1");
      assert.ok(taken, "a closed store's locks are free");
      await taken.release();
    } finally {
      await a.close().catch(() => {});
      await b.close();
    }
  });

  it("tells the holder when its session dies, and the lock becomes free for others", async () => {
    const a: Store = await open();
    const b: Store = await open();
    const admin = new pg.Client({ connectionString: scratch.url });
    await admin.connect();
    try {
      const held = await a.tryLock("channel:2");
      assert.ok(held);
      const lost = new Promise<void>((resolve) => held.signal.addEventListener("abort", () => resolve()));
      // What a crashed process or a cut connection looks like from the server.
      const killed = await admin.query(
        "select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and ((classid::bigint << 32) | objid::bigint) = $1::bigint",
        [advisoryKey("channel:2")],
      );
      assert.equal(killed.rowCount, 1, "the lock is found under its key");
      await lost;
      const taken = await b.tryLock("channel:2");
      assert.ok(taken);
      assert.equal(
        await a.tryLock("channel:2"),
        undefined,
        "the first process reconnects but finds it taken",
      );
      await taken.release();
      const back = await a.tryLock("channel:2");
      assert.ok(back, "and takes it once it is free");
      await back.release();
    } finally {
      await admin.end();
      await a.close();
      await b.close();
    }
  });

  it("makes exclusive wait while another process holds its lock, saying so once, and gives the wait up when asked", async () => {
    const a = await open();
    const b = await open();
    try {
      let release = () => {};
      const holding = new Promise<void>((resolve) => {
        release = resolve;
      });
      let holds = () => {};
      const held = new Promise<void>((resolve) => {
        holds = resolve;
      });
      const first = a.exclusive(7, async () => {
        holds();
        await holding;
        return "first";
      });
      await held;
      let waits = 0;
      const stop = new AbortController();
      let ran = false;
      const stopped = b.exclusive(
        7,
        async () => {
          ran = true;
        },
        { signal: stop.signal, onWait: () => waits++ },
      );
      await waitFor("the second process to wait", () => waits === 1);
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.equal(waits, 1, "said once, however long it waits");
      const reason = new Error("asked to stop");
      const asked = Date.now();
      stop.abort(reason);
      await assert.rejects(stopped, (error) => error === reason);
      assert.ok(Date.now() - asked < 1_000, "at once, not after the holder is done");
      assert.equal(ran, false);
      // One that waits on takes the lock once the holder lets it go.
      const next = b.exclusive(7, async () => "next");
      release();
      assert.equal(await first, "first");
      assert.equal(await next, "next");
    } finally {
      await a.close();
      await b.close();
    }
  });
});
