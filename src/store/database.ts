import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { PGlite } from "@electric-sql/pglite";
import { getTableColumns, type InferSelectModel, type SQL } from "drizzle-orm";
import { drizzle as drizzlePostgres } from "drizzle-orm/node-postgres";
import type { PgDatabase, PgQueryResultHKT, PgTable } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import pg from "pg";
import { AppError } from "../errors/app-error.ts";
import { type LockHolder, lockDataDir } from "./data-dir-lock.ts";
import { startUpkeep, type UpkeepFailureHandler, type UpkeepPolicy } from "./pglite.ts";
import { pgliteParsers, pgliteQueries } from "./pglite-queries.ts";
import * as schema from "./schema.ts";

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/**
 * The store port. Both twins hand out the same Drizzle database; nothing above this module
 * knows which one it has, except for operations text (`describe`).
 */
export interface Store {
  readonly mode: "embedded" | "server";
  readonly db: Db;
  /** Where the data lives, safe to print (no password). */
  readonly location: string;
  /**
   * Runs `work` holding a lock that every hub process sharing this database respects, waiting as
   * `wait` says while another process holds it (an embedded store has no other process).
   */
  exclusive<T>(key: number, work: (db: Db) => Promise<T>, wait?: LockWait): Promise<T>;
  /**
   * Takes the lock `name` without waiting, and holds it until `release()` or until the session
   * holding it ends: at most one holder across every hub process sharing this database (a
   * PostgreSQL session-level advisory lock on one connection kept for locks; in embedded mode
   * the one process is the whole world). Undefined when someone, in this process or another,
   * holds it. `signal` aborts when the lock is lost (its connection died) or released, so the
   * holder stops the work the lock guards.
   */
  tryLock(name: string): Promise<HeldLock | undefined>;
  /** Wakes the listeners of `channel` in every hub process sharing this database. */
  notify(channel: string): Promise<void>;
  /** Calls `handler` whenever `channel` is notified, until the returned function is called. */
  listen(channel: string, handler: () => void): Promise<() => Promise<void>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** How `exclusive` waits while another process holds its lock. */
export interface LockWait {
  /** Ends the wait: `exclusive` rejects with the signal's reason, `work` not run. */
  signal?: AbortSignal | undefined;
  /** Called once, when the lock turns out to be another process's. */
  onWait?: () => void;
}

export interface HeldLock {
  readonly name: string;
  /** Aborted when the lock is released or lost. */
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

export type StoreOptions =
  | {
      mode: "embedded";
      dataDir?: string;
      /** What the data directory's lock file says holds it (data-dir-lock.ts). */
      holder?: LockHolder;
      upkeep?: Partial<UpkeepPolicy>;
      onUpkeepFailure?: UpkeepFailureHandler;
    }
  | {
      mode: "server";
      databaseUrl: string;
      poolSize?: number;
      /** How the server lists this process's connections (`pg_stat_activity.application_name`). */
      applicationName?: string;
    };

export async function openStore(options: StoreOptions): Promise<Store> {
  return options.mode === "embedded" ? openEmbedded(options) : openServer(options);
}

/** PGlite in `<dataDir>/pglite`, or in memory when no directory is given (tests). */
async function openEmbedded({
  dataDir,
  holder,
  upkeep: upkeepPolicy,
  onUpkeepFailure,
}: Extract<StoreOptions, { mode: "embedded" }>): Promise<Store> {
  const location = dataDir ? resolve(dataDir) : "memory";
  const releaseLock = dataDir ? lockDataDir(location, holder) : () => {};
  let client: PGlite;
  try {
    const options = { parsers: pgliteParsers };
    client = dataDir ? await PGlite.create(join(location, "pglite"), options) : await PGlite.create(options);
  } catch (error) {
    releaseLock();
    throw new AppError(
      "data_dir_unwritable",
      { path: location, reason: (error as Error).message },
      { cause: error },
    );
  }
  // Drizzle's PGlite session calls only `query` and `transaction`.
  const queries = pgliteQueries(client) as unknown as PGlite;
  const db = drizzlePglite({ client: queries, schema }) as unknown as Db;
  const upkeep = startUpkeep(client, upkeepPolicy, onUpkeepFailure);
  let queue: Promise<unknown> = Promise.resolve();
  const locks = new LocalLocks();
  return {
    mode: "embedded",
    db,
    location,
    tryLock: async (name) => locks.tryLock(name),
    // PGlite's own NOTIFY, like the server's: a `pg_notify` inside a transaction (an event's
    // deliveries stored) reaches the listeners when, and only if, the transaction commits.
    async notify(channel) {
      await client.query("select pg_notify($1, '')", [channel]);
    },
    async listen(channel, handler) {
      return client.listen(pgIdentifier(channel), handler);
    },
    // One process owns PGlite, so an in-process queue is the whole lock.
    exclusive(_key, work) {
      const run = queue.then(() => work(db));
      queue = run.catch(() => {});
      return run;
    },
    async ping() {
      await client.query("select 1");
    },
    async close() {
      await upkeep.stop();
      locks.loseAll();
      await client.close();
      releaseLock();
    },
  };
}

async function openServer({
  databaseUrl,
  poolSize = 10,
  applicationName = "switchboard",
}: Extract<StoreOptions, { mode: "server" }>): Promise<Store> {
  const location = redactUrl(databaseUrl);
  const connection = { connectionString: databaseUrl, application_name: applicationName };
  const pool = new pg.Pool({ ...connection, max: poolSize, connectionTimeoutMillis: 5000 });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on("error", () => {});
  try {
    const probe = await pool.connect();
    probe.release();
  } catch (error) {
    await pool.end().catch(() => {});
    throw databaseUnreachable(location, error);
  }
  const db = drizzlePostgres(pool, { schema }) as unknown as Db;
  const listener = new NotificationListener(connection);
  const locks = new SessionLocks(connection);
  return {
    mode: "server",
    db,
    location,
    tryLock: (name) => locks.tryLock(name),
    async notify(channel) {
      await pool.query("select pg_notify($1, '')", [channel]);
    },
    listen: (channel, handler) => listener.listen(channel, handler),
    async exclusive(key, work, wait = {}) {
      const client = await pool.connect();
      try {
        await takeAdvisoryLock(client, key, wait);
        try {
          return await work(drizzlePostgres(client, { schema }) as unknown as Db);
        } finally {
          await client.query("select pg_advisory_unlock($1)", [key]);
        }
      } finally {
        client.release();
      }
    },
    async ping() {
      try {
        await pool.query("select 1");
      } catch (error) {
        throw databaseUnreachable(location, error);
      }
    },
    async close() {
      await locks.close();
      await listener.close();
      await pool.end();
    },
  };
}

/** How long a process waiting for another's advisory lock lets pass before asking for it again. */
const lockRetryMs = 200;

/**
 * Takes the session-level advisory lock `key` on `client`, asking for it again every 200 ms while
 * another process holds it: a blocking `pg_advisory_lock` could not be given up, and a process
 * asked to stop would wait for the other's whole migration first.
 */
async function takeAdvisoryLock(client: pg.PoolClient, key: number, { signal, onWait }: LockWait) {
  for (let waiting = false; ; waiting = true) {
    const { rows } = await client.query<{ locked: boolean }>("select pg_try_advisory_lock($1) locked", [key]);
    if (rows[0]?.locked) return;
    if (!waiting) onWait?.();
    // An aborted sleep rejects with an AbortError of its own; the caller is owed the signal's reason.
    await sleep(lockRetryMs, undefined, { signal }).catch(() => signal?.throwIfAborted());
  }
}

/** What every connection of a server store is opened with. */
interface ServerConnection {
  connectionString: string;
  application_name: string;
}

/**
 * LISTEN needs a connection of its own, outside the pool. It is opened on the first `listen`
 * and reopened after a failure; while it is down, callers rely on their poll fallback.
 */
class NotificationListener {
  readonly #handlers = new Map<string, Set<() => void>>();
  #client: Promise<pg.Client> | undefined;
  #closed = false;

  constructor(readonly connection: ServerConnection) {}

  async listen(channel: string, handler: () => void): Promise<() => Promise<void>> {
    let handlers = this.#handlers.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(channel, handlers);
      const client = await this.#connect();
      await client.query(`listen ${pgIdentifier(channel)}`);
    }
    handlers.add(handler);
    return async () => {
      handlers.delete(handler);
    };
  }

  async close() {
    this.#closed = true;
    const client = this.#client;
    this.#client = undefined;
    if (client) await (await client).end().catch(() => {});
  }

  #connect(): Promise<pg.Client> {
    this.#client ??= (async () => {
      const client = new pg.Client(this.connection);
      client.on("notification", (message) => {
        for (const handler of this.#handlers.get(message.channel) ?? []) handler();
      });
      client.on("error", () => this.#reconnect());
      await client.connect();
      return client;
    })().catch((error) => {
      this.#client = undefined;
      throw error;
    });
    return this.#client;
  }

  #reconnect() {
    if (this.#closed) return;
    this.#client = undefined;
    setTimeout(async () => {
      if (this.#closed) return;
      try {
        const client = await this.#connect();
        for (const channel of this.#handlers.keys()) await client.query(`listen ${pgIdentifier(channel)}`);
      } catch {
        this.#reconnect();
      }
    }, 1000).unref();
  }
}

/** The locks held in this process, by name; a lock only the process itself can see (embedded). */
class LocalLocks {
  readonly #held = new Map<string, AbortController>();

  /** Reserves `name` in this process; undefined when it is already held here. */
  tryLock(name: string, onRelease?: () => Promise<void>): HeldLock | undefined {
    if (this.#held.has(name)) return undefined;
    const controller = new AbortController();
    this.#held.set(name, controller);
    return {
      name,
      signal: controller.signal,
      release: async () => {
        if (this.#held.get(name) !== controller) return;
        this.#held.delete(name);
        controller.abort(new Error(`lock ${name} released`));
        await onRelease?.();
      },
    };
  }

  has(name: string): boolean {
    return this.#held.has(name);
  }

  /** Forgets a reservation that did not become a lock. */
  drop(lock: HeldLock) {
    if (this.#held.get(lock.name)?.signal === lock.signal) this.#held.delete(lock.name);
  }

  /** Every lock is gone (the session ended, the store closed): tell each holder. */
  loseAll(reason = "the store closed") {
    for (const [name, controller] of this.#held) controller.abort(new Error(`lock ${name} lost: ${reason}`));
    this.#held.clear();
  }
}

/**
 * Session-level advisory locks, all on one connection of their own (outside the pool, which they
 * would otherwise drain one connection per lock). PostgreSQL frees a session's locks when the
 * session ends, so a dead hub process frees its locks; a lost connection loses every lock held
 * on it, and the holders are told through their signals. A session may take its own lock again,
 * so the process also keeps its own list (`LocalLocks`) to keep two holders in one process apart.
 */
class SessionLocks {
  readonly #local = new LocalLocks();
  #client: Promise<pg.Client> | undefined;
  #closed = false;

  constructor(readonly connection: ServerConnection) {}

  async tryLock(name: string): Promise<HeldLock | undefined> {
    if (this.#closed) return undefined;
    const key = advisoryKey(name);
    const lock = this.#local.tryLock(name, async () => {
      const client = await this.#client?.catch(() => undefined);
      await client?.query("select pg_advisory_unlock($1::bigint)", [key]).catch(() => {});
    });
    if (!lock) return undefined;
    try {
      const client = await this.#connect();
      const result = await client.query<{ locked: boolean }>(
        "select pg_try_advisory_lock($1::bigint) as locked",
        [key],
      );
      if (result.rows[0]?.locked) return lock;
    } catch (error) {
      this.#local.drop(lock);
      throw databaseUnreachable(redactUrl(this.connection.connectionString), error);
    }
    this.#local.drop(lock);
    return undefined;
  }

  async close() {
    this.#closed = true;
    this.#local.loseAll();
    const client = this.#client;
    this.#client = undefined;
    if (client) await (await client.catch(() => undefined))?.end().catch(() => {});
  }

  #connect(): Promise<pg.Client> {
    if (this.#client) return this.#client;
    const client = new pg.Client({ ...this.connection, keepAlive: true });
    const connected = client.connect().then(() => client);
    this.#client = connected;
    const lost = (reason: string) => {
      if (this.#client === connected) this.#client = undefined;
      this.#local.loseAll(reason);
      client.end().catch(() => {});
    };
    client.on("error", (error) => lost(error.message));
    client.on("end", () => lost("the connection ended"));
    connected.catch(() => {
      if (this.#client === connected) this.#client = undefined;
    });
    return connected;
  }
}

/** A lock name as the 64-bit key PostgreSQL's advisory locks take. */
export function advisoryKey(name: string): string {
  return createHash("sha256").update(name).digest().readBigInt64BE(0).toString();
}

function pgIdentifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a channel name: ${name}`);
  return name;
}

function databaseUnreachable(target: string, error: unknown): AppError {
  const reason =
    (error as { code?: string; message?: string }).message || String((error as { code?: string }).code);
  return new AppError("database_unreachable", { target, reason }, { cause: error });
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparseable URL)";
  }
}

/**
 * Rows of a statement that each server connection prepares once under `name` and then reuses,
 * skipping the parse and plan that cost a hot statement as much as running it. (PGlite ignores
 * the name: the embedded store prepares every statement by its text, see pglite-queries.ts.)
 * `text` must be the same for every call with that name; its parameters are `$1`, `$2`, ...
 */
export async function queryPrepared<T>(db: Db, name: string, text: string, params: unknown[]): Promise<T[]> {
  const prepared = db._.session.prepareQuery({ sql: text, params }, undefined, name, false);
  const result = (await prepared.execute()) as { rows: T[] };
  return result.rows;
}

/**
 * Every column of `table`, by name, for a hand-written statement's `returning` or `select`. Not
 * `*`: a column added by a newer version's migration would change a prepared statement's result
 * type, and PostgreSQL refuses to run it again ("cached plan must not change result type") on
 * the connections of a hub still running the older version.
 */
export function columnList(table: PgTable): string {
  return Object.values(getTableColumns(table))
    .map((column) => `"${column.name}"`)
    .join(", ");
}

/**
 * A hand-written statement's rows of `table` (its `columnList`) as Drizzle's own queries return
 * them: field names for column names, and each value as its column maps it (timestamps, JSON).
 */
export function asTableRows<T extends PgTable>(
  table: T,
  rows: readonly Record<string, unknown>[],
): InferSelectModel<T>[] {
  const columns = Object.entries(getTableColumns(table));
  return rows.map(
    (row) =>
      Object.fromEntries(
        columns.map(([field, column]) => {
          const value = row[column.name];
          return [field, value === null || value === undefined ? null : column.mapFromDriverValue(value)];
        }),
      ) as InferSelectModel<T>,
  );
}

/** Rows of a raw SQL query; both drivers answer with `{ rows }`. */
export async function queryRows<T>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

/** Whether a failed statement broke the unique index `constraint` (pg and PGlite alike). */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  let cause: unknown = error;
  for (let depth = 0; depth < 5 && typeof cause === "object" && cause !== null; depth++) {
    const failure = cause as { code?: unknown; constraint?: unknown; cause?: unknown };
    if (failure.code === "23505" && failure.constraint === constraint) return true;
    cause = failure.cause;
  }
  return false;
}
