import { createHash } from "node:crypto";
import { and, asc, eq, inArray, isNotNull, ne, or, sql } from "drizzle-orm";
import { AppError, type ErrorParams } from "../../errors/app-error.ts";
import type { Db } from "../database.ts";
import { isUuid, newestFirst, type PageRequest } from "../pagination.ts";
import { channelAccount, type channelKinds, type connectionStates, webhookEndpoint } from "../schema.ts";
import type { SecretBox } from "../secret-box.ts";

export type ChannelAccount = typeof channelAccount.$inferSelect;
export type ChannelKind = (typeof channelKinds)[number];
export type ConnectionState = (typeof connectionStates)[number];

export interface NewChannelAccount {
  workspaceId: string;
  kind: ChannelKind;
  externalId: string;
  name: string;
  /** Tokens and passwords in the clear; sealed before they reach the database. */
  credentials?: Record<string, unknown>;
  settings?: Record<string, unknown>;
  limits?: Record<string, unknown>;
}

export async function createChannelAccount(db: Db, box: SecretBox, input: NewChannelAccount) {
  const [row] = await db
    .insert(channelAccount)
    .values({
      ...input,
      credentials: input.credentials ? box.seal(JSON.stringify(input.credentials)) : null,
    })
    .returning();
  return row as ChannelAccount;
}

export function readCredentials(box: SecretBox, account: ChannelAccount): Record<string, unknown> {
  return account.credentials ? (JSON.parse(box.open(account.credentials)) as Record<string, unknown>) : {};
}

export async function getChannelAccount(db: Db, workspaceId: string, id: string) {
  if (!isUuid(id)) return undefined;
  const [row] = await db
    .select()
    .from(channelAccount)
    .where(and(eq(channelAccount.workspaceId, workspaceId), eq(channelAccount.id, id)));
  return row;
}

/** Any workspace's channel, by id alone: for platform webhooks, which carry no API key. */
export async function findChannelAccount(db: Db, id: string) {
  if (!isUuid(id)) return undefined;
  const [row] = await db.select().from(channelAccount).where(eq(channelAccount.id, id));
  return row;
}

/** Moves each channel's last event time forward to the given time, never back. */
export async function touchChannelEvents(db: Db, lastEvents: Map<string, Date>) {
  for (const [id, at] of lastEvents) {
    await db
      .update(channelAccount)
      .set({ lastEventAt: sql`greatest(${channelAccount.lastEventAt}, ${at.toISOString()}::timestamptz)` })
      .where(eq(channelAccount.id, id));
  }
}

export async function requireChannelAccount(db: Db, workspaceId: string, id: string) {
  const row = await getChannelAccount(db, workspaceId, id);
  if (!row) throw new AppError("channel_not_found", { id });
  return row;
}

export interface ChannelFilter {
  kind?: ChannelKind | undefined;
  state?: ConnectionState | undefined;
}

export async function listChannelAccounts(
  db: Db,
  workspaceId: string,
  filter: ChannelFilter,
  page: PageRequest,
) {
  const list = newestFirst("channels", channelAccount.id, page);
  const rows = await db
    .select()
    .from(channelAccount)
    .where(
      and(
        eq(channelAccount.workspaceId, workspaceId),
        filter.kind ? eq(channelAccount.kind, filter.kind) : undefined,
        filter.state ? eq(channelAccount.state, filter.state) : undefined,
        list.after,
      ),
    )
    .orderBy(list.order)
    .limit(list.limit);
  return list.page(rows);
}

/** Why a channel is not online: a catalogue code and its params, kept in `settings.problem`. */
export interface ChannelProblem {
  code: string;
  params: ErrorParams;
}

/**
 * Told, inside the transaction, that a channel moved from `previousState` to the state it has now
 * (the hub records `channel.status_changed` this way without the store knowing of events).
 */
export type ChannelStateChanged = (
  db: Db,
  previousState: ConnectionState,
  channel: ChannelAccount,
) => Promise<unknown>;

/** Notified when a channel is connected, changed, disabled or disconnected: its runners adjust. */
export const channelsChangedChannel = "switchboard_channels";

/** A workspace's account of one platform id, e.g. a VK community connected before. */
export async function findChannelByExternalId(
  db: Db,
  workspaceId: string,
  kind: ChannelKind,
  externalId: string,
) {
  const [row] = await db
    .select()
    .from(channelAccount)
    .where(
      and(
        eq(channelAccount.workspaceId, workspaceId),
        eq(channelAccount.kind, kind),
        eq(channelAccount.externalId, externalId),
      ),
    );
  return row;
}

/**
 * Creates the account unless the workspace has one with the same platform id (a concurrent
 * connect won the race); returns the row either way and whether it is new.
 */
export async function createOrFindChannelAccount(
  db: Db,
  box: SecretBox,
  input: NewChannelAccount,
): Promise<{ channel: ChannelAccount; created: boolean }> {
  const [row] = await db
    .insert(channelAccount)
    .values({
      ...input,
      credentials: input.credentials ? box.seal(JSON.stringify(input.credentials)) : null,
    })
    .onConflictDoNothing()
    .returning();
  if (row) return { channel: row, created: true };
  const existing = await findChannelByExternalId(db, input.workspaceId, input.kind, input.externalId);
  if (!existing) throw new Error("channel account vanished during connect");
  return { channel: existing, created: false };
}

export interface ChannelAccountChanges {
  name?: string;
  /** In the clear; sealed here. `null` forgets them. */
  credentials?: Record<string, unknown> | null;
  settings?: Record<string, unknown>;
  /** The dispatcher's limits that differ from the platform's defaults (see pipeline/send/limits.ts). */
  limits?: Record<string, unknown>;
}

/** Replaces the given fields of an account (by id alone: callers checked the workspace). */
export async function updateChannelAccount(
  db: Db,
  box: SecretBox,
  id: string,
  changes: ChannelAccountChanges,
) {
  const { credentials, ...rest } = changes;
  const [row] = await db
    .update(channelAccount)
    .set({
      ...rest,
      ...(credentials === undefined
        ? {}
        : { credentials: credentials === null ? null : box.seal(JSON.stringify(credentials)) }),
      updatedAt: new Date(),
    })
    .where(eq(channelAccount.id, id))
    .returning();
  if (!row) throw new AppError("channel_not_found", { id });
  return row;
}

/**
 * Puts an account back as it was read (a failed reconnect), all but its state: that goes back
 * through `transitionChannelState`, which tells the change.
 */
export async function restoreChannelAccount(db: Db, previous: ChannelAccount) {
  const {
    id,
    workspaceId: _w,
    createdAt: _c,
    lastEventAt: _l,
    state: _s,
    stateReason: _r,
    stateChangedAt: _t,
    ...fields
  } = previous;
  await db.update(channelAccount).set(fields).where(eq(channelAccount.id, id));
}

/**
 * Deletes a channel: only a community's first connect that failed does (`DELETE /v1/channels/{id}`
 * disconnects and keeps the row, so that connecting again reuses it). In the same transaction, the
 * workspace's webhook endpoints forget it in `channel_ids`; one that named only this channel is
 * left with `[]`, which matches no event, never `null`, which would match every channel's.
 */
export async function deleteChannelAccount(db: Db, id: string) {
  await db.transaction(async (tx) => {
    const [deleted] = await tx
      .delete(channelAccount)
      .where(eq(channelAccount.id, id))
      .returning({ workspaceId: channelAccount.workspaceId });
    if (!deleted) return;
    await tx
      .update(webhookEndpoint)
      .set({ channelIds: sql`${webhookEndpoint.channelIds} - ${id}::text`, updatedAt: new Date() })
      .where(
        and(eq(webhookEndpoint.workspaceId, deleted.workspaceId), sql`${webhookEndpoint.channelIds} ? ${id}`),
      );
  });
}

/**
 * Merges `patch` into the account's settings and removes `remove`, in one statement, so that
 * writers of different keys (a runner's position, a connect's code) never undo each other.
 * Leaves `updated_at` alone: these are the channel's working notes, not a change of its setup.
 */
export async function mergeChannelSettings(
  db: Db,
  id: string,
  patch: Record<string, unknown>,
  remove: readonly string[] = [],
) {
  let value = sql`${channelAccount.settings} || ${JSON.stringify(patch)}::jsonb`;
  for (const key of remove) value = sql`(${value}) - ${key}::text`;
  await db.update(channelAccount).set({ settings: value }).where(eq(channelAccount.id, id));
}

/**
 * Moves an account to `state` when it is in one of `from`, or `failing` because of one of
 * `failingWith` (problem codes), recording `problem` (a catalogue code and params) in its
 * settings, or clearing it. Returns whether the state changed. Runners use this to report and
 * recover without overriding what someone else found (a dead token, a disable).
 */
export async function transitionChannelState(
  db: Db,
  id: string,
  change: {
    state: ConnectionState;
    reason: string | null;
    problem: ChannelProblem | null;
    from: readonly ConnectionState[];
    failingWith?: readonly string[];
  },
  onChanged?: ChannelStateChanged,
): Promise<boolean> {
  const settings =
    change.problem === null
      ? sql`${channelAccount.settings} - 'problem'`
      : sql`jsonb_set(${channelAccount.settings}, '{problem}', ${JSON.stringify(change.problem)}::jsonb)`;
  const problemCode = sql`${channelAccount.settings} -> 'problem' ->> 'code'`;
  return db.transaction(async (tx) => {
    const [before] = await tx
      .select({ state: channelAccount.state })
      .from(channelAccount)
      .where(eq(channelAccount.id, id))
      .for("update");
    const rows = await tx
      .update(channelAccount)
      .set({ state: change.state, stateReason: change.reason, stateChangedAt: new Date(), settings })
      .where(
        and(
          eq(channelAccount.id, id),
          or(
            change.from.length > 0 ? inArray(channelAccount.state, [...change.from]) : sql`false`,
            change.failingWith?.length
              ? and(
                  eq(channelAccount.state, "failing"),
                  inArray(sql`${problemCode}`, [...change.failingWith]),
                )
              : undefined,
          ),
        ),
      )
      .returning();
    const after = rows[0];
    if (!after) return false;
    if (onChanged && before && before.state !== after.state) await onChanged(tx, before.state, after);
    return true;
  });
}

/** Every account of a workspace, oldest first: the order routes given by kind are tried in. */
export async function channelsOfWorkspace(db: Db, workspaceId: string): Promise<ChannelAccount[]> {
  return db
    .select()
    .from(channelAccount)
    .where(eq(channelAccount.workspaceId, workspaceId))
    .orderBy(asc(channelAccount.createdAt), asc(channelAccount.id));
}

/** Accounts of one kind that are not disabled and have credentials: the ones runners serve. */
export async function listActiveChannelAccounts(db: Db, kind: ChannelKind) {
  return db
    .select()
    .from(channelAccount)
    .where(
      and(
        eq(channelAccount.kind, kind),
        ne(channelAccount.state, "disabled"),
        isNotNull(channelAccount.credentials),
      ),
    );
}

/**
 * A stable, non-secret name for a token: the first 16 hex digits of its SHA-256 (the same as the
 * VK client's `tokenFingerprint`, so fingerprints it reports match the stored tokens).
 */
export function secretFingerprint(secret: string): string {
  return createHash("sha256").update(secret).digest("hex").slice(0, 16);
}

/**
 * Records that the platform refused one of the channel's tokens for good (VK 5, 27): its
 * fingerprint joins `deadTokens` in the credentials, so no process uses it again until the
 * channel is reconnected. Says how many live tokens are left, for the caller to decide the
 * channel's state; undefined when there is no such channel. Safe to call twice.
 */
export async function markTokenDead(
  db: Db,
  box: SecretBox,
  channelId: string,
  fingerprint: string,
): Promise<{ channel: ChannelAccount; liveTokens: number; newlyDead: boolean } | undefined> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select()
      .from(channelAccount)
      .where(eq(channelAccount.id, channelId))
      .for("update");
    if (!row) return undefined;
    const credentials = readCredentials(box, row);
    const strings = (value: unknown) =>
      Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
    const dead = new Set(strings(credentials.deadTokens));
    const newlyDead = !dead.has(fingerprint);
    dead.add(fingerprint);
    const liveTokens = strings(credentials.tokens).filter(
      (token) => !dead.has(secretFingerprint(token)),
    ).length;
    if (!newlyDead) return { channel: row, liveTokens, newlyDead };
    const [updated] = await tx
      .update(channelAccount)
      .set({
        credentials: box.seal(JSON.stringify({ ...credentials, deadTokens: [...dead] })),
        updatedAt: new Date(),
      })
      .where(eq(channelAccount.id, channelId))
      .returning();
    return { channel: updated as ChannelAccount, liveTokens, newlyDead };
  });
}
