import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PGlite, type QueryOptions } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { pgliteParsers, pgliteQueries } from "./pglite-queries.ts";
import { workspace } from "./schema.ts";

// The embedded store gives PGlite Drizzle's parsers once and leaves them out of each query.
// That is right only while Drizzle's per-query parsers are these, and each keeps its text.
describe("Drizzle's parsers on PGlite", () => {
  it("are the ones the embedded store gives PGlite at creation, each keeping its text", async () => {
    const seen: QueryOptions[] = [];
    const recorder = {
      query: async (_text: string, _params: unknown[], options: QueryOptions) => {
        seen.push(options);
        return { rows: [], fields: [] };
      },
    };
    const db = drizzlePglite({ client: recorder as unknown as PGlite });
    await db.select().from(workspace);
    await db.execute(sql`select 1`);
    assert.equal(seen.length, 2);
    for (const options of seen) {
      const parsers = Object.entries(options.parsers ?? {});
      assert.ok(parsers.length > 0);
      for (const [oid, parse] of parsers) {
        assert.ok(pgliteParsers[Number(oid)], `type ${oid} is parsed per query`);
        assert.equal(parse("2026-01-01 12:00:00.123456+00", Number(oid)), "2026-01-01 12:00:00.123456+00");
      }
    }
  });
});

describe("PGlite's statements, prepared once", () => {
  let client: PGlite;
  before(async () => {
    client = await PGlite.create({ parsers: pgliteParsers });
    await client.exec(`
      create table item (
        id int primary key, name text not null, tags text[], data jsonb, at timestamptz, price numeric
      )`);
  });
  after(() => client.close());

  const prepared = async () =>
    (await client.query<{ statement: string }>("select statement from pg_prepared_statements")).rows.map(
      (row) => row.statement,
    );

  it("answer as PGlite's own queries do, for every kind of value and both row modes", async () => {
    const queries = pgliteQueries(client);
    const insert =
      "insert into item (id, name, tags, data, at, price) values ($1, $2, $3, $4, $5, $6) returning *";
    const params = [
      1,
      "a'b\"c",
      ["x", "y,z", null],
      { nested: [1, "two"] },
      new Date("2026-01-02T03:04:05.678Z"),
      "12.50",
    ];
    const mine = await queries.query(insert, params);
    assert.deepEqual(mine.rows, (await client.query("select * from item where id = 1")).rows);
    await client.query(insert, [2, "plain", null, null, null, null]);
    for (const options of [undefined, { rowMode: "array" as const }]) {
      const text = "select * from item where id = any($1) order by id";
      const theirs = await client.query(text, [[1, 2]], options);
      const ours = await queries.query(text, [[1, 2]], options);
      assert.deepEqual(ours.rows, theirs.rows);
      assert.deepEqual(ours.fields, theirs.fields);
    }
    assert.equal((await queries.query("update item set name = name where id > $1", [0])).affectedRows, 2);
  });

  it("parses a statement once however often it runs, and closes the least recently used beyond the limit", async () => {
    const queries = pgliteQueries(client, { preparedLimit: 2 });
    const byId = "select name from item where id = $1";
    const before = await prepared();
    for (let i = 0; i < 5; i++) await queries.query(byId, [1]);
    assert.equal((await prepared()).length - before.length, 1);

    await queries.query("select id from item where name = $1", ["plain"]);
    await queries.query(byId, [2]);
    await queries.query("select count(*) from item where id > $1", [0]);
    const now = await prepared();
    assert.equal(now.length - before.length, 2, "two kept");
    assert.ok(now.includes(byId), "the statement used most recently stays");
    assert.ok(!now.includes("select id from item where name = $1"), "the least recently used is closed");
  });

  it("through Drizzle: the refusal of a duplicate keeps its code and constraint, and nothing breaks after it", async () => {
    const db = drizzlePglite({ client: pgliteQueries(client) as unknown as PGlite });
    const insert = () => db.execute(sql`insert into item (id, name) values (${3}, ${"three"})`);
    await insert();
    const refusal = await insert().then(
      () => assert.fail("a duplicate key was accepted"),
      (error: { cause?: { code?: string; constraint?: string } }) => error.cause,
    );
    assert.equal(refusal?.code, "23505");
    assert.equal(refusal?.constraint, "item_pkey");
    const [row] = await db
      .execute<{ name: string }>(sql`select name from item where id = ${3}`)
      .then((result) => result.rows);
    assert.equal(row?.name, "three");
  });

  it("inside a transaction: rolled back on a failure, savepoints too, closed after commit", async () => {
    const db = drizzlePglite({ client: pgliteQueries(client) as unknown as PGlite });
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.execute(sql`insert into item (id, name) values (${4}, ${"four"})`);
        await tx.execute(sql`insert into item (id, name) values (${4}, ${"again"})`);
      }),
    );
    assert.equal((await client.query("select 1 from item where id = 4")).rows.length, 0);

    await db.transaction(async (tx) => {
      await tx.execute(sql`insert into item (id, name) values (${6}, ${"six"})`);
      // A nested transaction is a savepoint: its failure undoes only its own work.
      await assert.rejects(
        tx.transaction(async (inner) => {
          await inner.execute(sql`insert into item (id, name) values (${7}, ${"seven"})`);
          await inner.execute(sql`insert into item (id, name) values (${6}, ${"again"})`);
        }),
      );
    });
    assert.deepEqual((await client.query("select id from item where id in (6, 7)")).rows, [{ id: 6 }]);

    const queries = pgliteQueries(client);
    let leaked: { query: (text: string) => Promise<unknown> } | undefined;
    await queries.transaction(async (tx) => {
      leaked = tx;
    });
    await assert.rejects(async () => leaked?.query("select 1"), /Transaction is closed/);
  });

  it("outside a transaction, waits for one under way and sees what it committed", async () => {
    const queries = pgliteQueries(client);
    let inserted!: () => void;
    const insertedYet = new Promise<void>((done) => {
      inserted = done;
    });
    let release!: () => void;
    const released = new Promise<void>((done) => {
      release = done;
    });
    const transaction = queries.transaction(async (tx) => {
      await tx.query("insert into item (id, name) values ($1, $2)", [5, "five"]);
      inserted();
      await released;
    });
    await insertedYet;
    let answered = false;
    const outside = queries
      .query<{ name: string }>("select name from item where id = $1", [5])
      .finally(() => {
        answered = true;
      });
    await new Promise((done) => setTimeout(done, 20));
    assert.equal(answered, false, "answered while the transaction was open");
    release();
    await transaction;
    assert.deepEqual((await outside).rows, [{ name: "five" }]);
  });

  it("prepares a statement again once a table changed under it", async () => {
    const queries = pgliteQueries(client);
    const all = "select * from item where id = $1";
    await queries.query(all, [1]);
    await client.exec("alter table item add column note text");
    // PostgreSQL refuses to run a plan whose columns changed; the next run parses the statement anew.
    await assert.rejects(queries.query(all, [1]), { code: "0A000" });
    const again = await queries.query(all, [1]);
    assert.equal((await prepared()).filter((text) => text === all).length, 1, "the refused one is closed");
    assert.deepEqual(
      again.fields.map((field) => field.name),
      ["id", "name", "tags", "data", "at", "price", "note"],
    );
  });
});
