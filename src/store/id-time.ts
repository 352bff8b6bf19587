import { and, gte, lt, type SQL } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";

/**
 * Ids are UUIDv7: their first 48 bits are the milliseconds they were made at. A row made at a
 * time, and made with an id of that same time, is found by a range of the primary key (or of any
 * index ending with the id) instead of a scan for a time column.
 */

/** The smallest id a row made at `at` can have. */
export function idFloor(at: Date): string {
  const hex = Math.max(0, at.getTime()).toString(16).padStart(12, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}

/** The time an id was made at, to the millisecond. */
export function idTime(id: string): Date {
  return new Date(Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16));
}

/** Ids made at or after `since` and before `until`; either bound may be absent. */
export function idsMadeBetween(
  id: PgColumn,
  since: Date | null | undefined,
  until: Date | null | undefined,
): SQL | undefined {
  return and(since ? gte(id, idFloor(since)) : undefined, until ? lt(id, idFloor(until)) : undefined);
}
