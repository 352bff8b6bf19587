import { and, desc, eq, getTableColumns, gte, inArray, isNull, lt, ne, type SQL, sql } from "drizzle-orm";
import { AppError } from "../../errors/app-error.ts";
import { type Db, queryPrepared, queryRows } from "../database.ts";
import { idsMadeBetween } from "../id-time.ts";
import { idIs, isUuid, newestFirst, type PageRequest } from "../pagination.ts";
import {
  type attemptOutcomes,
  webhookAttempt,
  webhookDelivery,
  webhookEndpoint,
  webhookEvent,
  webhookRecovery,
  webhookSettings,
} from "../schema.ts";
import { deleteOldRows, type SweepRange, type SweepStep } from "../sweep.ts";

export type WebhookEndpoint = typeof webhookEndpoint.$inferSelect;
export type WebhookEvent = typeof webhookEvent.$inferSelect;
export type WebhookDelivery = typeof webhookDelivery.$inferSelect;
export type WebhookAttempt = typeof webhookAttempt.$inferSelect;
export type WebhookRecovery = typeof webhookRecovery.$inferSelect;
export type WebhookSettings = typeof webhookSettings.$inferSelect;

/** Notified (at commit) when deliveries become due, so delivery workers in every process wake. */
export const webhookDeliveriesChannel = "switchboard_webhooks";

// ── Endpoints ────────────────────────────────────────────────────────────────

export interface EndpointInput {
  url?: string | undefined;
  description?: string | null | undefined;
  eventTypes?: string[] | null | undefined;
  channelIds?: string[] | null | undefined;
  headers?: Record<string, string> | undefined;
  enabled?: boolean | undefined;
}

export async function createEndpoint(
  db: Db,
  workspaceId: string,
  input: EndpointInput & { url: string; sealedSecret: string },
): Promise<WebhookEndpoint> {
  const [row] = await db
    .insert(webhookEndpoint)
    .values({
      workspaceId,
      url: input.url,
      description: input.description ?? null,
      eventTypes: input.eventTypes ?? null,
      channelIds: input.channelIds ?? null,
      headers: input.headers ?? {},
      enabled: input.enabled ?? true,
      secret: input.sealedSecret,
    })
    .returning();
  return row as WebhookEndpoint;
}

export async function requireEndpoint(db: Db, workspaceId: string, id: string): Promise<WebhookEndpoint> {
  const [row] = isUuid(id)
    ? await db
        .select()
        .from(webhookEndpoint)
        .where(and(eq(webhookEndpoint.workspaceId, workspaceId), eq(webhookEndpoint.id, id)))
    : [];
  if (!row) throw new AppError("webhook_endpoint_not_found", { id });
  return row;
}

export async function listEndpoints(db: Db, workspaceId: string, page: PageRequest) {
  const list = newestFirst("webhooks", webhookEndpoint.id, page);
  const rows = await db
    .select()
    .from(webhookEndpoint)
    .where(and(eq(webhookEndpoint.workspaceId, workspaceId), list.after))
    .orderBy(list.order)
    .limit(list.limit);
  return list.page(rows);
}

/**
 * Changes an endpoint; enabling it again forgets why it was disabled and its failing streak, and
 * makes what waited for it due now.
 */
export async function updateEndpoint(
  db: Db,
  workspaceId: string,
  id: string,
  input: EndpointInput,
): Promise<WebhookEndpoint> {
  return db.transaction(async (tx) => {
    await requireEndpoint(tx, workspaceId, id);
    const row = await applyEndpointChanges(tx, id, input);
    if (input.enabled === false) await holdDeliveries(tx, id);
    if (input.enabled === true) await releaseDeliveries(tx, id);
    return row;
  });
}

async function applyEndpointChanges(db: Db, id: string, input: EndpointInput): Promise<WebhookEndpoint> {
  const [row] = await db
    .update(webhookEndpoint)
    .set({
      ...(input.url !== undefined ? { url: input.url } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.eventTypes !== undefined ? { eventTypes: input.eventTypes } : {}),
      ...(input.channelIds !== undefined ? { channelIds: input.channelIds } : {}),
      ...(input.headers !== undefined ? { headers: input.headers } : {}),
      ...(input.enabled === true
        ? { enabled: true, disabledReason: null, disabledAt: null, failingSince: null }
        : {}),
      ...(input.enabled === false
        ? { enabled: false, disabledReason: "disabled through the API", disabledAt: new Date() }
        : {}),
      updatedAt: new Date(),
    })
    .where(eq(webhookEndpoint.id, id))
    .returning();
  return row as WebhookEndpoint;
}

/**
 * A paused or disabled endpoint's pending deliveries wait unscheduled (no `next_attempt_at`), out
 * of the due deliveries a worker scans: an endpoint disabled for days would otherwise hold a
 * backlog that every claim walked past.
 */
async function holdDeliveries(db: Db, endpointId: string) {
  await db
    .update(webhookDelivery)
    .set({ nextAttemptAt: null })
    .where(and(eq(webhookDelivery.endpointId, endpointId), eq(webhookDelivery.state, "pending")));
}

/** An endpoint enabled again: what waited for it is due now. */
async function releaseDeliveries(db: Db, endpointId: string) {
  await db
    .update(webhookDelivery)
    .set({ nextAttemptAt: sql`now()` })
    .where(
      and(
        eq(webhookDelivery.endpointId, endpointId),
        eq(webhookDelivery.state, "pending"),
        isNull(webhookDelivery.nextAttemptAt),
      ),
    );
  await notifyDeliveries(db);
}

/** Deletes an endpoint with its deliveries and attempts; returns it as it was. */
export async function deleteEndpoint(db: Db, workspaceId: string, id: string): Promise<WebhookEndpoint> {
  const endpoint = await requireEndpoint(db, workspaceId, id);
  await db.delete(webhookEndpoint).where(eq(webhookEndpoint.id, id));
  return endpoint;
}

/** The new secret signs from now on; the current one keeps signing too until `overlapEndsAt`. */
export async function rotateEndpointSecret(
  db: Db,
  workspaceId: string,
  id: string,
  sealedSecret: string,
  overlapEndsAt: Date,
): Promise<WebhookEndpoint> {
  await requireEndpoint(db, workspaceId, id);
  const [row] = await db
    .update(webhookEndpoint)
    .set({
      previousSecret: sql`${webhookEndpoint.secret}`,
      previousSecretExpiresAt: overlapEndsAt,
      secret: sealedSecret,
      updatedAt: new Date(),
    })
    .where(eq(webhookEndpoint.id, id))
    .returning();
  return row as WebhookEndpoint;
}

/**
 * Disables an endpoint for `reason` unless it is disabled already, and holds its pending
 * deliveries. Returns the endpoint as disabled when this call did it (so exactly one notice is
 * recorded however many workers see the endpoint fail), undefined when it already was.
 */
export async function disableEndpoint(
  db: Db,
  id: string,
  reason: string,
  at: Date,
): Promise<WebhookEndpoint | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(webhookEndpoint)
      .set({ enabled: false, disabledReason: reason, disabledAt: at, updatedAt: at })
      .where(and(eq(webhookEndpoint.id, id), eq(webhookEndpoint.enabled, true)))
      .returning();
    if (row) await holdDeliveries(tx, id);
    return row;
  });
}

export async function findEndpoints(db: Db, ids: string[]): Promise<WebhookEndpoint[]> {
  if (ids.length === 0) return [];
  return db.select().from(webhookEndpoint).where(inArray(webhookEndpoint.id, ids));
}

// ── Workspace settings ───────────────────────────────────────────────────────

/** The workspace's webhook settings, made (with a new callback secret) on first use. */
export async function webhookSettingsOf(
  db: Db,
  workspaceId: string,
  newSealedSecret: () => string,
): Promise<WebhookSettings> {
  const [existing] = await db
    .select()
    .from(webhookSettings)
    .where(eq(webhookSettings.workspaceId, workspaceId));
  if (existing) return existing;
  await db
    .insert(webhookSettings)
    .values({ workspaceId, callbackSecret: newSealedSecret() })
    .onConflictDoNothing();
  const [row] = await db.select().from(webhookSettings).where(eq(webhookSettings.workspaceId, workspaceId));
  return row as WebhookSettings;
}

export async function updateWebhookSettings(
  db: Db,
  workspaceId: string,
  changes: { retrySchedule?: number[] | null | undefined; disableAfterHours?: number | null | undefined },
): Promise<WebhookSettings> {
  const [row] = await db
    .update(webhookSettings)
    .set({
      ...(changes.retrySchedule !== undefined ? { retrySchedule: changes.retrySchedule } : {}),
      ...(changes.disableAfterHours !== undefined ? { disableAfterHours: changes.disableAfterHours } : {}),
      updatedAt: new Date(),
    })
    .where(eq(webhookSettings.workspaceId, workspaceId))
    .returning();
  return row as WebhookSettings;
}

/**
 * Whether a rotated-out secret (an endpoint's or the status callback secret) still signs at
 * `now`: until the rotation's overlap ends, requests carry a signature by it beside the current one.
 */
export function previousSecretSigns(
  previous: string | null,
  expiresAt: Date | null,
  now: Date,
): previous is string {
  return previous !== null && expiresAt !== null && expiresAt > now;
}

export async function rotateCallbackSecret(
  db: Db,
  workspaceId: string,
  sealedSecret: string,
  overlapEndsAt: Date,
): Promise<WebhookSettings> {
  const now = new Date();
  const [row] = await db
    .update(webhookSettings)
    .set({
      previousCallbackSecret: sql`${webhookSettings.callbackSecret}`,
      previousCallbackSecretExpiresAt: overlapEndsAt,
      callbackSecret: sealedSecret,
      callbackSecretRotatedAt: now,
      updatedAt: now,
    })
    .where(eq(webhookSettings.workspaceId, workspaceId))
    .returning();
  return row as WebhookSettings;
}

export async function findWebhookSettings(db: Db, workspaceIds: string[]): Promise<WebhookSettings[]> {
  if (workspaceIds.length === 0) return [];
  return db.select().from(webhookSettings).where(inArray(webhookSettings.workspaceId, workspaceIds));
}

// ── Events and their deliveries ──────────────────────────────────────────────

export interface NewWebhookEvent {
  id: string;
  /** The time of `id` (`idTime`), so that a time window of events is a range of ids. */
  createdAt: Date;
  workspaceId: string;
  type: string;
  orderingKey: string | null;
  channelId: string | null;
  payload: unknown;
}

/**
 * Stores events with a delivery for every endpoint of their workspace that wants each (by type
 * and channel), or for `onlyEndpointId` only (a test event), in one statement whatever their
 * number; and wakes the delivery workers when the caller's transaction commits (NOTIFY is
 * delivered at commit). A paused or disabled endpoint gets its deliveries too: they wait for it
 * to be enabled again.
 */
export async function insertEvents(
  db: Db,
  events: readonly NewWebhookEvent[],
  options: { onlyEndpointId?: string | undefined; exceptEndpointId?: string | undefined } = {},
): Promise<void> {
  if (events.length === 0) return;
  await queryPrepared(db, "insert_webhook_events", insertEventsStatement, [
    events.map((e) => e.id),
    events.map((e) => e.createdAt.toISOString()),
    events.map((e) => e.workspaceId),
    events.map((e) => e.type),
    events.map((e) => e.channelId),
    events.map((e) => e.orderingKey),
    `[${events.map((e) => JSON.stringify(e.payload)).join(",")}]`,
    options.onlyEndpointId ?? null,
    options.exceptEndpointId ?? null,
  ]);
}

/**
 * Every event a worker applies records one, so this is prepared, and takes its columns as arrays
 * and the payloads as one JSON array: Drizzle builds an INSERT row by row, parameter by parameter,
 * which cost the intake worker more than running it. Delivery workers are woken only when some
 * endpoint wants one of the events.
 */
const insertEventsStatement = `
  with v as (
    select v.*, p.payload
    from unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::text[], $5::uuid[], $6::text[]) with ordinality
      as v(id, created_at, workspace_id, type, channel_id, ordering_key, n)
    join jsonb_array_elements($7::jsonb) with ordinality as p(payload, n) on p.n = v.n
  ),
  stored as (
    insert into webhook_event (id, created_at, workspace_id, type, channel_id, ordering_key, payload)
    select id, created_at, workspace_id, type, channel_id, ordering_key, payload from v
  ),
  queued as (
    insert into webhook_delivery (workspace_id, event_id, endpoint_id, target, stream, next_attempt_at)
    select e.workspace_id, v.id, e.id, e.id::text,
      case when v.ordering_key is null then null else e.id::text || ':' || v.ordering_key end,
      case when e.enabled then now() end
    from v join webhook_endpoint e on e.workspace_id = v.workspace_id
    where case when $8::uuid is null
      then (e.event_types is null or e.event_types ? v.type)
        and (e.channel_ids is null or e.channel_ids ? coalesce(v.channel_id::text, ''))
        and e.id is distinct from $9::uuid
      else e.id = $8::uuid end
    returning 1
  )
  select pg_notify('${webhookDeliveriesChannel}', '') from (select 1 from queued limit 1) as any_queued`;

/** Stored events, each with one delivery to its own ad hoc URL (a message's `status_url`). */
export async function insertCallbackDeliveries(
  db: Db,
  callbacks: readonly { event: NewWebhookEvent; url: string }[],
): Promise<void> {
  if (callbacks.length === 0) return;
  await db.insert(webhookEvent).values(callbacks.map((c) => c.event));
  await db.insert(webhookDelivery).values(
    callbacks.map(({ event, url }) => ({
      workspaceId: event.workspaceId,
      eventId: event.id,
      url,
      target: url,
      stream: event.orderingKey === null ? null : `callback:${event.workspaceId}:${url}:${event.orderingKey}`,
    })),
  );
  await notifyDeliveries(db);
}

async function notifyDeliveries(db: Db) {
  await db.execute(sql`select pg_notify(${webhookDeliveriesChannel}, '')`);
}

export interface ClaimedDelivery {
  id: string;
  workspaceId: string;
  eventId: string;
  endpointId: string | null;
  url: string | null;
  attempts: number;
  trigger: "scheduled" | "manual";
}

/**
 * Takes due deliveries for one attempt each: `sending`, one more attempt, leased until
 * `leaseUntil` (a worker that dies mid-request leaves its deliveries to be taken over when the
 * lease runs out). Skips rows other workers hold, deliveries to disabled endpoints, deliveries
 * that must wait for an earlier event of their stream (until that one has made `holdAttempts`
 * attempts), and keeps at most `perTarget` requests in flight to one receiver across processes.
 */
export async function claimDeliveries(
  db: Db,
  options: { now: Date; leaseUntil: Date; limit: number; perTarget: number; holdAttempts: number },
): Promise<ClaimedDelivery[]> {
  // The database stamps new deliveries with its own clock; a worker's clock (a test's) may only
  // be ahead of it, never behind, or a delivery just stored would not be due yet.
  const now = sql`greatest(${options.now.toISOString()}::timestamptz, now())`;
  return queryRows<ClaimedDelivery>(
    db,
    sql`
    with locked as (
      select d.id, d.target, d.event_id
      from webhook_delivery d
      where ((d.state = 'pending' and d.next_attempt_at <= ${now})
          or (d.state = 'sending' and d.lease_until < ${now}))
        and (d.endpoint_id is null
          or exists (select 1 from webhook_endpoint e where e.id = d.endpoint_id and e.enabled))
        and (d.stream is null or not exists (
          select 1 from webhook_delivery p
          where p.stream = d.stream and p.event_id < d.event_id and p.state in ('pending', 'sending')
            and p.attempts < ${options.holdAttempts}))
      order by d.next_attempt_at, d.event_id
      limit ${options.limit * 4}
      for update of d skip locked
    ),
    ranked as (
      select l.id,
        row_number() over (partition by l.target order by l.event_id) as rank,
        (select count(*) from webhook_delivery s
          where s.target = l.target and s.state = 'sending' and s.lease_until >= ${now}) as busy
      from locked l
    ),
    chosen as (
      select id from ranked where rank + busy <= ${options.perTarget}
      order by rank limit ${options.limit}
    )
    update webhook_delivery d
    set state = 'sending', attempts = d.attempts + 1, lease_until = ${options.leaseUntil.toISOString()}::timestamptz
    from chosen where d.id = chosen.id
    returning d.id, d.workspace_id as "workspaceId", d.event_id as "eventId", d.endpoint_id as "endpointId",
      d.url, d.attempts, d.trigger`,
  );
}

export async function findEvents(db: Db, ids: string[]): Promise<WebhookEvent[]> {
  if (ids.length === 0) return [];
  return db.select().from(webhookEvent).where(inArray(webhookEvent.id, ids));
}

export interface AttemptRecord {
  delivery: ClaimedDelivery;
  eventType: string;
  /** Where it was sent, without the user name and password it may have carried. */
  url: string;
  outcome: (typeof attemptOutcomes)[number];
  responseStatus: number | null;
  responseBody: string | null;
  durationMs: number;
  error: string | null;
  attemptedAt: Date;
  /** After a failure: when to try again, or null when the delivery has failed for good. */
  retryAt: Date | null;
}

/**
 * Logs attempts and moves their deliveries on (done, failed for good, or due again at `retryAt`),
 * many in three statements: the delivery worker writes what finished meanwhile as one batch.
 */
export async function recordAttempts(db: Db, records: readonly AttemptRecord[]): Promise<void> {
  // A delivery deleted meanwhile (its endpoint or workspace was) has nothing left to record.
  const alive = new Set(
    (
      await db
        .select({ id: webhookDelivery.id })
        .from(webhookDelivery)
        .where(
          inArray(
            webhookDelivery.id,
            records.map((record) => record.delivery.id),
          ),
        )
    ).map((row) => row.id),
  );
  const kept = records.filter((record) => alive.has(record.delivery.id));
  if (kept.length === 0) return;
  await db.insert(webhookAttempt).values(
    kept.map((record) => ({
      workspaceId: record.delivery.workspaceId,
      deliveryId: record.delivery.id,
      eventId: record.delivery.eventId,
      eventType: record.eventType,
      endpointId: record.delivery.endpointId,
      url: record.url,
      attempt: record.delivery.attempts,
      trigger: record.delivery.trigger,
      outcome: record.outcome,
      responseStatus: record.responseStatus,
      responseBody: record.responseBody,
      durationMs: record.durationMs,
      error: record.error,
      attemptedAt: record.attemptedAt,
    })),
  );
  const moves = kept.map((record) => {
    const finished = record.outcome === "succeeded" || record.retryAt === null;
    return {
      id: record.delivery.id,
      state: record.outcome === "succeeded" ? "succeeded" : finished ? "failed" : "pending",
      error: record.error,
      next: finished ? null : (record.retryAt as Date).toISOString(),
      finished: finished ? record.attemptedAt.toISOString() : null,
    };
  });
  await db.execute(sql`
    update webhook_delivery d
    set state = m.state, lease_until = null, last_error = m.error,
      next_attempt_at = coalesce(m.next, d.next_attempt_at), finished_at = m.finished
    from jsonb_to_recordset(${JSON.stringify(moves)}::jsonb)
      as m(id uuid, state text, error text, next timestamptz, finished timestamptz)
    where d.id = m.id`);
}

/** Endpoints that answered 2xx: their failing streaks end. */
export async function markEndpointsHealthy(db: Db, endpointIds: readonly string[]): Promise<void> {
  if (endpointIds.length === 0) return;
  await db
    .update(webhookEndpoint)
    .set({ failingSince: null })
    .where(
      and(inArray(webhookEndpoint.id, [...endpointIds]), sql`${webhookEndpoint.failingSince} is not null`),
    );
}

/** An endpoint failed an attempt: returns since when it has failed without a success between. */
export async function markEndpointFailing(db: Db, endpointId: string, at: Date): Promise<Date> {
  const [row] = await db
    .update(webhookEndpoint)
    .set({ failingSince: sql`coalesce(${webhookEndpoint.failingSince}, ${at.toISOString()}::timestamptz)` })
    .where(eq(webhookEndpoint.id, endpointId))
    .returning({ failingSince: webhookEndpoint.failingSince });
  return row?.failingSince ?? at;
}

/** A delivery made due now, by hand (a replay or a recovery), as if it had never ended. */
const sentAgainNow = {
  state: "pending" as const,
  trigger: "manual" as const,
  nextAttemptAt: sql`now()`,
  finishedAt: null,
};

/**
 * Sends an event to an endpoint again now (a person asked): its delivery is queued as `manual`,
 * or made when the endpoint never had one (it subscribed later, or filtered the type out).
 */
export async function replayDelivery(db: Db, event: WebhookEvent, endpoint: WebhookEndpoint): Promise<void> {
  await db
    .insert(webhookDelivery)
    .values({
      workspaceId: event.workspaceId,
      eventId: event.id,
      endpointId: endpoint.id,
      target: endpoint.id,
      trigger: "manual",
    })
    .onConflictDoUpdate({
      target: [webhookDelivery.eventId, webhookDelivery.endpointId],
      set: sentAgainNow,
      // A delivery on its way now is left to finish; replaying it would send it twice at once.
      setWhere: sql`${webhookDelivery.state} <> 'sending'`,
    });
  await notifyDeliveries(db);
}

/**
 * Sends a status callback (an event of type `callback`) again to its URL, now. One on its way now
 * is left to finish.
 */
export async function replayCallback(db: Db, callback: WebhookEvent): Promise<void> {
  await db
    .update(webhookDelivery)
    .set(sentAgainNow)
    .where(
      and(
        eq(webhookDelivery.eventId, callback.id),
        isNull(webhookDelivery.endpointId),
        ne(webhookDelivery.state, "sending"),
      ),
    );
  await notifyDeliveries(db);
}

// ── Recovery ─────────────────────────────────────────────────────────────────

/** Whose failed deliveries a recovery re-sends: an endpoint's, or (null) the status callbacks'. */
export interface RecoveryTarget {
  workspaceId: string;
  endpointId: string | null;
}

/** Starts re-sending the target's failed deliveries of events since `since` (and before `until`). */
export async function startRecovery(
  db: Db,
  target: RecoveryTarget,
  since: Date,
  until: Date | null,
): Promise<WebhookRecovery> {
  const total = await db.$count(webhookDelivery, recoverable(target, since, until, new Date()));
  const [row] = await db
    .insert(webhookRecovery)
    .values({ workspaceId: target.workspaceId, endpointId: target.endpointId, since, until, total })
    .returning();
  await notifyDeliveries(db);
  return row as WebhookRecovery;
}

function recoverable(
  target: RecoveryTarget,
  since: Date,
  until: Date | null,
  startedAt: Date,
): SQL | undefined {
  return and(
    target.endpointId === null
      ? and(eq(webhookDelivery.workspaceId, target.workspaceId), isNull(webhookDelivery.endpointId))
      : eq(webhookDelivery.endpointId, target.endpointId),
    eq(webhookDelivery.state, "failed"),
    // Only what had failed when the recovery began: one that fails again is not re-queued forever.
    lt(webhookDelivery.finishedAt, startedAt),
    idsMadeBetween(webhookDelivery.eventId, since, until),
  );
}

/**
 * Queues the next `batch` failed deliveries of each running recovery; a recovery that finds
 * fewer is done. Returns how many deliveries were queued.
 */
export async function advanceRecoveries(db: Db, batch: number): Promise<number> {
  const running = await db.select().from(webhookRecovery).where(eq(webhookRecovery.state, "running"));
  let queued = 0;
  for (const recovery of running) {
    const picked = db
      .select({ id: webhookDelivery.id })
      .from(webhookDelivery)
      .where(recoverable(recovery, recovery.since, recovery.until, recovery.createdAt))
      .orderBy(webhookDelivery.eventId)
      .limit(batch);
    const rows = await db
      .update(webhookDelivery)
      .set(sentAgainNow)
      .where(inArray(webhookDelivery.id, picked))
      .returning({ id: webhookDelivery.id });
    queued += rows.length;
    await db
      .update(webhookRecovery)
      .set({
        queued: sql`${webhookRecovery.queued} + ${rows.length}`,
        ...(rows.length < batch ? { state: "done" as const, finishedAt: new Date() } : {}),
      })
      .where(eq(webhookRecovery.id, recovery.id));
  }
  return queued;
}

export async function requireRecovery(db: Db, workspaceId: string, id: string): Promise<WebhookRecovery> {
  const [row] = isUuid(id)
    ? await db
        .select()
        .from(webhookRecovery)
        .where(and(eq(webhookRecovery.workspaceId, workspaceId), eq(webhookRecovery.id, id)))
    : [];
  if (!row) throw new AppError("webhook_recovery_not_found", { id });
  return row;
}

/** How the deliveries of an endpoint stand, for its page in the API. */
export async function deliveryCounts(db: Db, endpointId: string): Promise<Record<string, number>> {
  const rows = await db
    .select({ state: webhookDelivery.state, count: sql<number>`count(*)::int` })
    .from(webhookDelivery)
    .where(eq(webhookDelivery.endpointId, endpointId))
    .groupBy(webhookDelivery.state);
  return Object.fromEntries(rows.map((row) => [row.state, Number(row.count)]));
}

// ── Lists ────────────────────────────────────────────────────────────────────

export interface EventFilter {
  type?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
}

export async function listEvents(db: Db, workspaceId: string, filter: EventFilter, page: PageRequest) {
  const list = newestFirst("events", webhookEvent.id, page);
  const rows = await db
    .select()
    .from(webhookEvent)
    .where(
      and(
        eq(webhookEvent.workspaceId, workspaceId),
        filter.type ? eq(webhookEvent.type, filter.type) : undefined,
        idsMadeBetween(webhookEvent.id, filter.since, filter.until),
        list.after,
      ),
    )
    .orderBy(list.order)
    .limit(list.limit);
  return list.page(rows);
}

export async function requireEvent(db: Db, workspaceId: string, id: string): Promise<WebhookEvent> {
  const [row] = isUuid(id)
    ? await db
        .select()
        .from(webhookEvent)
        .where(and(eq(webhookEvent.workspaceId, workspaceId), eq(webhookEvent.id, id)))
    : [];
  if (!row) throw new AppError("webhook_event_not_found", { id });
  return row;
}

export interface AttemptFilter extends EventFilter {
  endpointId?: string | undefined;
  eventId?: string | undefined;
  outcome?: (typeof attemptOutcomes)[number] | undefined;
}

/** Attempts, newest first, of one endpoint or one event. */
export async function listAttempts(db: Db, workspaceId: string, filter: AttemptFilter, page: PageRequest) {
  const list = newestFirst("attempts", webhookAttempt.id, page);
  const rows = await db
    .select()
    .from(webhookAttempt)
    .where(
      and(
        eq(webhookAttempt.workspaceId, workspaceId),
        idIs(webhookAttempt.endpointId, filter.endpointId),
        idIs(webhookAttempt.eventId, filter.eventId),
        filter.outcome ? eq(webhookAttempt.outcome, filter.outcome) : undefined,
        filter.type ? eq(webhookAttempt.eventType, filter.type) : undefined,
        filter.since ? gte(webhookAttempt.attemptedAt, filter.since) : undefined,
        filter.until ? lt(webhookAttempt.attemptedAt, filter.until) : undefined,
        list.after,
      ),
    )
    .orderBy(list.order)
    .limit(list.limit);
  return list.page(rows);
}

/**
 * The deliveries of an event, to show where each goes and how it stands: `url` is its endpoint's
 * (as it is now: the delivery row keeps only a callback's own).
 */
export async function listEventDeliveries(
  db: Db,
  eventId: string,
): Promise<(WebhookDelivery & { url: string })[]> {
  return db
    .select({
      ...getTableColumns(webhookDelivery),
      url: sql<string>`coalesce(${webhookDelivery.url}, ${webhookEndpoint.url})`,
    })
    .from(webhookDelivery)
    .leftJoin(webhookEndpoint, eq(webhookEndpoint.id, webhookDelivery.endpointId))
    .where(eq(webhookDelivery.eventId, eventId))
    .orderBy(desc(webhookDelivery.createdAt));
}

/**
 * Deletes a batch of events made before `range.before`, with their deliveries and attempts. An
 * event still due to a receiver (a delivery pending or under way, one held for a disabled
 * endpoint too) stays until that delivery ends.
 */
export function deleteEndedWebhookEvents(db: Db, range: SweepRange): Promise<SweepStep> {
  return deleteOldRows(
    db,
    "webhook_event",
    sql`not exists (select 1 from webhook_delivery d
                    where d.event_id = old.id and d.state in ('pending', 'sending'))`,
    range,
  );
}
