import { desc, eq, lt, type SQL, sql } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import { AppError } from "../errors/app-error.ts";

/** One page of a keyset-paginated list; `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PageRequest {
  cursor?: string | undefined;
  limit: number;
}

/**
 * Cursors are opaque to clients: the list's name and the sort key of the last item, so a
 * cursor from one list is refused by another instead of silently skipping rows. Every sort key
 * ends with the row's id, so a cursor whose last part is no UUID was tampered with.
 */
export function encodeCursor(list: string, key: string[]): string {
  return Buffer.from(JSON.stringify([list, ...key])).toString("base64url");
}

export function decodeCursor(list: string, cursor: string, arity: number): string[] {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    decoded = undefined;
  }
  if (
    !Array.isArray(decoded) ||
    decoded[0] !== list ||
    decoded.length !== arity + 1 ||
    !decoded.every((part) => typeof part === "string") ||
    !isUuid(String(decoded[arity]))
  ) {
    throw invalidCursor();
  }
  return decoded.slice(1);
}

export function invalidCursor(): AppError {
  return new AppError(
    "invalid_cursor",
    {},
    { details: [{ path: "query.cursor", code: "invalid_cursor", detail: "not a cursor of this list" }] },
  );
}

/** Turns `limit + 1` fetched rows into a page, so no count query is needed to know if more exist. */
export function toPage<T>(rows: T[], limit: number, list: string, keyOf: (row: T) => string[]): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(list, keyOf(last)) : null };
}

const isoTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids that are not UUIDs cannot exist; callers answer "not found" without asking the database. */
export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}

/**
 * The pieces of a list ordered by its UUIDv7 id, newest first: the condition that continues after
 * the cursor, the order, one row more than a page (to know whether another follows), and the page.
 */
export function newestFirst(list: string, id: PgColumn, page: PageRequest) {
  const after = page.cursor ? decodeCursor(list, page.cursor, 1)[0] : undefined;
  return {
    after: after ? lt(id, after) : undefined,
    order: desc(id),
    limit: page.limit + 1,
    page: <T extends { id: string }>(rows: T[]) => toPage(rows, page.limit, list, (row) => [row.id]),
  };
}

/**
 * As `newestFirst`, for a list ordered by a time (`time`, an expression of the row, which
 * `timeOf` reads from a fetched row) and then by id, both `desc` (the latest first) or both `asc`
 * (the earliest first: a row whose time moves forward while a client pages moves behind the
 * cursor, so the client meets it again before the end instead of missing it). The cursor holds
 * both.
 */
export function byTimeThenId<T extends { id: string }>(
  direction: "asc" | "desc",
  list: string,
  time: SQL,
  id: PgColumn,
  timeOf: (row: T) => Date,
  page: PageRequest,
) {
  const after = page.cursor ? decodeCursor(list, page.cursor, 2) : undefined;
  // Only what `toISOString` writes: the database would refuse some of what `Date.parse` reads.
  if (after && !isoTime.test(after[0] as string)) throw invalidCursor();
  const beyond = sql.raw(direction === "desc" ? "<" : ">");
  const way = sql.raw(direction);
  return {
    after: after ? sql`(${time}, ${id}) ${beyond} (${after[0]}::timestamptz, ${after[1]}::uuid)` : undefined,
    order: sql`${time} ${way}, ${id} ${way}`,
    limit: page.limit + 1,
    page: (rows: T[]) => toPage(rows, page.limit, list, (row) => [timeOf(row).toISOString(), row.id]),
  };
}

/** A filter on an id column; an id that cannot exist matches nothing instead of failing the list. */
export function idIs(column: PgColumn, value: string | undefined): SQL | undefined {
  if (value === undefined) return undefined;
  return isUuid(value) ? eq(column, value) : sql`false`;
}
