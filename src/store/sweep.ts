import { type SQL, sql } from "drizzle-orm";
import { type Db, queryRows } from "./database.ts";
import { idFloor } from "./id-time.ts";

/**
 * Deleting old rows a bounded batch at a time, so that no statement holds a table (or, embedded,
 * the whole hub) for long. The rows made before a time are a range of the primary key
 * (`id-time.ts`), scanned in id order; a row that must stay is stepped over, not scanned again by
 * the next batch.
 */
export interface SweepRange {
  /** Rows created before this time may go. */
  before: Date;
  /** Where this batch starts: `sweepStart`, or the `next` of the batch before. */
  after: string;
  /** Rows scanned at most. */
  limit: number;
}

export interface SweepStep {
  deleted: number;
  /** Where the next batch goes on; null once no older row is left to scan. */
  next: string | null;
}

export const sweepStart = "00000000-0000-0000-0000-000000000000";

/** Deletes the scanned rows of `table` (aliased `old` in `deletable`) for which `deletable` holds. */
export async function deleteOldRows(
  db: Db,
  table: string,
  deletable: SQL,
  range: SweepRange,
): Promise<SweepStep> {
  const [row] = await queryRows<{ deleted: number; scanned: number; last: string | null }>(
    db,
    sql`
      with scanned as (
        select id from ${sql.identifier(table)}
        where id > ${range.after} and id < ${idFloor(range.before)}
        order by id limit ${range.limit}
      ), deleted as (
        delete from ${sql.identifier(table)} old using scanned
        where old.id = scanned.id and ${deletable}
        returning 1
      )
      select (select count(*) from deleted)::int as deleted,
             (select count(*) from scanned)::int as scanned,
             (select id from scanned order by id desc limit 1) as last`,
  );
  if (!row) return { deleted: 0, next: null };
  return { deleted: row.deleted, next: row.scanned < range.limit ? null : row.last };
}
