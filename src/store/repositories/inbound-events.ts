import { and, asc, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { type Db, queryRows } from "../database.ts";
import { inboundEvent, type inboundOutcomes } from "../schema.ts";

/**
 * Notified (by a trigger, migration 0007) when events are stored, so intake workers in every
 * process wake at once.
 */
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

/**
 * Stores platform events in one statement, each once: a repeat of a stored event id is skipped.
 * Returns the keys (`inboundEventKey`) of the events that were new.
 */
export async function storeInboundEvents(db: Db, events: NewInboundEvent[]): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  // One statement of constant text whatever the batch's size, its columns passed as six arrays:
  // this is the webhooks' hot path, and a many-row VALUES list costs far more to build and parse.
  const column = <T>(pick: (event: NewInboundEvent) => T) => sql.param(events.map(pick));
  const rows = await queryRows<{ channel_account_id: string; external_event_id: string }>(
    db,
    sql`
    insert into inbound_event (id, channel_account_id, external_event_id, event_type, payload, retry_counter)
    select id, channel_account_id, external_event_id, event_type, payload::jsonb, retry_counter
    from unnest(
      ${column(() => uuidv7())}::uuid[],
      ${column((e) => e.channelAccountId)}::uuid[],
      ${column((e) => withoutNul(e.externalEventId))}::text[],
      ${column((e) => withoutNul(e.eventType))}::text[],
      ${column((e) => JSON.stringify(withoutNul(e.payload)))}::text[],
      ${column((e) => e.retryCounter)}::int[]
    ) as v(id, channel_account_id, external_event_id, event_type, payload, retry_counter)
    on conflict do nothing
    returning channel_account_id, external_event_id`,
  );
  return new Set(
    rows.map((row) =>
      inboundEventKey({ channelAccountId: row.channel_account_id, externalEventId: row.external_event_id }),
    ),
  );
}

/**
 * The value with U+0000 removed from every string: PostgreSQL's text and jsonb cannot hold it,
 * and a platform may send it. Returns the value itself when it has none (the usual case).
 */
export function withoutNul<T>(value: T): T {
  if (typeof value === "string") return (value.includes("\0") ? value.replaceAll("\0", "") : value) as T;
  if (Array.isArray(value)) {
    const cleaned = value.map(withoutNul);
    return (cleaned.some((item, i) => item !== value[i]) ? cleaned : value) as T;
  }
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value);
    const cleaned = entries.map(([key, item]) => [withoutNul(key), withoutNul(item)] as const);
    const changed = cleaned.some(([key, item], i) => key !== entries[i]?.[0] || item !== entries[i]?.[1]);
    return (changed ? Object.fromEntries(cleaned) : value) as T;
  }
  return value;
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

/** Marks events processed, each with its outcome (and, for `unsupported` or `failed`, why). */
export async function finishInboundEvents(
  db: Db,
  finished: readonly { id: string; outcome: InboundOutcome; error?: string | null }[],
) {
  if (finished.length === 0) return;
  const rows = sql.join(
    finished.map((f) => sql`(${f.id}::uuid, ${f.outcome}::text, ${f.error ?? null}::text)`),
    sql`, `,
  );
  await db.execute(sql`
    update inbound_event
    set processed_at = now(), leased_until = null, outcome = v.outcome, last_error = v.error
    from (values ${rows}) as v(id, outcome, error)
    where inbound_event.id = v.id`);
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
