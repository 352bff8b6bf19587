import { and, asc, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { type Db, queryPrepared } from "../database.ts";
import { inboundEvent, type inboundOutcomes } from "../schema.ts";
import { deleteOldRows, type SweepRange, type SweepStep } from "../sweep.ts";

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
  /** The event as JSON text; stored as jsonb. */
  payloadJson: string;
  retryCounter: number | null;
}

/**
 * The webhooks' hot path: one prepared statement whatever the batch's size. The small columns come
 * as arrays, and the payloads as one JSON array whose elements are the events' own JSON texts
 * joined with commas; neither a many-row VALUES list nor an array literal of JSON texts (every
 * quote escaped) is cheap to build and parse.
 */
const storeEventsStatement = `
  insert into inbound_event (id, channel_account_id, external_event_id, event_type, payload, retry_counter)
  select v.id, v.channel_account_id, v.external_event_id, v.event_type, p.payload, v.retry_counter
  from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::int[]) with ordinality
    as v(id, channel_account_id, external_event_id, event_type, retry_counter, n)
  join jsonb_array_elements($6::jsonb) with ordinality as p(payload, n) on p.n = v.n
  on conflict do nothing
  returning channel_account_id, external_event_id`;

/**
 * Stores platform events in one statement, each once: a repeat of a stored event id is skipped.
 * Returns the keys (`inboundEventKey`) of the events that were new.
 */
export async function storeInboundEvents(db: Db, events: NewInboundEvent[]): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const rows = await queryPrepared<{ channel_account_id: string; external_event_id: string }>(
    db,
    "store_inbound_events",
    storeEventsStatement,
    [
      events.map(() => uuidv7()),
      events.map((e) => e.channelAccountId),
      events.map((e) => withoutNul(e.externalEventId)),
      events.map((e) => withoutNul(e.eventType)),
      events.map((e) => e.retryCounter),
      `[${events.map((e) => storableJson(e.payloadJson)).join(",")}]`,
    ],
  );
  return new Set(
    rows.map((row) =>
      inboundEventKey({ channelAccountId: row.channel_account_id, externalEventId: row.external_event_id }),
    ),
  );
}

/** PostgreSQL's text cannot hold U+0000, and a platform may send it: it is dropped. */
function withoutNul(text: string): string {
  return text.includes("\0") ? text.replaceAll("\0", "") : text;
}

/**
 * JSON text that jsonb takes: jsonb refuses U+0000 and a lone half of a surrogate pair, both of
 * which a platform may send (a text cut in the middle of an emoji). Both can only come as escapes
 * (JSON strings hold no raw control characters, and UTF-8 has no lone surrogates). U+0000 is
 * dropped, where its `\u0000` is an escape: an even number of backslashes stands before its own.
 * A lone surrogate becomes U+FFFD; any surrogate escape sends the text through a parse for that,
 * which is rare, since platforms send non-ASCII text as UTF-8.
 */
function storableJson(json: string): string {
  const text = json.includes("\\u0000") ? json.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, "$1") : json;
  if (!/\\u[dD][89a-fA-F]/.test(text)) return text;
  return JSON.stringify(
    JSON.parse(text, (_key, value) => (typeof value === "string" ? value.toWellFormed() : value)),
  );
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

/** Deletes a batch of processed events received before `range.before`; pending ones stay. */
export function deleteProcessedInboundEvents(db: Db, range: SweepRange): Promise<SweepStep> {
  return deleteOldRows(db, "inbound_event", sql`old.processed_at is not null`, range);
}
