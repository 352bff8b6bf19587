/**
 * What the send API needs to know about many recipients at once, one query per question, so a
 * batch of a thousand messages costs a handful of statements rather than thousands.
 */
import { and, asc, desc, eq, inArray } from "drizzle-orm";
import type { Db } from "../database.ts";
import { isUuid } from "../pagination.ts";
import { channelAccount, contact, contactConsent, contactIdentity, conversation } from "../schema.ts";

/** The ids among `ids` that are contacts of the workspace; one that is not an id at all is not. */
export async function existingContacts(
  db: Db,
  workspaceId: string,
  ids: readonly string[],
): Promise<Set<string>> {
  const wanted = ids.filter(isUuid);
  if (wanted.length === 0) return new Set();
  const rows = await db
    .select({ id: contact.id })
    .from(contact)
    .where(and(eq(contact.workspaceId, workspaceId), inArray(contact.id, wanted)));
  return new Set(rows.map((row) => row.id));
}

/** The contact of each phone number (E.164); when several share one, the oldest. */
export async function contactsByPhone(
  db: Db,
  workspaceId: string,
  phones: readonly string[],
): Promise<Map<string, string>> {
  if (phones.length === 0) return new Map();
  const rows = await db
    .select({ id: contact.id, phone: contact.phone })
    .from(contact)
    .where(and(eq(contact.workspaceId, workspaceId), inArray(contact.phone, [...phones])))
    .orderBy(asc(contact.createdAt), asc(contact.id));
  const byPhone = new Map<string, string>();
  for (const row of rows) if (row.phone && !byPhone.has(row.phone)) byPhone.set(row.phone, row.id);
  return byPhone;
}

export interface RecipientReach {
  /** The platforms on which each contact has an identity. */
  kinds: Map<string, Set<string>>;
  /** The channel accounts each contact has conversations on, the latest conversation first. */
  known: Map<string, string[]>;
  /**
   * The channel accounts each contact refused messages from: every identity of theirs on the
   * channel's platform did (after a merge, a contact may have one that refused and one that did not).
   */
  refused: Map<string, Set<string>>;
}

/** Where each contact can be reached, and which channel accounts they refused. */
export async function recipientReach(db: Db, contactIds: readonly string[]): Promise<RecipientReach> {
  const reach: RecipientReach = { kinds: new Map(), known: new Map(), refused: new Map() };
  if (contactIds.length === 0) return reach;
  const ids = [...new Set(contactIds)];
  const identities = await db
    .select({
      id: contactIdentity.id,
      contactId: contactIdentity.contactId,
      kind: contactIdentity.channelKind,
    })
    .from(contactIdentity)
    .where(inArray(contactIdentity.contactId, ids));
  for (const row of identities) addTo(reach.kinds, row.contactId, row.kind);
  const conversations = await db
    .selectDistinctOn([conversation.contactId, conversation.channelAccountId], {
      contactId: conversation.contactId,
      channelAccountId: conversation.channelAccountId,
      at: conversation.lastMessageAt,
    })
    .from(conversation)
    .where(inArray(conversation.contactId, ids))
    .orderBy(conversation.contactId, conversation.channelAccountId, desc(conversation.lastMessageAt));
  conversations.sort((a, b) => (b.at?.getTime() ?? 0) - (a.at?.getTime() ?? 0));
  for (const row of conversations) {
    const list = reach.known.get(row.contactId as string) ?? [];
    list.push(row.channelAccountId);
    reach.known.set(row.contactId as string, list);
  }
  const refusals = await db
    .select({
      contactId: contactIdentity.contactId,
      channelAccountId: contactConsent.channelAccountId,
      kind: channelAccount.kind,
    })
    .from(contactConsent)
    .innerJoin(contactIdentity, eq(contactIdentity.id, contactConsent.identityId))
    .innerJoin(channelAccount, eq(channelAccount.id, contactConsent.channelAccountId))
    .where(and(inArray(contactIdentity.contactId, ids), eq(contactConsent.state, "denied")));
  // Counted once, not per refusal: a batch brings a thousand contacts.
  const identitiesOn = new Map<string, number>();
  for (const row of identities) {
    const key = `${row.contactId} ${row.kind}`;
    identitiesOn.set(key, (identitiesOn.get(key) ?? 0) + 1);
  }
  const refusing = new Map<string, number>();
  for (const row of refusals) {
    const pair = `${row.contactId} ${row.channelAccountId}`;
    const count = (refusing.get(pair) ?? 0) + 1;
    refusing.set(pair, count);
    if (count === identitiesOn.get(`${row.contactId} ${row.kind}`))
      addTo(reach.refused, row.contactId, row.channelAccountId);
  }
  return reach;
}

function addTo(map: Map<string, Set<string>>, key: string, value: string) {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

/**
 * Who each contact is on a channel's platform, for contacts with exactly one identity there
 * (`outboundRecipient` chooses between several), and whether they refused the channel. By
 * contact id; contacts with none or several identities of the kind are absent.
 */
export async function singleRecipients(
  db: Db,
  channel: { id: string; kind: (typeof contactIdentity.$inferSelect)["channelKind"] },
  contactIds: readonly string[],
): Promise<Map<string, { externalId: string; refused: boolean }>> {
  const byContact = new Map<string, { externalId: string; refused: boolean }>();
  if (contactIds.length === 0) return byContact;
  const rows = await db
    .select({
      contactId: contactIdentity.contactId,
      externalId: contactIdentity.externalId,
      consent: contactConsent.state,
    })
    .from(contactIdentity)
    .leftJoin(
      contactConsent,
      and(eq(contactConsent.identityId, contactIdentity.id), eq(contactConsent.channelAccountId, channel.id)),
    )
    .where(
      and(
        inArray(contactIdentity.contactId, [...new Set(contactIds)]),
        eq(contactIdentity.channelKind, channel.kind),
      ),
    );
  const several = new Set<string>();
  for (const row of rows) {
    if (byContact.has(row.contactId)) several.add(row.contactId);
    byContact.set(row.contactId, { externalId: row.externalId, refused: row.consent === "denied" });
  }
  for (const contactId of several) byContact.delete(contactId);
  return byContact;
}
