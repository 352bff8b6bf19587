import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { eq, inArray, sql } from "drizzle-orm";
import { v7 as uuidv7 } from "uuid";
import { AppError } from "../errors/app-error.ts";
import { storeKinds } from "../testing/stores.ts";
import { isUniqueViolation, queryRows, type Store } from "./database.ts";
import { migrate, migrationStatus } from "./migrations.ts";
import { createApiKey, findActiveKey, listApiKeys, revokeApiKey } from "./repositories/api-keys.ts";
import {
  createChannelAccount,
  getChannelAccount,
  readCredentials,
  transitionChannelState,
} from "./repositories/channel-accounts.ts";
import { listLeads } from "./repositories/contact-activity.ts";
import {
  contactsForIdentities,
  createContact,
  getContact,
  listContacts,
  mergeContacts,
  updateContact,
} from "./repositories/contacts.ts";
import { createConversation, listConversations } from "./repositories/conversations.ts";
import {
  claimIdempotencyKey,
  releaseIdempotencyKey,
  saveIdempotentResponse,
} from "./repositories/idempotency.ts";
import {
  listConversationMessages,
  listVersions,
  markSent,
  matchEcho,
  recordEdit,
  recordMessage,
  recordMessages,
} from "./repositories/messages.ts";
import { createWorkspace } from "./repositories/workspaces.ts";
import { channelAccount, conversation, inboundEvent, message } from "./schema.ts";
import { SecretBox } from "./secret-box.ts";

const rejectsWith = (promise: Promise<unknown>, code: string) =>
  assert.rejects(promise, (error: unknown) => error instanceof AppError && error.code === code);

for (const kind of storeKinds) {
  describe(`store on ${kind.name}`, () => {
    let store: Store & { drop(): Promise<void> };
    let workspaceId: string;
    const box = new SecretBox(randomBytes(32));

    before(async () => {
      store = await kind.open();
      workspaceId = (await createWorkspace(store.db, "Store tests")).id;
    });
    after(() => store.drop());

    const newChannel = (externalId = randomBytes(4).toString("hex")) =>
      createChannelAccount(store.db, box, { workspaceId, kind: "vk", externalId, name: `VK ${externalId}` });
    const open = (
      channelAccountId: string,
      contactId: string,
      kind: "direct" | "comments" = "direct",
      externalRef?: string,
    ) => createConversation(store.db, { workspaceId, channelAccountId, contactId, kind, externalRef });

    it("applies migrations once and reports them", async () => {
      const first = await migrationStatus(store.db);
      assert.equal(first.applied, first.known);
      assert.ok(first.known >= 1);
      assert.deepEqual(await migrate(store), first);
    });

    it("lets concurrent migrations of one database finish without conflict", async () => {
      const results = await Promise.all([migrate(store), migrate(store), migrate(store)]);
      for (const status of results) assert.equal(status.applied, status.known);
    });

    it("keeps no statistics on the events' JSON, which no query filters or sorts on", async () => {
      const columns = await queryRows<{ table: string; target: number | null }>(
        store.db,
        sql`select attrelid::regclass::text as table, attstattarget::int as target from pg_attribute
            where attname = 'payload' and attrelid in ('inbound_event'::regclass, 'webhook_event'::regclass)
            order by 1`,
      );
      assert.deepEqual(columns, [
        { table: "inbound_event", target: 0 },
        { table: "webhook_event", target: 0 },
      ]);
    });

    describe("api keys", () => {
      it("finds an active key by its secret and never stores the secret", async () => {
        const { key, secret } = await createApiKey(store.db, { workspaceId, name: "k" });
        assert.match(secret, /^sbk_[\w-]{43}$/);
        assert.equal((await findActiveKey(store.db, secret))?.id, key.id);
        assert.notEqual(key.hash, secret);
        assert.ok(secret.startsWith(key.prefix));
        assert.equal(await findActiveKey(store.db, `${secret}x`), undefined);
        assert.equal(await findActiveKey(store.db, "not-a-key"), undefined);
      });

      it("revokes keys but keeps the last admin key", async () => {
        const ws = (await createWorkspace(store.db, "Keys")).id;
        const admins = await listApiKeys(store.db, undefined, { limit: 200 });
        for (const k of admins.items.filter((k) => k.admin && !k.revokedAt)) {
          // A workspace keeps its last key: a plain one takes the admin's place.
          await createApiKey(store.db, { workspaceId: k.workspaceId, name: "stand-in" });
          await revokeApiKey(store.db, k.id, { admin: true });
        }
        const a = await createApiKey(store.db, { workspaceId: ws, name: "a", admin: true });
        const b = await createApiKey(store.db, { workspaceId: ws, name: "b", admin: true });
        await rejectsWith(
          revokeApiKey(store.db, a.key.id, { workspaceId: ws, admin: false }),
          "admin_required",
        );
        const revoked = await revokeApiKey(store.db, a.key.id, { workspaceId: ws, admin: true });
        assert.deepEqual([revoked.key.id, revoked.alreadyRevoked], [a.key.id, false]);
        assert.equal(await findActiveKey(store.db, a.secret), undefined);
        // Again: the key as it was revoked, told apart, nothing changed.
        const again = await revokeApiKey(store.db, a.key.id, { workspaceId: ws, admin: true });
        assert.deepEqual(again, { key: revoked.key, alreadyRevoked: true });
        await rejectsWith(
          revokeApiKey(store.db, b.key.id, { workspaceId: ws, admin: true }),
          "last_admin_key",
        );
        assert.ok(await findActiveKey(store.db, b.secret));
      });

      it("keeps a workspace's last key, even when revocations race", async () => {
        const ws = (await createWorkspace(store.db, "Last key")).id;
        const keys = await Promise.all(
          ["a", "b", "c", "d"].map((name) => createApiKey(store.db, { workspaceId: ws, name })),
        );
        const results = await Promise.allSettled(
          keys.map(({ key }) => revokeApiKey(store.db, key.id, { workspaceId: ws, admin: false })),
        );
        const refused = results.filter((r) => r.status === "rejected");
        assert.deepEqual(
          refused.map((r) => r.reason.code),
          ["last_workspace_key"],
        );
        const active = await Promise.all(keys.map(({ secret }) => findActiveKey(store.db, secret)));
        assert.equal(active.filter(Boolean).length, 1);
      });

      it("does not revoke another workspace's key", async () => {
        const other = (await createWorkspace(store.db, "Other")).id;
        const { key } = await createApiKey(store.db, { workspaceId: other, name: "x" });
        await rejectsWith(revokeApiKey(store.db, key.id, { workspaceId, admin: true }), "api_key_not_found");
        await rejectsWith(
          revokeApiKey(store.db, "not-a-uuid", { workspaceId, admin: true }),
          "api_key_not_found",
        );
      });
    });

    describe("channel accounts", () => {
      it("seals credentials at rest and reads them back", async () => {
        const account = await createChannelAccount(store.db, box, {
          workspaceId,
          kind: "vk",
          externalId: "sealed",
          name: "Sealed",
          credentials: { tokens: ["vk1.a.secret-token"] },
        });
        const [raw] = await store.db.select().from(channelAccount).where(eq(channelAccount.id, account.id));
        assert.ok(raw?.credentials?.startsWith("v1."));
        assert.ok(!raw?.credentials?.includes("secret-token"));
        assert.deepEqual(readCredentials(box, account), { tokens: ["vk1.a.secret-token"] });
        assert.throws(
          () => readCredentials(new SecretBox(randomBytes(32)), account),
          (error: unknown) => error instanceof AppError && error.code === "secret_key_mismatch",
        );
      });

      it("refuses a second account with the same platform id in a workspace", async () => {
        await newChannel("dup");
        await assert.rejects(newChannel("dup"));
      });

      it("moves a channel's state only from the states given, telling each change once", async () => {
        const account = await newChannel();
        const told: [string, string][] = [];
        const tell = async (_db: unknown, previous: string, channel: { state: string }) => {
          told.push([previous, channel.state]);
        };
        const problem = { code: "vk_token_invalid", params: { token: "…abcd" } };
        const failing = { state: "failing", reason: "token revoked", problem } as const;
        assert.equal(
          await transitionChannelState(store.db, account.id, { ...failing, from: ["connecting"] }, tell),
          true,
        );
        const read = await getChannelAccount(store.db, workspaceId, account.id);
        assert.deepEqual(
          [read?.state, read?.stateReason, read?.settings.problem],
          ["failing", "token revoked", problem],
        );
        const online = { state: "online", reason: null, problem: null } as const;
        // Not from `failing` by its state, nor by another problem's code: nothing moves.
        assert.equal(
          await transitionChannelState(
            store.db,
            account.id,
            { ...online, from: ["connecting"], failingWith: ["vk_callback_server_failed"] },
            tell,
          ),
          false,
        );
        assert.equal(
          await transitionChannelState(
            store.db,
            account.id,
            { ...online, from: [], failingWith: ["vk_token_invalid"] },
            tell,
          ),
          true,
        );
        const back = await getChannelAccount(store.db, workspaceId, account.id);
        assert.deepEqual([back?.state, back?.settings.problem], ["online", undefined]);
        assert.deepEqual(told, [
          ["connecting", "failing"],
          ["failing", "online"],
        ]);
        assert.equal(await getChannelAccount(store.db, workspaceId, "nope"), undefined);
      });
    });

    describe("contacts", () => {
      it("makes one contact per new platform user when callers meet the same users at once", async () => {
        const alone = (await createWorkspace(store.db, "Identity race")).id;
        const calls = await Promise.all(
          [["1", "2", "3"], ["2", "3", "4"], ["3", "1"], ["4"]].map((ids) =>
            contactsForIdentities(store.db, alone, "vk", ids),
          ),
        );
        const contactOf = new Map<string, string>();
        for (const { users } of calls)
          for (const [externalId, user] of users) {
            assert.equal(contactOf.get(externalId) ?? user.contactId, user.contactId, `user ${externalId}`);
            contactOf.set(externalId, user.contactId);
          }
        assert.deepEqual([...contactOf.keys()].sort(), ["1", "2", "3", "4"]);
        // Each new user is announced once, and no contact is left without its identity.
        assert.equal(calls.flatMap((call) => call.created).length, 4);
        const contacts = await listContacts(store.db, alone, {}, { limit: 50 });
        assert.deepEqual(
          contacts.items.map((c) => c.identities.length),
          [1, 1, 1, 1],
        );
      });

      it("creates a contact with identities and refuses an identity owned by another", async () => {
        const created = await createContact(store.db, workspaceId, {
          name: "Анна",
          phone: "+79161234567",
          identities: [{ channelKind: "vk", externalId: "1001" }],
        });
        assert.equal(created.identities.length, 1);
        await rejectsWith(
          createContact(store.db, workspaceId, { identities: [{ channelKind: "vk", externalId: "1001" }] }),
          "contact_identity_taken",
        );
        // The refused contact was rolled back with its transaction.
        const found = await listContacts(
          store.db,
          workspaceId,
          { identity: { channelKind: "vk", externalId: "1001" } },
          { limit: 10 },
        );
        assert.deepEqual(
          found.items.map((c) => c.id),
          [created.id],
        );
      });

      it("adds the same identity to its own contact again without error", async () => {
        const c = await createContact(store.db, workspaceId, {
          identities: [{ channelKind: "telegram", externalId: "77" }],
        });
        const updated = await updateContact(store.db, workspaceId, c.id, {
          addIdentities: [
            { channelKind: "telegram", externalId: "77" },
            { channelKind: "ok", externalId: "5" },
          ],
        });
        assert.deepEqual(updated.identities.map((i) => i.channelKind).sort(), ["ok", "telegram"]);
      });

      it("merges custom fields on update and removes keys set to null", async () => {
        const c = await createContact(store.db, workspaceId, {
          customFields: { city: "Казань", tier: "gold" },
        });
        const updated = await updateContact(store.db, workspaceId, c.id, {
          customFields: { tier: null, source: "vk" },
        });
        assert.deepEqual(updated.customFields, { city: "Казань", source: "vk" });
        assert.equal(updated.name, null);
      });

      it("searches by name, phone digits and exact phone, across pages in a stable order", async () => {
        const ws = (await createWorkspace(store.db, "Search")).id;
        for (let i = 0; i < 5; i++) {
          await createContact(store.db, ws, { name: `Client ${i} 100%_match`, phone: `+7916000000${i}` });
        }
        assert.equal((await listContacts(store.db, ws, { q: "client 3" }, { limit: 10 })).items.length, 1);
        assert.equal((await listContacts(store.db, ws, { q: "0000004" }, { limit: 10 })).items.length, 1);
        assert.equal((await listContacts(store.db, ws, { q: "100%_" }, { limit: 10 })).items.length, 5);
        assert.equal((await listContacts(store.db, ws, { q: "0%x" }, { limit: 10 })).items.length, 0);
        assert.equal(
          (await listContacts(store.db, ws, { phone: "+79160000002" }, { limit: 10 })).items.length,
          1,
        );
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await listContacts(store.db, ws, {}, { cursor, limit: 2 });
          seen.push(...page.items.map((c) => c.id));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        assert.equal(seen.length, 5);
        assert.deepEqual(seen, [...seen].sort().reverse());
      });

      it("merges two contacts, joining their open conversations on one channel", async () => {
        const channel = await newChannel();
        const target = await createContact(store.db, workspaceId, {
          name: "Target",
          identities: [{ channelKind: "vk", externalId: "t1" }],
        });
        const source = await createContact(store.db, workspaceId, {
          phone: "+79990001122",
          customFields: { a: 1, b: 2 },
          identities: [{ channelKind: "vk", externalId: "s1" }],
        });
        await updateContact(store.db, workspaceId, target.id, { customFields: { b: 3 } });
        const kept = await open(channel.id, target.id);
        const joined = await open(channel.id, source.id);
        const elsewhere = await open((await newChannel()).id, source.id);
        await recordMessage(store.db, inbound(workspaceId, channel.id, joined.id, source.id, "m-src"));
        await sleep(5);

        const { contact: merged, joinedConversations } = await mergeContacts(
          store.db,
          workspaceId,
          target.id,
          source.id,
        );
        assert.deepEqual(joinedConversations, [{ id: joined.id, into: kept.id }]);
        assert.equal(merged.name, "Target");
        assert.equal(merged.phone, "+79990001122");
        assert.deepEqual(merged.customFields, { a: 1, b: 3 });
        assert.deepEqual(merged.identities.map((i) => i.externalId).sort(), ["s1", "t1"]);
        assert.equal(await getContact(store.db, workspaceId, source.id), undefined);
        const conversations = await listConversations(
          store.db,
          workspaceId,
          { contactId: target.id },
          { limit: 10 },
        );
        assert.deepEqual(
          conversations.items.map((c) => c.id),
          [elsewhere.id, kept.id],
        );
        // Both changed: one has another client now, the other the joined one's messages.
        for (const changed of conversations.items)
          assert.ok(changed.updatedAt > elsewhere.updatedAt, `${changed.id} is stamped updated`);
        const messages = await listConversationMessages(store.db, kept.id, { limit: 10 });
        assert.deepEqual(
          messages.items.map((m) => m.externalId),
          ["m-src"],
        );
        await rejectsWith(mergeContacts(store.db, workspaceId, target.id, target.id), "contact_merge_self");
        await rejectsWith(mergeContacts(store.db, workspaceId, target.id, randomUuid()), "contact_not_found");
      });
    });

    describe("conversations and messages", () => {
      it("allows one open direct conversation per contact and channel, and one per publication", async () => {
        const channel = await newChannel();
        const c = await createContact(store.db, workspaceId, {});
        const first = await open(channel.id, c.id);
        await assert.rejects(open(channel.id, c.id));
        await store.db.update(conversation).set({ status: "resolved" }).where(eq(conversation.id, first.id));
        await open(channel.id, c.id);
        await open(channel.id, c.id, "comments", "wall-1_2");
        await assert.rejects(open(channel.id, c.id, "comments", "wall-1_2"));
      });

      it("answers a filter on an id that cannot exist with an empty page", async () => {
        const channel = await newChannel();
        const c = await createContact(store.db, workspaceId, {});
        await open(channel.id, c.id);
        const page = { limit: 10 };
        assert.equal(
          (await listConversations(store.db, workspaceId, { contactId: c.id }, page)).items.length,
          1,
        );
        assert.deepEqual(
          (await listConversations(store.db, workspaceId, { contactId: "nope" }, page)).items,
          [],
        );
        assert.deepEqual(
          (await listLeads(store.db, workspaceId, { channelAccountId: "nope" }, page)).items,
          [],
        );
      });

      it("stores a platform message once however often it arrives", async () => {
        const channel = await newChannel();
        const c = await createContact(store.db, workspaceId, {});
        const conv = await open(channel.id, c.id);
        const results = await Promise.all(
          [1, 2, 3].map(() =>
            recordMessage(store.db, inbound(workspaceId, channel.id, conv.id, c.id, "vk-42")),
          ),
        );
        assert.equal(results.filter((r) => r.created).length, 1);
        assert.equal(new Set(results.map((r) => r.message.id)).size, 1);
        const page = await listConversationMessages(store.db, conv.id, { limit: 10 });
        assert.equal(page.items.length, 1);
      });

      it("records a send whose echo was stored first as the hub's, without the echo's copy", async () => {
        const channel = await newChannel();
        const c = await createContact(store.db, workspaceId, {});
        const thread = await open(channel.id, c.id, "comments", "wall-1_1");
        const outbound = (text: string, extra: Partial<Parameters<typeof recordMessage>[1]>) =>
          recordMessage(store.db, {
            workspaceId,
            channelAccountId: channel.id,
            conversationId: thread.id,
            direction: "outbound",
            text,
            ...extra,
          } as Parameters<typeof recordMessage>[1]);
        const { message: ours } = await outbound("Ответ", { authorKind: "api", status: "sending" });
        // Long Poll brought the platform's echo of the reply before the send's bookkeeping.
        const { message: echo } = await outbound("Ответ", {
          authorKind: "platform_admin",
          status: "sent",
          externalId: "wall-1_7",
        });
        await store.db.transaction((tx) =>
          markSent(tx, [
            { row: ours, sent: { externalId: "wall-1_7", link: "https://vk.com/wall-1_1?reply=7" } },
          ]),
        );
        const rows = await store.db.select().from(message).where(eq(message.conversationId, thread.id));
        assert.deepEqual(
          rows.map((row) => [row.id, row.authorKind, row.status, row.externalId]),
          [[ours.id, "api", "sent", "wall-1_7"]],
        );
        assert.notEqual(echo.id, ours.id);
      });

      it("gives a platform id an older row holds to the send the platform gave it to", async () => {
        const channel = await newChannel();
        const c = await createContact(store.db, workspaceId, {});
        const conv = await open(channel.id, c.id);
        const outbound = (extra: Partial<Parameters<typeof recordMessage>[1]>) =>
          recordMessage(store.db, {
            workspaceId,
            channelAccountId: channel.id,
            conversationId: conv.id,
            direction: "outbound",
            authorKind: "api",
            text: "x",
            ...extra,
          } as Parameters<typeof recordMessage>[1]);
        const { message: stale } = await outbound({ status: "sent", externalId: "77" });
        const { message: ours } = await outbound({ status: "sending", sendKey: "key-1" });
        // The echo comes first: it is recognised, but leaves the id to the send's bookkeeping.
        assert.equal(await matchEcho(store.db, channel.id, "key-1", "77"), true);
        const externalIds = async () => {
          const rows = await store.db.select().from(message).where(eq(message.conversationId, conv.id));
          return Object.fromEntries(rows.map((row) => [row.id, row.externalId]));
        };
        assert.deepEqual(await externalIds(), { [stale.id]: "77", [ours.id]: null });
        const marking = [{ row: ours, sent: { externalId: "77" } }];
        await assert.rejects(
          store.db.transaction((tx) => markSent(tx, marking)),
          (error: unknown) => isUniqueViolation(error, "message_external_key"),
        );
        await store.db.transaction((tx) => markSent(tx, marking, { takeOverExternalIds: true }));
        assert.deepEqual(await externalIds(), { [stale.id]: null, [ours.id]: "77" });
      });

      it("records a run of platform messages once each, returning them as a query reads them", async () => {
        const channel = await newChannel();
        const c = await createContact(store.db, workspaceId, {});
        const conv = await open(channel.id, c.id);
        const arrived = (externalId: string, at: number) => ({
          ...inbound(workspaceId, channel.id, conv.id, c.id, externalId),
          id: uuidv7(),
          authorRef: "42",
          attachments: [{ kind: "photo", url: "https://example.com/p.jpg", size: 2048 }],
          sentAt: new Date(Date.UTC(2026, 0, 1, 12, 0, at, 123)),
          replyToMessageId: null,
        });
        await recordMessages(store.db, [arrived("r1", 0)]);
        // A repeat of a stored message and a repeat within the run are skipped.
        const run = [arrived("r1", 1), arrived("r2", 2), arrived("r3", 3), arrived("r2", 4)];
        const stored = await recordMessages(store.db, run);
        assert.deepEqual(
          stored.map((m) => m.externalId),
          ["r2", "r3"],
        );
        const read = await store.db
          .select()
          .from(message)
          .where(
            inArray(
              message.id,
              stored.map((m) => m.id),
            ),
          )
          .orderBy(message.id);
        assert.deepEqual(stored, read);
        const [after] = await store.db.select().from(conversation).where(eq(conversation.id, conv.id));
        assert.equal(after?.lastMessageAt?.getTime(), Date.UTC(2026, 0, 1, 12, 0, 3, 123));
      });

      it("stamps a conversation updated with each message stored in it, a late one too, and not with a repeat", async () => {
        const channel = await newChannel();
        const c = await createContact(store.db, workspaceId, {});
        const conv = await open(channel.id, c.id);
        const arrived = (externalId: string, minute: number) => ({
          ...inbound(workspaceId, channel.id, conv.id, c.id, externalId),
          id: uuidv7(),
          authorRef: "42",
          attachments: [],
          sentAt: new Date(Date.UTC(2026, 0, 1, 12, minute)),
          replyToMessageId: null,
        });
        const read = async () => {
          const [row] = await store.db.select().from(conversation).where(eq(conversation.id, conv.id));
          return row as typeof conv;
        };
        const stamps = [conv.updatedAt];
        const after = async (step: () => Promise<unknown>) => {
          await sleep(5);
          const before = Date.now();
          await step();
          const now = await read();
          stamps.push(now.updatedAt);
          return { now, since: before };
        };

        const first = await after(() => recordMessages(store.db, [arrived("u1", 30)]));
        assert.equal(first.now.lastMessageAt?.getTime(), Date.UTC(2026, 0, 1, 12, 30));
        assert.ok(first.now.updatedAt.getTime() >= first.since, "an intake run stamps it");
        const late = await after(() => recordMessages(store.db, [arrived("u0", 10)]));
        assert.equal(late.now.lastMessageAt?.getTime(), Date.UTC(2026, 0, 1, 12, 30), "the last stays last");
        assert.ok(late.now.updatedAt.getTime() >= late.since, "a late message stamps it too");
        const single = await after(() => recordMessage(store.db, arrived("u2", 40)));
        assert.ok(single.now.updatedAt.getTime() >= single.since, "one message stored alone stamps it");
        const repeat = await after(() => recordMessages(store.db, [arrived("u2", 40)]));
        assert.deepEqual(repeat.now, single.now, "a repeat of a stored message changes nothing");
        assert.equal(new Set(stamps.map((at) => at.getTime())).size, 4);
      });

      it("lists messages newest first by platform time, with cursors that neither skip nor repeat", async () => {
        const channel = await newChannel();
        const c = await createContact(store.db, workspaceId, {});
        const conv = await open(channel.id, c.id);
        const base = Date.UTC(2026, 0, 1);
        // Two messages share a timestamp, and history arrives out of order.
        for (const [i, offset] of [3, 1, 2, 2, 0].entries()) {
          await recordMessage(store.db, {
            ...inbound(workspaceId, channel.id, conv.id, c.id, `e${i}`),
            sentAt: new Date(base + offset * 1000),
          });
        }
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await listConversationMessages(store.db, conv.id, { cursor, limit: 2 });
          seen.push(...page.items.map((m) => `${m.sentAt.getTime() - base}`));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        assert.deepEqual(seen, ["3000", "2000", "2000", "1000", "0"]);
        const [stored] = await store.db.select().from(conversation).where(eq(conversation.id, conv.id));
        assert.equal(stored?.lastMessageAt?.getTime(), base + 3000);
      });

      it("keeps every edit as a numbered version, after the text as first written", async () => {
        const channel = await newChannel();
        const { message } = await recordMessage(
          store.db,
          inbound(workspaceId, channel.id, null, null, "edit-me"),
        );
        await recordEdit(store.db, message.id, { text: "second", source: "platform" });
        await recordEdit(store.db, message.id, { text: "third", source: "hub" });
        const versions = await listVersions(store.db, message.id);
        assert.deepEqual(
          versions.map((v) => [v.version, v.text, v.source]),
          [
            [0, "text edit-me", "platform"],
            [1, "second", "platform"],
            [2, "third", "hub"],
          ],
        );
      });

      it("stores a raw inbound event once per platform event id", async () => {
        const channel = await newChannel();
        const event = {
          channelAccountId: channel.id,
          externalEventId: "ev-1",
          eventType: "message_new",
          payload: { n: 1 },
        };
        const first = await store.db.insert(inboundEvent).values(event).onConflictDoNothing().returning();
        const second = await store.db.insert(inboundEvent).values(event).onConflictDoNothing().returning();
        assert.equal(first.length, 1);
        assert.equal(second.length, 0);
      });
    });

    describe("idempotency records", () => {
      it("claims, replays, refuses another body, and reports a request in progress", async () => {
        const key = `k-${randomBytes(4).toString("hex")}`;
        assert.deepEqual(await claimIdempotencyKey(store.db, workspaceId, key, "h1"), { kind: "first" });
        assert.deepEqual(await claimIdempotencyKey(store.db, workspaceId, key, "h1"), {
          kind: "in_progress",
        });
        await saveIdempotentResponse(store.db, workspaceId, key, 202, '{"id":1}', { "retry-after": "30" });
        assert.deepEqual(await claimIdempotencyKey(store.db, workspaceId, key, "h1"), {
          kind: "replay",
          status: 202,
          body: '{"id":1}',
          headers: { "retry-after": "30" },
        });
        assert.deepEqual(await claimIdempotencyKey(store.db, workspaceId, key, "h2"), { kind: "mismatch" });
      });

      it("lets exactly one of many concurrent first requests claim a key", async () => {
        const key = `race-${randomBytes(4).toString("hex")}`;
        const claims = await Promise.all(
          Array.from({ length: 8 }, () => claimIdempotencyKey(store.db, workspaceId, key, "h")),
        );
        assert.equal(claims.filter((c) => c.kind === "first").length, 1);
      });

      it("takes over a claim abandoned by a dead request, and forgets released and expired ones", async () => {
        const key = `old-${randomBytes(4).toString("hex")}`;
        const past = new Date(Date.now() - 5 * 60_000);
        await claimIdempotencyKey(store.db, workspaceId, key, "h", past);
        assert.deepEqual(await claimIdempotencyKey(store.db, workspaceId, key, "other"), { kind: "first" });
        await releaseIdempotencyKey(store.db, workspaceId, key);
        assert.deepEqual(await claimIdempotencyKey(store.db, workspaceId, key, "third"), { kind: "first" });

        const expired = `exp-${randomBytes(4).toString("hex")}`;
        await claimIdempotencyKey(store.db, workspaceId, expired, "h", new Date(Date.now() - 25 * 3600_000));
        await saveIdempotentResponse(store.db, workspaceId, expired, 200, "{}");
        assert.deepEqual(await claimIdempotencyKey(store.db, workspaceId, expired, "new"), { kind: "first" });
      });
    });
  });
}

function inbound(
  workspaceId: string,
  channelAccountId: string,
  conversationId: string | null,
  contactId: string | null,
  externalId: string,
) {
  return {
    workspaceId,
    channelAccountId,
    conversationId,
    contactId,
    direction: "inbound" as const,
    authorKind: "contact" as const,
    text: `text ${externalId}`,
    externalId,
    status: "received" as const,
  };
}

function randomUuid() {
  return "0193a5b0-0000-7000-8000-000000000000";
}
