import { and, eq, lt, sql } from "drizzle-orm";
import type { Db } from "../database.ts";
import { idempotencyRecord } from "../schema.ts";

/** How long a key's first answer is kept for replays. */
const keepFor = 24 * 60 * 60 * 1000;
/** A first request still unanswered after this long died with its process; a repeat takes over. */
const abandonedAfter = 60 * 1000;

export type Claim =
  | { kind: "first" }
  | { kind: "replay"; status: number; body: string; headers: Record<string, string> }
  | { kind: "mismatch" }
  | { kind: "in_progress" };

/** Claims a key for a request, or tells what an earlier request with the same key left behind. */
export async function claimIdempotencyKey(
  db: Db,
  workspaceId: string,
  key: string,
  requestHash: string,
  now = new Date(),
): Promise<Claim> {
  const [inserted] = await db
    .insert(idempotencyRecord)
    .values({ workspaceId, key, requestHash, createdAt: now })
    .onConflictDoNothing()
    .returning({ key: idempotencyRecord.key });
  if (inserted) return { kind: "first" };

  const [existing] = await db
    .select()
    .from(idempotencyRecord)
    .where(and(eq(idempotencyRecord.workspaceId, workspaceId), eq(idempotencyRecord.key, key)));
  if (!existing) return claimIdempotencyKey(db, workspaceId, key, requestHash, now);

  const age = now.getTime() - existing.createdAt.getTime();
  const stale = age > keepFor || (existing.responseStatus === null && age > abandonedAfter);
  if (stale) {
    // Taking over is conditional on the row being the one we read, so two repeats cannot both win.
    const [taken] = await db
      .update(idempotencyRecord)
      .set({ requestHash, createdAt: now, responseStatus: null, responseBody: null, responseHeaders: null })
      .where(
        and(
          eq(idempotencyRecord.workspaceId, workspaceId),
          eq(idempotencyRecord.key, key),
          eq(idempotencyRecord.createdAt, existing.createdAt),
        ),
      )
      .returning({ key: idempotencyRecord.key });
    return taken ? { kind: "first" } : { kind: "in_progress" };
  }
  if (existing.requestHash !== requestHash) return { kind: "mismatch" };
  if (existing.responseStatus === null || existing.responseBody === null) return { kind: "in_progress" };
  return {
    kind: "replay",
    status: existing.responseStatus,
    body: existing.responseBody,
    headers: existing.responseHeaders ?? {},
  };
}

export async function saveIdempotentResponse(
  db: Db,
  workspaceId: string,
  key: string,
  status: number,
  body: string,
  headers: Record<string, string> = {},
) {
  await db
    .update(idempotencyRecord)
    .set({ responseStatus: status, responseBody: body, responseHeaders: headers })
    .where(and(eq(idempotencyRecord.workspaceId, workspaceId), eq(idempotencyRecord.key, key)));
}

/** Forgets a claim whose request failed inside the hub, so that a repeat runs it again. */
export async function releaseIdempotencyKey(db: Db, workspaceId: string, key: string) {
  await db
    .delete(idempotencyRecord)
    .where(and(eq(idempotencyRecord.workspaceId, workspaceId), eq(idempotencyRecord.key, key)));
}

/**
 * Deletes up to `limit` keys whose first answer is older than its time for replays; returns how
 * many went. A key taken over meanwhile (a repeat after the time) is newer and stays.
 */
export async function deleteExpiredIdempotencyRecords(db: Db, now: Date, limit: number): Promise<number> {
  const expired = lt(idempotencyRecord.createdAt, new Date(now.getTime() - keepFor));
  const batch = db
    .select({ workspaceId: idempotencyRecord.workspaceId, key: idempotencyRecord.key })
    .from(idempotencyRecord)
    .where(expired)
    .limit(limit);
  const deleted = await db
    .delete(idempotencyRecord)
    .where(and(sql`(${idempotencyRecord.workspaceId}, ${idempotencyRecord.key}) in (${batch})`, expired))
    .returning({ key: idempotencyRecord.key });
  return deleted.length;
}
