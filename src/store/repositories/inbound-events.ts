import { and, asc, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import type { Db } from "../database.ts";
import { inboundEvent, type inboundOutcomes } from "../schema.ts";

/** Notified when an event is stored, so intake workers in every process wake at once. */
export const inboundEventsChannel = "switchboard_inbound";

export type InboundEventRow = typeof inboundEvent.$inferSelect;
export type InboundOutcome = (typeof inboundOutcomes)[number];

export interface NewInboundEvent {
  channelAccountId: string;
  externalEventId: string;
  eventType: string;
  payload: unknown;
  retryCounter: number | null;
}

/** Stores a platform event once; a repeat of the same event id is a no-op. Returns whether it was new. */
export async function storeInboundEvent(db: Db, event: NewInboundEvent): Promise<boolean> {
  return (await storeInboundEvents(db, [event])).size > 0;
}

/**
 * Stores platform events in one statement, each once: a repeat of a stored event id is skipped.
 * Returns the keys (`inboundEventKey`) of the events that were new.
 */
export async function storeInboundEvents(db: Db, events: NewInboundEvent[]): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const inserted = await db.insert(inboundEvent).values(events).onConflictDoNothing().returning({
    channelAccountId: inboundEvent.channelAccountId,
    externalEventId: inboundEvent.externalEventId,
  });
  return new Set(inserted.map(inboundEventKey));
}

export function inboundEventKey(event: { channelAccountId: string; externalEventId: string }): string {
  return `${event.channelAccountId}\n${event.externalEventId}`;
}

/**
 * Leases up to `limit` unprocessed events, oldest first. A lease that runs out (its worker died)
 * makes the event claimable again, so every stored event is processed at least once.
 */
export async function claimInboundEvents(db: Db, limit: number, leaseMs: number): Promise<InboundEventRow[]> {
  const due = db
    .select({ id: inboundEvent.id })
    .from(inboundEvent)
    .where(
      and(
        isNull(inboundEvent.processedAt),
        or(isNull(inboundEvent.leasedUntil), lt(inboundEvent.leasedUntil, sql`now()`)),
      ),
    )
    .orderBy(asc(inboundEvent.receivedAt), asc(inboundEvent.id))
    .limit(limit)
    .for("update", { skipLocked: true });
  const rows = await db
    .update(inboundEvent)
    .set({
      leasedUntil: sql`now() + ${`${leaseMs} milliseconds`}::interval`,
      attempts: sql`${inboundEvent.attempts} + 1`,
    })
    .where(inArray(inboundEvent.id, due))
    .returning();
  return rows.sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime() || a.id.localeCompare(b.id));
}

export async function finishInboundEvent(
  db: Db,
  id: string,
  outcome: InboundOutcome,
  error: string | null = null,
) {
  await db
    .update(inboundEvent)
    .set({ processedAt: sql`now()`, leasedUntil: null, outcome, lastError: error })
    .where(eq(inboundEvent.id, id));
}

/** Leaves an event for a later attempt, not before `delayMs`. */
export async function retryInboundEventLater(db: Db, id: string, delayMs: number, error: string) {
  await db
    .update(inboundEvent)
    .set({ leasedUntil: sql`now() + ${`${delayMs} milliseconds`}::interval`, lastError: error })
    .where(eq(inboundEvent.id, id));
}

export async function countPendingInboundEvents(db: Db, channelAccountId?: string): Promise<number> {
  return db.$count(
    inboundEvent,
    and(
      isNull(inboundEvent.processedAt),
      channelAccountId ? eq(inboundEvent.channelAccountId, channelAccountId) : undefined,
    ),
  );
}
