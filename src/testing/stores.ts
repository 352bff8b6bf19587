import { randomBytes } from "node:crypto";
import pg from "pg";
import { openStore, type Store } from "../store/database.ts";
import { migrate } from "../store/migrations.ts";

/**
 * The stores a suite runs on: always an in-memory PGlite, plus PostgreSQL when
 * SWITCHBOARD_TEST_DATABASE_URL names a server (`.ci/run` sets it). Each store is a fresh,
 * migrated database of its own, so suites may run in parallel.
 */
export interface StoreKind {
  name: "pglite" | "postgres";
  open(): Promise<Store & { drop(): Promise<void> }>;
}

export const serverUrl = process.env.SWITCHBOARD_TEST_DATABASE_URL;

export const storeKinds: StoreKind[] = [
  { name: "pglite", open: openPglite },
  ...(serverUrl ? [{ name: "postgres" as const, open: () => openPostgres(serverUrl) }] : []),
];

async function openPglite() {
  const store = await openStore({ mode: "embedded" });
  await migrate(store);
  return Object.assign(store, { drop: () => store.close() });
}

/** Creates a database with a random name on the server; `drop` removes it. */
export async function createScratchDatabase(
  adminUrl: string,
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `switchboard_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

async function openPostgres(adminUrl: string) {
  const scratch = await createScratchDatabase(adminUrl);
  const store = await openStore({ mode: "server", databaseUrl: scratch.url, poolSize: 5 });
  await migrate(store);
  return Object.assign(store, {
    async drop() {
      await store.close();
      await scratch.drop();
    },
  });
}
