/**
 * How Drizzle's queries reach PGlite: through a view of it that prepares each statement once and
 * gives PGlite Drizzle's parsers once, at creation, instead of with every query.
 */
import type { PGlite, QueryOptions, Results, Transaction } from "@electric-sql/pglite";
import { parse, protocol, types } from "@electric-sql/pglite";

/**
 * The parsers Drizzle gives PGlite with every query: dates, times and numeric arrays stay text,
 * for Drizzle's columns to map. The embedded store gives them to PGlite once, at creation.
 */
export const pgliteParsers: Record<number, (text: string) => string> = Object.fromEntries(
  [types.TIMESTAMP, types.TIMESTAMPTZ, types.INTERVAL, types.DATE, 1231, 1115, 1185, 1187, 1182].map(
    (oid) => [oid, (text: string) => text],
  ),
);

/** What Drizzle's PGlite session calls. */
export interface PgliteQueries {
  query<T>(text: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>>;
  transaction<T>(work: (tx: PgliteQueries) => Promise<T>): Promise<T>;
}

/**
 * Drizzle's view of `client`. PGlite runs every query as six round trips into PostgreSQL (parse,
 * describe the statement, bind, describe the portal, execute, sync), parsing and planning the
 * statement every time. Here a statement is parsed once, under a name, and each later run is one
 * round trip (docs/benchmarks.md has what that saved).
 *
 * PGlite also merges a query's parsers into its own table of some 300 on every call (about 70 µs,
 * a sixth of a primary-key select); its table already holds Drizzle's, so they are left out.
 */
export function pgliteQueries(client: PGlite, { preparedLimit = 200 } = {}): PgliteQueries {
  const statements = new PreparedStatements(client, preparedLimit);
  const view = (transaction?: Transaction): PgliteQueries => ({
    query: async <T>(text: string, params: unknown[] = [], options?: QueryOptions) => {
      if (transaction?.closed) throw new Error("Transaction is closed");
      const run = () =>
        statements.run<T>(text, params, options && withoutKnownParsers(options), !transaction);
      // Outside a transaction, a statement waits for any transaction under way, as PGlite's own
      // `query` does; inside one, the transaction already holds the store.
      return transaction
        ? client.runExclusive(run)
        : client._runExclusiveTransaction(() => client.runExclusive(run));
    },
    transaction: (work) => client.transaction((tx) => work(view(tx))),
  });
  return view();
}

function withoutKnownParsers(options: QueryOptions): QueryOptions {
  const { parsers, ...rest } = options;
  if (!parsers) return options;
  const unknown = Object.entries(parsers).filter(([oid]) => pgliteParsers[Number(oid)] === undefined);
  return unknown.length === 0 ? rest : { ...rest, parsers: Object.fromEntries(unknown) };
}

interface Statement {
  name: string;
  parameterTypes: number[];
}

const { serialize } = protocol;
/** Names are unique in the process, so that two views of one PGlite never take the same. */
let named = 0;

/**
 * One PGlite's named statements, by text; a Map keeps them in the order they were last used, and
 * beyond `limit` the least recently used is closed.
 */
class PreparedStatements {
  readonly #client: PGlite;
  readonly #limit: number;
  readonly #byText = new Map<string, Statement>();
  /** Statements dropped from the map, closed together with the next one prepared. */
  #stale: string[] = [];

  constructor(client: PGlite, limit: number) {
    this.#client = client;
    this.#limit = limit;
  }

  async run<T>(text: string, params: unknown[], options: QueryOptions | undefined, autocommit: boolean) {
    const key = options?.paramTypes ? `${text}\u0000${options.paramTypes.join(",")}` : text;
    let statement = this.#byText.get(key);
    if (statement) this.#byText.delete(key);
    else statement = await this.#prepare(text, options?.paramTypes);
    this.#byText.set(key, statement);
    const serializers = this.#client.serializers;
    const values = params.map((value, i) => {
      if (value === null || value === undefined) return null;
      const type = statement.parameterTypes[i] as number;
      const serializer = options?.serializers?.[type] ?? serializers[type];
      return serializer ? serializer(value) : String(value);
    });
    try {
      const { messages } = await this.#client.execProtocol(
        concat([
          serialize.bind({ statement: statement.name, values }),
          serialize.describe({ type: "P" }),
          serialize.execute({}),
          serialize.sync(),
        ]),
        { syncToFs: autocommit },
      );
      return parse.parseResults(messages, this.#client.parsers, options)[0] as Results<T>;
    } catch (error) {
      // A table changed under a prepared statement ("cached plan must not change result type"):
      // the next run prepares it again.
      if ((error as { code?: string }).code === "0A000" && this.#byText.delete(key))
        this.#stale.push(statement.name);
      throw error;
    }
  }

  async #prepare(text: string, paramTypes: number[] | undefined): Promise<Statement> {
    const name = `switchboard_${++named}`;
    while (this.#byText.size >= this.#limit) {
      const [oldest, statement] = this.#byText.entries().next().value as [string, Statement];
      this.#byText.delete(oldest);
      this.#stale.push(statement.name);
    }
    const closing = this.#stale.map((stale) => serialize.close({ type: "S", name: stale }));
    this.#stale = [];
    const { messages } = await this.#client.execProtocol(
      concat([
        ...closing,
        serialize.parse({ name, text, ...(paramTypes ? { types: paramTypes } : {}) }),
        serialize.describe({ type: "S", name }),
        serialize.sync(),
      ]),
      { syncToFs: false },
    );
    const description = messages.find((message) => message.name === "parameterDescription") as
      | { dataTypeIDs: number[] }
      | undefined;
    return { name, parameterTypes: description?.dataTypeIDs ?? [] };
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const whole = new Uint8Array(parts.reduce((length, part) => length + part.length, 0));
  let at = 0;
  for (const part of parts) {
    whole.set(part, at);
    at += part.length;
  }
  return whole;
}
