import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "../database.ts";
import { idIs, isUuid, newestFirst, type PageRequest } from "../pagination.ts";
import {
  contact,
  contactConsent,
  contactEvent,
  type contactEventKinds,
  contactIdentity,
  type LeadAnswer,
  lead,
} from "../schema.ts";

export type ContactEventKind = (typeof contactEventKinds)[number];
export type Lead = typeof lead.$inferSelect;

/**
 * Records whether the client accepts messages from this channel (VK message_allow/deny). The
 * contact shows its consent, so it has changed too (`updated_at`).
 */
export async function setConsent(
  db: Db,
  identityId: string,
  channelAccountId: string,
  state: "allowed" | "denied",
  at: Date,
) {
  await db
    .insert(contactConsent)
    .values({ identityId, channelAccountId, state, changedAt: at })
    .onConflictDoUpdate({
      target: [contactConsent.identityId, contactConsent.channelAccountId],
      set: { state, changedAt: at },
    });
  await db
    .update(contact)
    .set({ updatedAt: sql`now()` })
    .where(
      inArray(
        contact.id,
        db
          .select({ id: contactIdentity.contactId })
          .from(contactIdentity)
          .where(eq(contactIdentity.id, identityId)),
      ),
    );
}

/** One event per inbound platform event: reprocessing the same one records nothing new. */
export async function recordContactEvent(
  db: Db,
  input: {
    workspaceId: string;
    channelAccountId: string;
    contactId: string;
    kind: ContactEventKind;
    data: Record<string, unknown>;
    inboundEventId: string;
    occurredAt: Date;
  },
) {
  await db.insert(contactEvent).values(input).onConflictDoNothing();
}

/** Stores a lead once per platform lead id; returns it only when it is new. */
export async function recordLead(
  db: Db,
  input: {
    workspaceId: string;
    channelAccountId: string;
    contactId: string;
    externalId: string;
    formId: string;
    formName: string | null;
    answers: LeadAnswer[];
  },
): Promise<Lead | undefined> {
  const [row] = await db.insert(lead).values(input).onConflictDoNothing().returning();
  return row;
}

export async function getLead(db: Db, workspaceId: string, id: string): Promise<Lead | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await db
    .select()
    .from(lead)
    .where(and(eq(lead.workspaceId, workspaceId), eq(lead.id, id)));
  return row;
}

export async function linkLeadConversation(db: Db, leadId: string, conversationId: string) {
  await db.update(lead).set({ conversationId }).where(eq(lead.id, leadId));
}

export type ContactEvent = typeof contactEvent.$inferSelect;

export async function getContactEvent(
  db: Db,
  workspaceId: string,
  id: string,
): Promise<ContactEvent | undefined> {
  if (!isUuid(id)) return undefined;
  const [row] = await db
    .select()
    .from(contactEvent)
    .where(and(eq(contactEvent.workspaceId, workspaceId), eq(contactEvent.id, id)));
  return row;
}

/** Keeps how a button press was answered in its event's data (`answer`), for the record. */
export async function recordButtonAnswer(
  db: Db,
  id: string,
  answer: Record<string, unknown>,
): Promise<ContactEvent | undefined> {
  const [row] = await db
    .update(contactEvent)
    .set({ data: sql`${contactEvent.data} || ${JSON.stringify({ answer })}::jsonb` })
    .where(eq(contactEvent.id, id))
    .returning();
  return row;
}

/** A contact's events (button presses, consent changes, joins), newest first. */
export async function listContactEvents(db: Db, contactId: string, page: PageRequest) {
  const list = newestFirst("contact-events", contactEvent.id, page);
  const rows = await db
    .select()
    .from(contactEvent)
    .where(and(eq(contactEvent.contactId, contactId), list.after))
    .orderBy(list.order)
    .limit(list.limit);
  return list.page(rows);
}

export interface LeadFilter {
  channelAccountId?: string | undefined;
  contactId?: string | undefined;
}

/** A workspace's leads, newest first; an id that cannot exist matches nothing. */
export async function listLeads(db: Db, workspaceId: string, filter: LeadFilter, page: PageRequest) {
  const list = newestFirst("leads", lead.id, page);
  const rows = await db
    .select()
    .from(lead)
    .where(
      and(
        eq(lead.workspaceId, workspaceId),
        idIs(lead.channelAccountId, filter.channelAccountId),
        idIs(lead.contactId, filter.contactId),
        list.after,
      ),
    )
    .orderBy(list.order)
    .limit(list.limit);
  return list.page(rows);
}
