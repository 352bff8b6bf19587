import { and, desc, eq, lt, sql } from "drizzle-orm";
import { AppError } from "../../errors/app-error.ts";
import type { Db } from "../database.ts";
import { decodeCursor, isUuid, type PageRequest, toPage } from "../pagination.ts";
import { channelAccount, type channelKinds, type connectionStates } from "../schema.ts";
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
  const after = page.cursor ? decodeCursor("channels", page.cursor, 1)[0] : undefined;
  const rows = await db
    .select()
    .from(channelAccount)
    .where(
      and(
        eq(channelAccount.workspaceId, workspaceId),
        filter.kind ? eq(channelAccount.kind, filter.kind) : undefined,
        filter.state ? eq(channelAccount.state, filter.state) : undefined,
        after ? lt(channelAccount.id, after) : undefined,
      ),
    )
    .orderBy(desc(channelAccount.id))
    .limit(page.limit + 1);
  return toPage(rows, page.limit, "channels", (row) => [row.id]);
}

/** Moves a channel to a connection state; `reason` says why, for people reading the channel. */
export async function setChannelState(
  db: Db,
  workspaceId: string,
  id: string,
  state: ConnectionState,
  reason: string | null,
) {
  await requireChannelAccount(db, workspaceId, id);
  const now = new Date();
  const [row] = await db
    .update(channelAccount)
    .set({ state, stateReason: reason, stateChangedAt: now, updatedAt: now })
    .where(and(eq(channelAccount.workspaceId, workspaceId), eq(channelAccount.id, id)))
    .returning();
  return row as ChannelAccount;
}
