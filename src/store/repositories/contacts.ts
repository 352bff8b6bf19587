import { and, eq, gte, ilike, inArray, isNotNull, ne, or, type SQL, sql } from "drizzle-orm";
import { AppError } from "../../errors/app-error.ts";
import { type Db, queryRows } from "../database.ts";
import { byTimeThenId, isUuid, newestFirst, type PageRequest } from "../pagination.ts";
import {
  type channelKinds,
  type consentStates,
  contact,
  contactConsent,
  contactIdentity,
  conversation,
  message,
} from "../schema.ts";

export type Contact = typeof contact.$inferSelect;
export type ContactIdentity = typeof contactIdentity.$inferSelect;
/** Whether the user accepts messages from one channel (VK `message_allow` / `message_deny`). */
export interface IdentityConsent {
  channelAccountId: string;
  state: (typeof consentStates)[number];
  changedAt: Date;
}
export type ContactWithIdentities = Contact & {
  identities: (ContactIdentity & { consent: IdentityConsent[] })[];
};
type ChannelKind = (typeof channelKinds)[number];

export interface IdentityInput {
  channelKind: ChannelKind;
  externalId: string;
  displayName?: string | undefined;
}

export interface ContactInput {
  name?: string | null | undefined;
  /** Already normalised to E.164 by the caller. */
  phone?: string | null | undefined;
  email?: string | null | undefined;
  customFields?: Record<string, unknown> | undefined;
}

export async function createContact(
  db: Db,
  workspaceId: string,
  input: ContactInput & { identities?: IdentityInput[] | undefined },
): Promise<ContactWithIdentities> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(contact)
      .values({
        workspaceId,
        name: input.name ?? null,
        phone: input.phone ?? null,
        email: input.email ?? null,
        customFields: input.customFields ?? {},
      })
      .returning();
    const created = row as Contact;
    await addIdentities(tx, workspaceId, created.id, input.identities ?? []);
    const [withIdentities] = await attachIdentities(tx, [created]);
    return withIdentities as ContactWithIdentities;
  });
}

/** Adds identities to a contact; one that belongs to another contact is refused. */
async function addIdentities(db: Db, workspaceId: string, contactId: string, identities: IdentityInput[]) {
  if (identities.length === 0) return;
  await db
    .insert(contactIdentity)
    .values(identities.map((identity) => ({ workspaceId, contactId, ...identity })))
    .onConflictDoNothing();
  const owners = await db
    .select()
    .from(contactIdentity)
    .where(
      and(
        eq(contactIdentity.workspaceId, workspaceId),
        or(
          ...identities.map((identity) =>
            and(
              eq(contactIdentity.channelKind, identity.channelKind),
              eq(contactIdentity.externalId, identity.externalId),
            ),
          ),
        ),
      ),
    );
  const foreign = owners.find((owner) => owner.contactId !== contactId);
  if (foreign) {
    throw new AppError("contact_identity_taken", {
      channelKind: foreign.channelKind,
      externalId: foreign.externalId,
      contactId: foreign.contactId,
    });
  }
}

/** Who a platform user is in the hub: their contact, and the identity that links them. */
export interface IdentifiedUser {
  contactId: string;
  identityId: string;
  /** What the user's app can show, as last stored. */
  capabilities: Record<string, unknown> | null;
}

/**
 * The contacts behind users of one platform, by their platform id; each new platform user gets
 * a new contact with that identity, listed in `created`. A handful of statements however many
 * users. Safe under concurrency: two workers meeting the same new user make one contact.
 */
export async function contactsForIdentities(
  db: Db,
  workspaceId: string,
  channelKind: ChannelKind,
  externalIds: readonly string[],
): Promise<{ users: Map<string, IdentifiedUser>; created: ContactWithIdentities[] }> {
  const users = new Map<string, IdentifiedUser>();
  const find = async (ids: string[]) => {
    const rows = await db
      .select({
        externalId: contactIdentity.externalId,
        contactId: contactIdentity.contactId,
        identityId: contactIdentity.id,
        capabilities: contactIdentity.capabilities,
      })
      .from(contactIdentity)
      .where(
        and(
          eq(contactIdentity.workspaceId, workspaceId),
          eq(contactIdentity.channelKind, channelKind),
          inArray(contactIdentity.externalId, ids),
        ),
      );
    for (const { externalId, ...user } of rows) users.set(externalId, user);
  };
  const wanted = [...new Set(externalIds)];
  if (wanted.length === 0) return { users, created: [] };
  await find(wanted);
  const missing = wanted.filter((id) => !users.has(id));
  if (missing.length === 0) return { users, created: [] };
  const contacts = await db
    .insert(contact)
    .values(missing.map(() => ({ workspaceId, name: null })))
    .returning();
  const linked = await db
    .insert(contactIdentity)
    .values(
      missing.map((externalId, i) => ({
        workspaceId,
        contactId: (contacts[i] as Contact).id,
        channelKind,
        externalId,
      })),
    )
    .onConflictDoNothing()
    .returning();
  const ours = new Map(contacts.map((row) => [row.id, row]));
  const created = linked.map((identity) => {
    users.set(identity.externalId, {
      contactId: identity.contactId,
      identityId: identity.id,
      capabilities: identity.capabilities,
    });
    const linkedContact = ours.get(identity.contactId) as Contact;
    ours.delete(identity.contactId);
    return { ...linkedContact, identities: [{ ...identity, consent: [] }] };
  });
  // Another worker linked some of these users first: drop our contacts left unlinked, use theirs.
  const raced = missing.filter((id) => !users.has(id));
  if (raced.length > 0) {
    await db.delete(contact).where(inArray(contact.id, [...ours.keys()]));
    await find(raced);
    if (raced.some((id) => !users.has(id))) throw new Error("an identity vanished while linking it");
  }
  return { users, created };
}

/** Keeps what each identity's platform says the client's app can show (VK `client_info`). */
export async function setIdentitiesCapabilities(
  db: Db,
  capabilities: ReadonlyMap<string, Record<string, unknown>>,
) {
  if (capabilities.size === 0) return;
  const rows = sql.join(
    [...capabilities].map(([id, value]) => sql`(${id}::uuid, ${JSON.stringify(value)}::jsonb)`),
    sql`, `,
  );
  await db.execute(sql`
    update contact_identity set capabilities = v.capabilities
    from (values ${rows}) as v(id, capabilities)
    where contact_identity.id = v.id`);
}

/** Which of these platform users are still without a name (those not stored yet included). */
export async function identitiesWithoutName(
  db: Db,
  workspaceId: string,
  channelKind: ChannelKind,
  externalIds: readonly string[],
): Promise<string[]> {
  if (externalIds.length === 0) return [];
  const named = await db
    .select({ externalId: contactIdentity.externalId })
    .from(contactIdentity)
    .where(
      and(
        eq(contactIdentity.workspaceId, workspaceId),
        eq(contactIdentity.channelKind, channelKind),
        inArray(contactIdentity.externalId, [...externalIds]),
        isNotNull(contactIdentity.displayName),
        ne(contactIdentity.displayName, ""),
      ),
    );
  const hasName = new Set(named.map((row) => row.externalId));
  return externalIds.filter((id) => !hasName.has(id));
}

/**
 * Gives platform identities their display names, and each identity's contact that name when it
 * has none, in one statement however many. A contact shows its identities' names, so each
 * contact whose identity got a new one has changed (`updated_at`), named by it or not: their ids
 * are returned.
 */
export async function nameIdentities(
  db: Db,
  workspaceId: string,
  channelKind: ChannelKind,
  names: readonly { externalId: string; name: string }[],
): Promise<string[]> {
  if (names.length === 0) return [];
  const changed = await queryRows<{ id: string }>(
    db,
    sql`
    with named as (
      update contact_identity i set display_name = v.name
      from unnest(
        ${sql.param(names.map((n) => n.externalId))}::text[],
        ${sql.param(names.map((n) => n.name))}::text[]
      ) as v(external_id, name)
      where i.workspace_id = ${workspaceId} and i.channel_kind = ${channelKind}
        and i.external_id = v.external_id and i.display_name is distinct from v.name
      returning i.contact_id, v.name
    )
    update contact c set name = coalesce(c.name, named.name), updated_at = now()
    from named
    where c.id = named.contact_id
    returning c.id`,
  );
  return changed.map((row) => row.id);
}

export async function getContact(
  db: Db,
  workspaceId: string,
  id: string,
): Promise<ContactWithIdentities | undefined> {
  const [found] = await getContacts(db, workspaceId, [id]);
  return found;
}

/** The workspace's contacts among `ids`, with their identities; an id it does not have is left out. */
export async function getContacts(
  db: Db,
  workspaceId: string,
  ids: readonly string[],
): Promise<ContactWithIdentities[]> {
  const wanted = [...new Set(ids)].filter(isUuid);
  if (wanted.length === 0) return [];
  const rows = await db
    .select()
    .from(contact)
    .where(and(eq(contact.workspaceId, workspaceId), inArray(contact.id, wanted)));
  return attachIdentities(db, rows);
}

export async function requireContact(
  db: Db,
  workspaceId: string,
  id: string,
): Promise<ContactWithIdentities> {
  const found = await getContact(db, workspaceId, id);
  if (!found) throw new AppError("contact_not_found", { id });
  return found;
}

/** Custom fields are merged key by key; a key set to null is removed. */
export async function updateContact(
  db: Db,
  workspaceId: string,
  id: string,
  input: ContactInput & { addIdentities?: IdentityInput[] | undefined },
): Promise<ContactWithIdentities> {
  return db.transaction(async (tx) => {
    const current = await requireContact(tx, workspaceId, id);
    const customFields = { ...current.customFields };
    for (const [key, value] of Object.entries(input.customFields ?? {})) {
      if (value === null) delete customFields[key];
      else customFields[key] = value;
    }
    const [row] = await tx
      .update(contact)
      .set({
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.phone !== undefined ? { phone: input.phone } : {}),
        ...(input.email !== undefined ? { email: input.email } : {}),
        customFields,
        updatedAt: sql`now()`,
      })
      .where(eq(contact.id, id))
      .returning();
    await addIdentities(tx, workspaceId, id, input.addIdentities ?? []);
    const [updated] = await attachIdentities(tx, [row as Contact]);
    return updated as ContactWithIdentities;
  });
}

export interface ContactSearch {
  /** Part of the name or e-mail, or digits of the phone number. */
  q?: string | undefined;
  /** Exact phone, E.164. */
  phone?: string | undefined;
  identity?: { channelKind: ChannelKind; externalId: string } | undefined;
  /** Changed at or after this time. */
  updatedSince?: Date | undefined;
}

/** How a list of contacts is ordered: by creation, or by the last change, the least recent first (a sync pass). */
export const contactOrders = ["created", "updated"] as const;
export type ContactOrder = (typeof contactOrders)[number];

export async function listContacts(
  db: Db,
  workspaceId: string,
  search: ContactSearch,
  page: PageRequest,
  order: ContactOrder = "created",
) {
  const list =
    order === "created"
      ? newestFirst("contacts", contact.id, page)
      : byTimeThenId(
          "asc",
          "contacts:updated",
          sql`${contact.updatedAt}`,
          contact.id,
          (row: Contact) => row.updatedAt,
          page,
        );
  const conditions: (SQL | undefined)[] = [eq(contact.workspaceId, workspaceId), list.after];
  if (search.updatedSince) conditions.push(gte(contact.updatedAt, search.updatedSince));
  if (search.q) {
    const pattern = `%${escapeLike(search.q)}%`;
    const digits = search.q.replace(/\D/g, "");
    conditions.push(
      or(
        ilike(contact.name, pattern),
        ilike(contact.email, pattern),
        digits.length >= 3 ? sql`${contact.phone} like ${`%${digits}%`}` : undefined,
      ),
    );
  }
  if (search.phone) conditions.push(eq(contact.phone, search.phone));
  if (search.identity) {
    conditions.push(
      inArray(
        contact.id,
        db
          .select({ id: contactIdentity.contactId })
          .from(contactIdentity)
          .where(
            and(
              eq(contactIdentity.workspaceId, workspaceId),
              eq(contactIdentity.channelKind, search.identity.channelKind),
              eq(contactIdentity.externalId, search.identity.externalId),
            ),
          ),
      ),
    );
  }
  const rows = await db
    .select()
    .from(contact)
    .where(and(...conditions))
    .orderBy(list.order)
    .limit(list.limit);
  const result = list.page(rows);
  return { ...result, items: await attachIdentities(db, result.items) };
}

/** What a merge did besides changing the target: what it deleted, and where their contents went. */
export interface MergeOutcome {
  contact: ContactWithIdentities;
  /** The source's open direct conversations that became one with the target's on their channel. */
  joinedConversations: { id: string; into: string }[];
}

/**
 * Merges `sourceId` into `targetId`: identities, conversations and messages move to the
 * target, empty fields of the target are filled from the source, and the source is deleted.
 * Where both have an open direct conversation on the same channel, the two threads become one.
 */
export async function mergeContacts(
  db: Db,
  workspaceId: string,
  targetId: string,
  sourceId: string,
): Promise<MergeOutcome> {
  return db.transaction(async (tx) => {
    const target = await requireContact(tx, workspaceId, targetId);
    if (targetId === sourceId) {
      throw new AppError(
        "contact_merge_self",
        {},
        {
          details: [
            { path: "source_contact_id", code: "same_contact", detail: "equals the target contact's id" },
          ],
        },
      );
    }
    const source = await requireContact(tx, workspaceId, sourceId);

    const openDirect = and(eq(conversation.kind, "direct"), sql`${conversation.status} <> 'resolved'`);
    const targetOpen = await tx
      .select()
      .from(conversation)
      .where(and(eq(conversation.contactId, targetId), openDirect));
    const sourceOpen = await tx
      .select()
      .from(conversation)
      .where(and(eq(conversation.contactId, sourceId), openDirect));
    const joinedConversations: MergeOutcome["joinedConversations"] = [];
    for (const duplicate of sourceOpen) {
      const kept = targetOpen.find((c) => c.channelAccountId === duplicate.channelAccountId);
      if (!kept) continue;
      joinedConversations.push({ id: duplicate.id, into: kept.id });
      await tx
        .update(message)
        .set({ conversationId: kept.id })
        .where(eq(message.conversationId, duplicate.id));
      await tx
        .update(conversation)
        .set({
          lastMessageAt: sql`greatest(${conversation.lastMessageAt}, ${duplicate.lastMessageAt})`,
          updatedAt: sql`now()`,
        })
        .where(eq(conversation.id, kept.id));
      await tx.delete(conversation).where(eq(conversation.id, duplicate.id));
    }
    await tx
      .update(conversation)
      .set({ contactId: targetId, updatedAt: sql`now()` })
      .where(eq(conversation.contactId, sourceId));
    await tx.update(message).set({ contactId: targetId }).where(eq(message.contactId, sourceId));
    await tx
      .update(contactIdentity)
      .set({ contactId: targetId })
      .where(eq(contactIdentity.contactId, sourceId));
    await tx
      .update(contact)
      .set({
        name: target.name ?? source.name,
        phone: target.phone ?? source.phone,
        email: target.email ?? source.email,
        customFields: { ...source.customFields, ...target.customFields },
        updatedAt: sql`now()`,
      })
      .where(eq(contact.id, targetId));
    await tx.delete(contact).where(eq(contact.id, sourceId));
    return { contact: await requireContact(tx, workspaceId, targetId), joinedConversations };
  });
}

async function attachIdentities(db: Db, contacts: Contact[]): Promise<ContactWithIdentities[]> {
  if (contacts.length === 0) return [];
  const identities = await db
    .select()
    .from(contactIdentity)
    .where(
      inArray(
        contactIdentity.contactId,
        contacts.map((c) => c.id),
      ),
    )
    .orderBy(contactIdentity.id);
  const consents =
    identities.length === 0
      ? []
      : await db
          .select()
          .from(contactConsent)
          .where(
            inArray(
              contactConsent.identityId,
              identities.map((i) => i.id),
            ),
          )
          .orderBy(contactConsent.changedAt, contactConsent.channelAccountId);
  return contacts.map((c) => ({
    ...c,
    identities: identities
      .filter((identity) => identity.contactId === c.id)
      .map((identity) => ({
        ...identity,
        consent: consents
          .filter((consent) => consent.identityId === identity.id)
          .map(({ channelAccountId, state, changedAt }) => ({ channelAccountId, state, changedAt })),
      })),
  }));
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (char) => `\\${char}`);
}
