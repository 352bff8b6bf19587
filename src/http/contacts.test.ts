// Contacts, conversations and their messages through the HTTP API, with cursor pagination.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { eq, sql } from "drizzle-orm";
import type { ChannelKind } from "../store/repositories/channel-accounts.ts";
import { createChannelAccount } from "../store/repositories/channel-accounts.ts";
import { createConversation } from "../store/repositories/conversations.ts";
import { recordMessage } from "../store/repositories/messages.ts";
import { contact, conversation } from "../store/schema.ts";
import { assertError, assertStatus, unique, uniqueVkUserId } from "../testing/http.ts";
import { createTestHub, type TestHub, type TestResponse } from "../testing/hub.ts";
import { storeKinds } from "../testing/stores.ts";

const ids = (res: TestResponse): string[] => res.body.items.map((item: { id: string }) => item.id);
const newestFirst = (list: string[]) => [...list].sort().reverse();
const cursorOf = (list: string, ...key: string[]) =>
  Buffer.from(JSON.stringify([list, ...key])).toString("base64url");

/** Follows `next_cursor` from `path` (at `cursor`, when given) to the end, returning every page's ids. */
async function allPages(hub: TestHub, path: string, key: string, from?: string): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = from ?? null;
  do {
    const separator = path.includes("?") ? "&" : "?";
    const res: TestResponse = await hub.request(
      "GET",
      `${path}${cursor ? `${separator}cursor=${cursor}` : ""}`,
      { key },
    );
    assertStatus(res, 200);
    pages.push(ids(res));
    cursor = res.body.next_cursor;
    assert.ok(pages.length < 100, "pagination ends");
  } while (cursor);
  return pages;
}

for (const kind of storeKinds) {
  describe(`HTTP contacts and conversations on ${kind.name}`, () => {
    let store: Awaited<ReturnType<typeof kind.open>>;
    let hub: TestHub;

    before(async () => {
      store = await kind.open();
      hub = await createTestHub(store);
    });
    after(() => store.drop());

    /** A new workspace and its key, so that lists hold only what a test put there. */
    async function workspace(): Promise<{ id: string; key: string }> {
      const res = await hub.request("POST", "/v1/workspaces", { body: { name: unique("ws-") } });
      assertStatus(res, 201);
      return { id: res.body.workspace.id, key: res.body.api_key.key };
    }
    const channel = (workspaceId: string, channelKind: ChannelKind = "vk") =>
      createChannelAccount(store.db, hub.box, {
        workspaceId,
        kind: channelKind,
        externalId: unique(),
        name: channelKind,
      });

    /**
     * A workspace whose five conversations (and the contacts behind them) were last changed at
     * known times: 09:00, 09:01 twice, 09:02 and 09:03 (on Telegram, the others on VK).
     */
    async function syncWorkspace() {
      const sync = await workspace();
      const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 9, minute));
      const minutes = [0, 1, 1, 2, 3];
      const vk = (await channel(sync.id, "vk")).id;
      const telegram = (await channel(sync.id, "telegram")).id;
      const contacts: string[] = [];
      const conversations: string[] = [];
      for (const [i, minute] of minutes.entries()) {
        const person = await hub.request("POST", "/v1/contacts", {
          key: sync.key,
          body: { name: `Sync ${i}` },
        });
        const lead = await createConversation(store.db, {
          workspaceId: sync.id,
          channelAccountId: i === 4 ? telegram : vk,
          contactId: person.body.id,
          kind: "lead",
          externalRef: `form-${i}`,
        });
        await store.db
          .update(contact)
          .set({ updatedAt: at(minute) })
          .where(eq(contact.id, person.body.id));
        await store.db
          .update(conversation)
          .set({ updatedAt: at(minute) })
          .where(eq(conversation.id, lead.id));
        contacts.push(person.body.id);
        conversations.push(lead.id);
      }
      type Five = [string, string, string, string, string];
      return { ...sync, at, vk, telegram, contacts: contacts as Five, conversations: conversations as Five };
    }

    describe("contacts", () => {
      let ws: { id: string; key: string };
      before(async () => {
        ws = await workspace();
      });
      const post = (body: unknown, key = ws.key) => hub.request("POST", "/v1/contacts", { body, key });

      it("creates a contact with identities, normalising the phone to E.164", async () => {
        const vkId = uniqueVkUserId();
        const res = await post({
          name: "Ivan Petrov",
          phone: "8 (916) 123-45-67",
          email: "ivan@example.com",
          custom_fields: { city: "Tver", vip: true },
          identities: [
            { channel_kind: "vk", external_id: vkId, display_name: "Ivan P." },
            { channel_kind: "telegram", external_id: " 42 " },
          ],
        });
        assertStatus(res, 201);
        assert.equal(res.body.phone, "+79161234567");
        assert.deepEqual([res.body.name, res.body.email], ["Ivan Petrov", "ivan@example.com"]);
        assert.deepEqual(res.body.custom_fields, { city: "Tver", vip: true });
        const identities = res.body.identities.map((i: Record<string, unknown>) => [
          i.channel_kind,
          i.external_id,
          i.display_name,
        ]);
        assert.deepEqual(
          identities.sort(),
          [
            ["telegram", "42", null],
            ["vk", vkId, "Ivan P."],
          ].sort(),
        );
        const got = await hub.request("GET", `/v1/contacts/${res.body.id}`, { key: ws.key });
        assertStatus(got, 200);
        assert.deepEqual(got.body, res.body);
      });

      it("reads phone numbers in other notations", async () => {
        for (const [input, e164] of [
          ["+7 916 765-43-21", "+79167654321"],
          ["89167654322", "+79167654322"],
          ["+7 (495) 123-45-67", "+74951234567"],
        ]) {
          const res = await post({ phone: input });
          assertStatus(res, 201);
          assert.equal(res.body.phone, e164, input);
        }
      });

      it("refuses an invalid phone with 400 invalid_phone at path phone, creating nothing", async () => {
        const before = await hub.request("GET", "/v1/contacts?limit=200", { key: ws.key });
        const res = await post({ name: "Bad phone", phone: "12345" });
        assertError(res, 400, "invalid_phone", ["phone"]);
        assert.match(res.body.error.message, /12345/);
        assert.match(res.body.error.remedy, /\(RU\)/);
        assert.deepEqual(
          ids(await hub.request("GET", "/v1/contacts?limit=200", { key: ws.key })),
          ids(before),
        );

        const contact = (await post({ name: "Good phone" })).body;
        const patch = await hub.request("PATCH", `/v1/contacts/${contact.id}`, {
          key: ws.key,
          body: { phone: "not a phone" },
        });
        assertError(patch, 400, "invalid_phone", ["phone"]);
        assertError(
          await hub.request("GET", "/v1/contacts?phone=123", { key: ws.key }),
          400,
          "invalid_phone",
          ["query.phone"],
        );
      });

      it("updates fields, merging custom fields and removing those set to null", async () => {
        const created = (
          await post({
            name: "Olga",
            email: "olga@example.com",
            phone: "+79160000001",
            custom_fields: { a: 1, b: "two", c: [3] },
          })
        ).body;
        const res = await hub.request("PATCH", `/v1/contacts/${created.id}`, {
          key: ws.key,
          body: { name: "Olga S.", email: null, custom_fields: { b: null, c: { deep: true }, d: "new" } },
        });
        assertStatus(res, 200);
        assert.equal(res.body.name, "Olga S.");
        assert.equal(res.body.email, null, "null clears a field");
        assert.equal(res.body.phone, "+79160000001", "a field left out is kept");
        assert.deepEqual(res.body.custom_fields, { a: 1, c: { deep: true }, d: "new" });
        assert.equal(res.body.created_at, created.created_at);
        assert.ok(res.body.updated_at >= created.updated_at);

        const added = await hub.request("PATCH", `/v1/contacts/${created.id}`, {
          key: ws.key,
          body: { add_identities: [{ channel_kind: "whatsapp_cloud", external_id: "79160000001" }] },
        });
        assertStatus(added, 200);
        assert.deepEqual(
          added.body.identities.map((i: { channel_kind: string }) => i.channel_kind),
          ["whatsapp_cloud"],
        );
        assert.deepEqual(
          added.body.custom_fields,
          res.body.custom_fields,
          "an update without custom_fields keeps them",
        );
        assert.deepEqual(
          (await hub.request("GET", `/v1/contacts/${created.id}`, { key: ws.key })).body,
          added.body,
        );
      });

      it("refuses a VK identity that is not a VK user id, on create and on update, storing nothing", async () => {
        const refused = await post({
          name: "Short name",
          identities: [
            { channel_kind: "vk", external_id: uniqueVkUserId() },
            { channel_kind: "vk", external_id: "durov" },
          ],
        });
        assertError(refused, 400, "vk_user_id_invalid", ["identities.1.external_id"]);
        assert.match(refused.body.error.message, /"durov" is not a VK user id/);
        const found = await hub.request("GET", "/v1/contacts?q=Short%20name", { key: ws.key });
        assert.deepEqual(found.body.items, []);

        const contact = (await post({ name: "Numeric" })).body;
        for (const id of ["-123", "2000000001", "12.5"]) {
          const res = await hub.request("PATCH", `/v1/contacts/${contact.id}`, {
            key: ws.key,
            body: { name: "Changed", add_identities: [{ channel_kind: "vk", external_id: id }] },
          });
          assertError(res, 400, "vk_user_id_invalid", ["add_identities.0.external_id"]);
        }
        const after = await hub.request("GET", `/v1/contacts/${contact.id}`, { key: ws.key });
        assert.deepEqual([after.body.name, after.body.identities], ["Numeric", []]);
      });

      it("answers 409 contact_identity_taken for an identity of another contact, and rolls back", async () => {
        const externalId = uniqueVkUserId();
        const owner = (
          await post({ name: "Owner", identities: [{ channel_kind: "vk", external_id: externalId }] })
        ).body;
        const before = ids(await hub.request("GET", "/v1/contacts?limit=200", { key: ws.key }));

        const taken = await post({
          name: "Thief",
          identities: [{ channel_kind: "vk", external_id: externalId }],
        });
        assertError(taken, 409, "contact_identity_taken");
        assert.match(taken.body.error.message, new RegExp(`vk:${externalId}.*${owner.id}`));
        assert.deepEqual(
          ids(await hub.request("GET", "/v1/contacts?limit=200", { key: ws.key })),
          before,
          "nothing created",
        );

        const other = (await post({ name: "Other" })).body;
        const patch = await hub.request("PATCH", `/v1/contacts/${other.id}`, {
          key: ws.key,
          body: { name: "Renamed", add_identities: [{ channel_kind: "vk", external_id: externalId }] },
        });
        assertError(patch, 409, "contact_identity_taken");
        assert.equal(
          (await hub.request("GET", `/v1/contacts/${other.id}`, { key: ws.key })).body.name,
          "Other",
          "rolled back",
        );

        // The same identity again on its owner is no conflict; in another workspace it is another person.
        const same = await hub.request("PATCH", `/v1/contacts/${owner.id}`, {
          key: ws.key,
          body: { add_identities: [{ channel_kind: "vk", external_id: externalId }] },
        });
        assertStatus(same, 200);
        assert.equal(same.body.identities.length, 1);
        assertStatus(
          await post({ identities: [{ channel_kind: "vk", external_id: externalId }] }, hub.stranger.key),
          201,
        );
      });

      it("searches by part of the name or e-mail, phone digits, exact phone and identity", async () => {
        const search = await workspace();
        const make = async (body: unknown) => (await post(body, search.key)).body.id as string;
        const maria = await make({ name: "Maria Ivanova", phone: "+79031112233" });
        const mark = await make({ name: "Mark", email: "mark.twain@Example.org" });
        const tg = unique();
        const anon = await make({ identities: [{ channel_kind: "telegram", external_id: tg }] });

        const find = async (query: string) =>
          ids(await hub.request("GET", `/v1/contacts?${query}`, { key: search.key }));
        assert.deepEqual(await find("q=ivanova"), [maria], "name, any case");
        assert.deepEqual(await find("q=mar"), [mark, maria]);
        assert.deepEqual(await find("q=twain%40example"), [mark], "e-mail, any case");
        assert.deepEqual(await find("q=111-22"), [maria], "phone digits");
        assert.deepEqual(await find("q=100%25"), [], "LIKE wildcards are literal");
        assert.deepEqual(
          await find(`phone=${encodeURIComponent("8 903 111 22 33")}`),
          [maria],
          "exact phone, any notation",
        );
        assert.deepEqual(await find("phone=%2B79031112234"), []);
        assert.deepEqual(await find(`channel_kind=telegram&external_id=${tg}`), [anon]);
        assert.deepEqual(await find(`channel_kind=vk&external_id=${tg}`), []);
        assert.deepEqual(await find(""), [anon, mark, maria], "everything, newest first");
        assert.deepEqual(
          ids(await hub.request("GET", `/v1/contacts?q=Maria`, { key: hub.stranger.key })),
          [],
        );
      });

      it("merges a contact: identities and conversations move, the source is deleted", async () => {
        const m = await workspace();
        const vk = await channel(m.id, "vk");
        const tg = await channel(m.id, "telegram");
        const make = async (body: unknown) => (await post(body, m.key)).body;
        const target = await make({
          name: "Target",
          identities: [{ channel_kind: "vk", external_id: uniqueVkUserId() }],
        });
        const source = await make({
          name: "Source",
          email: "source@example.com",
          phone: "+79165550000",
          custom_fields: { from: "source" },
          identities: [{ channel_kind: "telegram", external_id: unique() }],
        });
        const targetVk = await createConversation(store.db, {
          workspaceId: m.id,
          channelAccountId: vk.id,
          contactId: target.id,
          kind: "direct",
        });
        const sourceVk = await createConversation(store.db, {
          workspaceId: m.id,
          channelAccountId: vk.id,
          contactId: source.id,
          kind: "direct",
        });
        const sourceTg = await createConversation(store.db, {
          workspaceId: m.id,
          channelAccountId: tg.id,
          contactId: source.id,
          kind: "direct",
        });
        const message = (conversationId: string, text: string, sentAt: Date) =>
          recordMessage(store.db, {
            workspaceId: m.id,
            conversationId,
            channelAccountId: vk.id,
            contactId: source.id,
            direction: "inbound",
            authorKind: "contact",
            text,
            status: "received",
            sentAt,
          });
        await message(sourceVk.id, "from the source's VK thread", new Date("2026-01-02T10:00:00Z"));

        const res = await hub.request("POST", `/v1/contacts/${target.id}/merge`, {
          key: m.key,
          body: { source_contact_id: source.id },
        });
        assertStatus(res, 200);
        assert.equal(res.body.id, target.id);
        assert.equal(res.body.name, "Target", "the target's own fields win");
        assert.deepEqual(
          [res.body.email, res.body.phone],
          ["source@example.com", "+79165550000"],
          "empty fields are filled",
        );
        assert.deepEqual(res.body.identities.map((i: { channel_kind: string }) => i.channel_kind).sort(), [
          "telegram",
          "vk",
        ]);
        assertError(
          await hub.request("GET", `/v1/contacts/${source.id}`, { key: m.key }),
          404,
          "contact_not_found",
        );

        const conversations = await hub.request("GET", `/v1/conversations?contact_id=${target.id}`, {
          key: m.key,
        });
        // The two open VK threads became one; the Telegram one moved.
        assert.deepEqual(ids(conversations).sort(), [targetVk.id, sourceTg.id].sort());
        assertError(
          await hub.request("GET", `/v1/conversations/${sourceVk.id}`, { key: m.key }),
          404,
          "conversation_not_found",
        );
        const empty = await hub.request("GET", `/v1/conversations?contact_id=${source.id}`, { key: m.key });
        assert.deepEqual(empty.body.items, []);
        const messages = await hub.request("GET", `/v1/conversations/${targetVk.id}/messages`, {
          key: m.key,
        });
        assert.deepEqual(
          messages.body.items.map((x: { text: string; contact_id: string }) => [x.text, x.contact_id]),
          [["from the source's VK thread", target.id]],
        );
        const found = await hub.request(
          "GET",
          `/v1/contacts?channel_kind=telegram&external_id=${source.identities[0].external_id}`,
          { key: m.key },
        );
        assert.deepEqual(ids(found), [target.id]);
        // The event tells a CRM which contact and conversation went where.
        const events = await hub.request("GET", "/v1/events?type=contact.updated", { key: m.key });
        const [event] = events.body.items;
        const shown = await hub.request("GET", `/v1/events/${event.id}`, { key: m.key });
        assert.equal(shown.body.payload.data.contact.id, target.id);
        assert.deepEqual(shown.body.payload.data.merged, {
          contact_id: source.id,
          conversations: [{ id: sourceVk.id, into: targetVk.id }],
        });
      });

      it("refuses to merge a contact into itself or with another workspace's contact", async () => {
        const contact = (await post({ name: "Self" })).body;
        const self = await hub.request("POST", `/v1/contacts/${contact.id}/merge`, {
          key: ws.key,
          body: { source_contact_id: contact.id },
        });
        assertError(self, 400, "contact_merge_self", ["source_contact_id"]);
        const foreign = (await post({ name: "Foreign" }, hub.stranger.key)).body;
        const across = await hub.request("POST", `/v1/contacts/${contact.id}/merge`, {
          key: ws.key,
          body: { source_contact_id: foreign.id },
        });
        assertError(across, 404, "contact_not_found");
        assert.match(across.body.error.message, new RegExp(foreign.id));
        assertStatus(await hub.request("GET", `/v1/contacts/${foreign.id}`, { key: hub.stranger.key }), 200);
        assertStatus(await hub.request("GET", `/v1/contacts/${contact.id}`, { key: ws.key }), 200);
      });
    });

    describe("pagination", () => {
      let ws: { id: string; key: string };
      let created: string[];
      before(async () => {
        ws = await workspace();
        created = [];
        for (let i = 0; i < 5; i++) {
          const res = await hub.request("POST", "/v1/contacts", { key: ws.key, body: { name: `Page ${i}` } });
          created.push(res.body.id);
        }
      });

      it("pages 5 contacts by 2 without duplicates or gaps", async () => {
        const pages = await allPages(hub, "/v1/contacts?limit=2", ws.key);
        assert.deepEqual(
          pages.map((p) => p.length),
          [2, 2, 1],
        );
        assert.deepEqual(pages.flat(), newestFirst(created));
        const exact = await allPages(hub, "/v1/contacts?limit=5", ws.key);
        assert.deepEqual(exact, [newestFirst(created)], "a full last page has no next cursor");
      });

      it("keeps filters across pages", async () => {
        const pages = await allPages(hub, "/v1/contacts?limit=1&q=page", ws.key);
        assert.deepEqual(pages.flat(), newestFirst(created));
      });

      it("refuses invalid cursors and cursors of other lists with 400 invalid_cursor", async () => {
        const workspaces = await hub.request("GET", "/v1/workspaces?limit=1", { key: hub.admin.key });
        const otherList = workspaces.body.next_cursor;
        assert.ok(otherList, "there is more than one workspace");
        for (const cursor of [
          "garbage",
          "",
          otherList,
          cursorOf("contacts"),
          cursorOf("contacts", "not-a-uuid"),
          cursorOf("contacts", created[0] as string, "extra"),
          Buffer.from("[1,2]").toString("base64url"),
        ]) {
          const res = await hub.request("GET", `/v1/contacts?limit=2&cursor=${encodeURIComponent(cursor)}`, {
            key: ws.key,
          });
          if (cursor === "") assertStatus(res, 200);
          else assertError(res, 400, "invalid_cursor", ["query.cursor"]);
        }
        const contacts = await hub.request("GET", "/v1/contacts?limit=2", { key: ws.key });
        const res = await hub.request("GET", `/v1/channels?cursor=${contacts.body.next_cursor}`, {
          key: ws.key,
        });
        assertError(res, 400, "invalid_cursor", ["query.cursor"]);
      });
    });

    describe("contacts by their last change", () => {
      it("lists by the last change, oldest first, with ties by id, pages and updated_since", async () => {
        const sync = await syncWorkspace();
        const [p0, p1, p2, p3, p4] = sync.contacts;
        const list = async (query: string) =>
          ids(await hub.request("GET", `/v1/contacts${query}`, { key: sync.key }));
        const byChange = [p0, ...[p1, p2].sort(), p3, p4];
        assert.deepEqual(await list("?order=updated"), byChange);
        assert.deepEqual(await allPages(hub, "/v1/contacts?order=updated&limit=2", sync.key), [
          byChange.slice(0, 2),
          byChange.slice(2, 4),
          byChange.slice(4),
        ]);
        const since = (minute: number) => `updated_since=${sync.at(minute).toISOString()}`;
        assert.deepEqual(await list(`?order=updated&${since(1)}`), byChange.slice(1));
        assert.deepEqual(await list("?order=updated&updated_since=2026-01-01T09:01:00.001Z"), [p3, p4]);
        assert.deepEqual(await list(`?order=updated&${since(1)}&q=sync%203`), [p3]);
        assert.deepEqual(await list(`?order=updated&${since(1)}&q=sync%200`), []);
        assert.deepEqual(await list(`?${since(2)}`), newestFirst([p3, p4]), "the default order takes it too");
        for (const bad of ["yesterday", "2026-01-01", "2026-01-01T09:01:00"]) {
          assertError(
            await hub.request("GET", `/v1/contacts?order=updated&updated_since=${bad}`, { key: sync.key }),
            400,
            "validation_failed",
            ["query.updated_since"],
          );
        }
      });

      it("moves a contact changed during a sync pass to the end of the same pass", async () => {
        const sync = await syncWorkspace();
        const [p0, p1, p2, p3, p4] = sync.contacts;
        const first = await hub.request("GET", "/v1/contacts?order=updated&limit=2", { key: sync.key });
        assert.deepEqual(ids(first), [p0, ...[p1, p2].sort()].slice(0, 2));
        for (const id of [p3, p0]) {
          assertStatus(
            await hub.request("PATCH", `/v1/contacts/${id}`, {
              key: sync.key,
              body: { email: "new@example.com" },
            }),
            200,
          );
        }
        const rest = await allPages(
          hub,
          "/v1/contacts?order=updated&limit=2",
          sync.key,
          first.body.next_cursor,
        );
        assert.deepEqual(rest.flat(), [[p1, p2].sort()[1], p4, p3, p0]);
      });

      // PGlite's clock is the hub process's own (WebAssembly asks JavaScript for the time).
      const ownClock = { skip: kind.name === "pglite" ? "one clock in embedded mode" : false };
      it(
        "stamps a change with the store's clock, as it stamps a new row, whatever the hub's clock says",
        ownClock,
        async (t) => {
          const sync = await syncWorkspace();
          const [person, client] = sync.contacts;
          const [lead, written] = sync.conversations;
          const storeNow = async () => {
            const [row] = await store.db
              .select({ now: sql<string>`now()::text` })
              .from(sql`(select 1) as one`);
            return new Date(row?.now as string);
          };
          const before = await storeNow();
          t.mock.timers.enable({ apis: ["Date"], now: Date.UTC(2001, 0, 1) });
          const patched = await hub.request("PATCH", `/v1/contacts/${person}`, {
            key: sync.key,
            body: { email: "clock@example.com" },
          });
          const resolved = await hub.request("PATCH", `/v1/conversations/${lead}`, {
            key: sync.key,
            body: { status: "resolved" },
          });
          await recordMessage(store.db, {
            workspaceId: sync.id,
            conversationId: written,
            channelAccountId: sync.vk,
            contactId: client,
            direction: "inbound",
            authorKind: "contact",
            text: "what time is it?",
            status: "received",
            sentAt: new Date(),
          });
          t.mock.timers.reset();
          assertStatus(patched, 200);
          assertStatus(resolved, 200);
          const messaged = await hub.request("GET", `/v1/conversations/${written}`, { key: sync.key });
          for (const stamped of [
            patched.body.updated_at,
            resolved.body.updated_at,
            messaged.body.updated_at,
          ]) {
            assert.ok(new Date(stamped) >= before, `${stamped} is the store's time, not the hub's 2001`);
            assert.ok(new Date(stamped) <= (await storeNow()));
          }
        },
      );

      it("refuses a cursor of another order or list for order=updated, and its cursor for the default order", async () => {
        const sync = await syncWorkspace();
        const cursorOfList = async (path: string) =>
          (await hub.request("GET", path, { key: sync.key })).body.next_cursor as string;
        const updatedCursor = await cursorOfList("/v1/contacts?order=updated&limit=1");
        for (const [order, cursor] of [
          ["updated", await cursorOfList("/v1/contacts?limit=1")],
          ["updated", await cursorOfList("/v1/conversations?order=updated&limit=1")],
          ["updated", cursorOf("contacts:updated", "yesterday", sync.contacts[0])],
          ["created", updatedCursor],
        ]) {
          assertError(
            await hub.request("GET", `/v1/contacts?order=${order}&cursor=${cursor}`, { key: sync.key }),
            400,
            "invalid_cursor",
            ["query.cursor"],
          );
        }
        assertError(
          await hub.request("GET", "/v1/contacts?order=recent", { key: sync.key }),
          400,
          "validation_failed",
          ["query.order"],
        );
      });
    });

    describe("conversations", () => {
      let ws: { id: string; key: string };
      let conv: { aliceVk: string; aliceTg: string; bobVk: string; bobTg: string };
      let vk: string;
      let tg: string;
      let alice: string;
      let bob: string;

      before(async () => {
        ws = await workspace();
        vk = (await channel(ws.id, "vk")).id;
        tg = (await channel(ws.id, "telegram")).id;
        const contact = async (name: string) =>
          (await hub.request("POST", "/v1/contacts", { key: ws.key, body: { name } })).body.id as string;
        alice = await contact("Alice");
        bob = await contact("Bob");
        const make = (
          channelAccountId: string,
          contactId: string,
          kind: "direct" | "comments" | "lead",
          externalRef?: string,
        ) =>
          createConversation(store.db, {
            workspaceId: ws.id,
            channelAccountId,
            contactId,
            kind,
            externalRef,
          });
        conv = {
          aliceVk: (await make(vk, alice, "direct")).id,
          aliceTg: (await make(tg, alice, "comments", "wall-1_2")).id,
          bobVk: (await make(vk, bob, "lead", "form-7")).id,
          bobTg: (await make(tg, bob, "direct")).id,
        };
      });
      const list = async (query = "") =>
        ids(await hub.request("GET", `/v1/conversations${query}`, { key: ws.key }));

      it("gets a conversation", async () => {
        const res = await hub.request("GET", `/v1/conversations/${conv.aliceTg}`, { key: ws.key });
        assertStatus(res, 200);
        assert.deepEqual(
          [
            res.body.channel_id,
            res.body.contact_id,
            res.body.kind,
            res.body.external_ref,
            res.body.status,
            res.body.assignee,
          ],
          [tg, alice, "comments", "wall-1_2", "open", null],
        );
      });

      it("changes status and assignee", async () => {
        const path = `/v1/conversations/${conv.bobTg}`;
        const res = await hub.request("PATCH", path, {
          key: ws.key,
          body: { status: "resolved", assignee: "olga" },
        });
        assertStatus(res, 200);
        assert.deepEqual([res.body.status, res.body.assignee], ["resolved", "olga"]);
        const kept = await hub.request("PATCH", path, { key: ws.key, body: { status: "pending" } });
        assert.deepEqual(
          [kept.body.status, kept.body.assignee],
          ["pending", "olga"],
          "a field left out is kept",
        );
        const unassigned = await hub.request("PATCH", path, { key: ws.key, body: { assignee: null } });
        assert.deepEqual([unassigned.body.status, unassigned.body.assignee], ["pending", null]);
        const resolved = await hub.request("PATCH", `/v1/conversations/${conv.aliceVk}`, {
          key: ws.key,
          body: { status: "resolved", assignee: "ivan" },
        });
        assertStatus(resolved, 200);
        assert.deepEqual((await hub.request("GET", path, { key: ws.key })).body, unassigned.body);
      });

      it("refuses to reopen a resolved direct conversation beside the client's open one, naming it", async () => {
        const own = await workspace(); // the lists of the other tests stay as they are
        const ownVk = (await channel(own.id, "vk")).id;
        const carol = (await hub.request("POST", "/v1/contacts", { key: own.key, body: { name: "Carol" } }))
          .body.id as string;
        const direct = async () =>
          (
            await createConversation(store.db, {
              workspaceId: own.id,
              channelAccountId: ownVk,
              contactId: carol,
              kind: "direct",
            })
          ).id;
        const patch = (id: string, status: string) =>
          hub.request("PATCH", `/v1/conversations/${id}`, { key: own.key, body: { status } });
        const first = await direct();
        assertStatus(await patch(first, "resolved"), 200);
        const second = await direct(); // the client wrote again
        for (const status of ["open", "pending"]) {
          const refused = await patch(first, status);
          assertError(refused, 409, "conversation_already_open");
          assert.ok(refused.body.error.message.includes(second), "names the open conversation");
        }
        const kept = await hub.request("GET", `/v1/conversations/${first}`, { key: own.key });
        assert.equal(kept.body.status, "resolved");
        assertStatus(await patch(second, "resolved"), 200);
        assertStatus(await patch(first, "open"), 200);
      });

      it("lists newest first, filtered by status, kind, channel, contact and assignee", async () => {
        const { aliceVk, aliceTg, bobVk, bobTg } = conv;
        assert.deepEqual(await list(), newestFirst([aliceVk, aliceTg, bobVk, bobTg]));
        assert.deepEqual(await list("?status=open"), newestFirst([aliceTg, bobVk]));
        assert.deepEqual(await list("?status=resolved"), [aliceVk]);
        assert.deepEqual(await list("?status=pending"), [bobTg]);
        assert.deepEqual(await list("?kind=direct"), newestFirst([aliceVk, bobTg]));
        assert.deepEqual(await list("?kind=lead"), [bobVk]);
        assert.deepEqual(await list(`?channel_id=${vk}`), newestFirst([aliceVk, bobVk]));
        assert.deepEqual(await list(`?contact_id=${bob}`), newestFirst([bobVk, bobTg]));
        assert.deepEqual(await list(`?contact_id=${alice}&channel_id=${tg}`), [aliceTg]);
        assert.deepEqual(await list(`?status=open&kind=comments&contact_id=${alice}`), [aliceTg]);
        assert.deepEqual(await list("?assignee=ivan"), [aliceVk]);
        assert.deepEqual(await list("?channel_id=not-a-uuid"), [], "an id that cannot exist matches nothing");
        const pages = await allPages(hub, "/v1/conversations?limit=3", ws.key);
        assert.deepEqual(pages.flat(), await list());
        assert.equal(pages.length, 2);
        assert.deepEqual(
          ids(await hub.request("GET", `/v1/conversations?contact_id=${alice}`, { key: hub.stranger.key })),
          [],
        );
      });

      it("lists by the latest message, as an inbox does, and pages through ties without gaps", async () => {
        const { aliceVk, aliceTg, bobVk, bobTg } = conv;
        const now = Date.now();
        const write = (conversationId: string, channelAccountId: string, contactId: string, hour: number) =>
          recordMessage(store.db, {
            workspaceId: ws.id,
            conversationId,
            channelAccountId,
            contactId,
            direction: "inbound",
            authorKind: "contact",
            text: `at ${hour}`,
            status: "received",
            sentAt: new Date(now + hour * 3_600_000),
          });
        // bobTg and bobVk tie on their latest message; aliceTg has none and counts from its creation.
        await write(aliceVk, vk, alice, 1);
        await write(aliceVk, vk, alice, 3);
        await write(bobTg, tg, bob, 2);
        await write(bobVk, vk, bob, 2);
        const byActivity = [aliceVk, ...newestFirst([bobTg, bobVk]), aliceTg];
        assert.deepEqual(await list("?order=last_message"), byActivity);
        assert.deepEqual(await list(`?order=last_message&contact_id=${bob}`), newestFirst([bobTg, bobVk]));
        const open = byActivity.filter((id) => id === aliceTg || id === bobVk);
        assert.deepEqual(await list("?order=last_message&status=open"), open);
        assert.deepEqual(
          (await allPages(hub, "/v1/conversations?order=last_message&status=open&limit=1", ws.key)).flat(),
          open,
        );
        assert.deepEqual(await list("?order=last_message&assignee=ivan"), [aliceVk]);
        assert.deepEqual(await list("?order=last_message&assignee=ivan&status=resolved"), [aliceVk]);
        assert.deepEqual(await list("?order=last_message&assignee=ivan&status=open"), []);
        assert.deepEqual(await list("?order=created"), await list(), "created is the default order");
        const pages = await allPages(hub, "/v1/conversations?order=last_message&limit=1", ws.key);
        assert.deepEqual(
          pages,
          byActivity.map((id) => [id]),
        );

        assertError(
          await hub.request("GET", "/v1/conversations?order=recent", { key: ws.key }),
          400,
          "validation_failed",
        );
        const createdCursor = (await hub.request("GET", "/v1/conversations?limit=1", { key: ws.key })).body
          .next_cursor;
        for (const cursor of [
          createdCursor,
          cursorOf("conversations:last_message", "not a time", aliceVk),
          cursorOf("conversations:last_message", "1", aliceVk),
        ]) {
          assertError(
            await hub.request("GET", `/v1/conversations?order=last_message&cursor=${cursor}`, {
              key: ws.key,
            }),
            400,
            "invalid_cursor",
          );
        }
      });

      it("lists by the last change, oldest first, for a sync pass: ties by id, pages, updated_since", async () => {
        const sync = await syncWorkspace();
        const [c0, c1, c2, c3, c4] = sync.conversations;
        const list = async (query: string) =>
          ids(await hub.request("GET", `/v1/conversations${query}`, { key: sync.key }));
        const byChange = [c0, ...[c1, c2].sort(), c3, c4];
        assert.deepEqual(await list("?order=updated"), byChange);
        assert.deepEqual(
          await allPages(hub, "/v1/conversations?order=updated&limit=2", sync.key),
          [byChange.slice(0, 2), byChange.slice(2, 4), byChange.slice(4)],
          "the cursor inside a tie of updated_at continues with its higher id",
        );

        assert.deepEqual(
          await list(`?order=updated&updated_since=${sync.at(1).toISOString()}`),
          byChange.slice(1),
        );
        assert.deepEqual(
          await list("?order=updated&updated_since=2026-01-01T12:01:00%2B03:00"),
          byChange.slice(1),
          "an offset names the same instant",
        );
        assert.deepEqual(await list("?order=updated&updated_since=2026-01-01T09:01:00.001Z"), [c3, c4]);
        assert.deepEqual(await list(`?order=updated&updated_since=${sync.at(9).toISOString()}`), []);
        assert.deepEqual(
          await list(`?order=updated&updated_since=${sync.at(1).toISOString()}&channel_id=${sync.telegram}`),
          [c4],
        );
        assert.deepEqual(
          await list(`?updated_since=${sync.at(1).toISOString()}`),
          newestFirst(byChange.slice(1)),
          "the default order takes it too",
        );
        assert.deepEqual(
          await list(`?order=last_message&updated_since=${sync.at(2).toISOString()}`),
          [c4, c3],
          "and the inbox order",
        );

        for (const since of ["yesterday", "2026-01-01", "2026-01-01T09:01:00", "2026-13-01T09:01:00Z"]) {
          assertError(
            await hub.request("GET", `/v1/conversations?order=updated&updated_since=${since}`, {
              key: sync.key,
            }),
            400,
            "validation_failed",
            ["query.updated_since"],
          );
        }
      });

      it("moves a conversation changed during a sync pass to the end of the same pass", async () => {
        const sync = await syncWorkspace();
        const [c0, c1, c2, c3, c4] = sync.conversations;
        const first = await hub.request("GET", "/v1/conversations?order=updated&limit=2", { key: sync.key });
        assert.deepEqual(ids(first), [c0, ...[c1, c2].sort()].slice(0, 2));
        // Meanwhile an operator resolves one already read, and a message arrives in one not read yet.
        assertStatus(
          await hub.request("PATCH", `/v1/conversations/${c0}`, {
            key: sync.key,
            body: { status: "resolved" },
          }),
          200,
        );
        await recordMessage(store.db, {
          workspaceId: sync.id,
          conversationId: c3,
          channelAccountId: sync.vk,
          contactId: sync.contacts[3],
          direction: "inbound",
          authorKind: "contact",
          text: "still there?",
          status: "received",
          sentAt: new Date(),
        });
        const rest = await allPages(
          hub,
          "/v1/conversations?order=updated&limit=2",
          sync.key,
          first.body.next_cursor,
        );
        assert.deepEqual(rest.flat(), [[c1, c2].sort()[1], c4, c0, c3]);
      });

      it("refuses a cursor of another order or list for order=updated, and its cursor elsewhere", async () => {
        const sync = await syncWorkspace();
        const [c0] = sync.conversations;
        const cursorOfOrder = async (path: string) =>
          (await hub.request("GET", path, { key: sync.key })).body.next_cursor as string;
        const updatedCursor = await cursorOfOrder("/v1/conversations?order=updated&limit=1");
        for (const [order, cursor] of [
          ["updated", await cursorOfOrder("/v1/conversations?limit=1")],
          ["updated", await cursorOfOrder("/v1/conversations?order=last_message&limit=1")],
          ["updated", await cursorOfOrder("/v1/contacts?order=updated&limit=1")],
          ["updated", cursorOf("conversations:updated", "not a time", c0)],
          ["updated", cursorOf("conversations:updated", sync.at(0).toISOString())],
          ["last_message", updatedCursor],
          ["created", updatedCursor],
        ]) {
          assertError(
            await hub.request("GET", `/v1/conversations?order=${order}&cursor=${cursor}`, { key: sync.key }),
            400,
            "invalid_cursor",
            ["query.cursor"],
          );
        }
      });

      it("includes each conversation's contact and latest message when asked, as an inbox draws them", async () => {
        const { aliceVk, aliceTg } = conv;
        const communityOnly = await createConversation(store.db, {
          workspaceId: ws.id,
          channelAccountId: vk,
          contactId: null,
          kind: "comments",
          externalRef: "wall-1_9",
        });
        // Two messages at the same moment: the latest is the one the message list shows first.
        const at = new Date(Date.now() + 10 * 3_600_000);
        for (const text of ["same time, first", "same time, second"])
          await recordMessage(store.db, {
            workspaceId: ws.id,
            conversationId: aliceVk,
            channelAccountId: vk,
            contactId: alice,
            direction: "inbound",
            authorKind: "contact",
            text,
            status: "received",
            sentAt: at,
          });

        const res = await hub.request("GET", "/v1/conversations?include=contact,last_message&limit=200", {
          key: ws.key,
        });
        assertStatus(res, 200);
        for (const item of res.body.items) {
          const messages = await hub.request("GET", `/v1/conversations/${item.id}/messages?limit=1`, {
            key: ws.key,
          });
          assert.deepEqual(item.last_message, messages.body.items[0] ?? null, `last message of ${item.id}`);
          const contact = item.contact_id
            ? (await hub.request("GET", `/v1/contacts/${item.contact_id}`, { key: ws.key })).body
            : null;
          assert.deepEqual(item.contact, contact, `contact of ${item.id}`);
        }
        const byId = new Map(res.body.items.map((item: { id: string }) => [item.id, item]));
        const [withMessage, withoutMessage, withoutContact] = [aliceVk, aliceTg, communityOnly.id].map(
          (id) => byId.get(id) as { contact: { name: string } | null; last_message: { text: string } | null },
        );
        assert.equal(withMessage?.last_message?.text, "same time, second");
        assert.equal(withMessage?.contact?.name, "Alice");
        assert.equal(withoutMessage?.last_message, null);
        assert.equal(withoutContact?.contact, null);

        const contactOnly = await hub.request("GET", `/v1/conversations/${aliceVk}?include=contact`, {
          key: ws.key,
        });
        assertStatus(contactOnly, 200);
        assert.equal(contactOnly.body.contact.name, "Alice");
        assert.ok(!("last_message" in contactOnly.body), "only what was asked for");
        const plain = await hub.request("GET", `/v1/conversations/${aliceVk}`, { key: ws.key });
        assert.ok(!("contact" in plain.body) && !("last_message" in plain.body));
        const single = await hub.request("GET", `/v1/conversations/${aliceVk}?include=last_message`, {
          key: ws.key,
        });
        assert.equal(single.body.last_message.text, "same time, second");

        for (const include of ["contact,owner", "", "contact,,last_message", "CONTACT"]) {
          assertError(
            await hub.request("GET", `/v1/conversations?include=${include}`, { key: ws.key }),
            400,
            "validation_failed",
          );
        }
      });
    });

    describe("conversation messages", () => {
      let ws: { id: string; key: string };
      let conversationId: string;
      let otherId: string;
      /** Message ids, newest first. */
      let expected: string[];

      before(async () => {
        ws = await workspace();
        const ch = await channel(ws.id);
        const contact = (await hub.request("POST", "/v1/contacts", { key: ws.key, body: { name: "Talker" } }))
          .body.id;
        const conversation = await createConversation(store.db, {
          workspaceId: ws.id,
          channelAccountId: ch.id,
          contactId: contact,
          kind: "direct",
        });
        const other = await createConversation(store.db, {
          workspaceId: ws.id,
          channelAccountId: ch.id,
          contactId: contact,
          kind: "comments",
          externalRef: "post-1",
        });
        conversationId = conversation.id;
        otherId = other.id;
        const record = (conversation: string, minute: number, direction: "inbound" | "outbound") =>
          recordMessage(store.db, {
            workspaceId: ws.id,
            conversationId: conversation,
            channelAccountId: ch.id,
            contactId: contact,
            direction,
            authorKind: direction === "inbound" ? "contact" : "operator",
            text: `minute ${minute}`,
            status: direction === "inbound" ? "received" : "sent",
            sentAt: new Date(Date.UTC(2026, 0, 1, 12, minute)),
          });
        // Recorded out of order: the list follows the platform's time, not the insertion order.
        const bySentAt: [number, string][] = [];
        for (const minute of [5, 1, 7, 3, 2, 6, 4]) {
          const { message } = await record(conversationId, minute, minute % 2 ? "inbound" : "outbound");
          bySentAt.push([minute, message.id]);
        }
        await record(otherId, 9, "inbound");
        expected = bySentAt.sort((a, b) => b[0] - a[0]).map(([, id]) => id);
      });

      it("lists a conversation's messages, newest first", async () => {
        const res = await hub.request("GET", `/v1/conversations/${conversationId}/messages`, { key: ws.key });
        assertStatus(res, 200);
        assert.deepEqual(ids(res), expected);
        assert.equal(res.body.next_cursor, null);
        const first = res.body.items[0];
        assert.deepEqual(
          [
            first.text,
            first.direction,
            first.author.kind,
            first.status,
            first.sent_at,
            first.conversation_id,
          ],
          ["minute 7", "inbound", "contact", "received", "2026-01-01T12:07:00.000Z", conversationId],
        );
        assert.equal(res.body.items[1].author.kind, "operator");
        const conversation = await hub.request("GET", `/v1/conversations/${conversationId}`, { key: ws.key });
        assert.equal(conversation.body.last_message_at, "2026-01-01T12:07:00.000Z");
      });

      it("pages messages by 3 without duplicates or gaps", async () => {
        const pages = await allPages(hub, `/v1/conversations/${conversationId}/messages?limit=3`, ws.key);
        assert.deepEqual(
          pages.map((p) => p.length),
          [3, 3, 1],
        );
        assert.deepEqual(pages.flat(), expected);
        const single = await allPages(hub, `/v1/conversations/${conversationId}/messages?limit=1`, ws.key);
        assert.deepEqual(single.flat(), expected);
      });

      it("pages messages that share one stored time without gaps", async () => {
        // One transaction: every message gets the same database time (now()), with microseconds on
        // PostgreSQL, while a cursor carries milliseconds.
        const tied = await createConversation(store.db, {
          workspaceId: ws.id,
          channelAccountId: (await channel(ws.id, "ok")).id,
          contactId: (await hub.request("POST", "/v1/contacts", { key: ws.key, body: {} })).body.id,
          kind: "direct",
        });
        const recorded = await store.db.transaction(async (tx) => {
          const list: string[] = [];
          for (let i = 0; i < 5; i++) {
            const { message } = await recordMessage(tx, {
              workspaceId: ws.id,
              conversationId: tied.id,
              direction: "outbound",
              authorKind: "api",
              text: `tied ${i}`,
              status: "queued",
            });
            list.push(message.id);
          }
          return list;
        });
        const pages = await allPages(hub, `/v1/conversations/${tied.id}/messages?limit=2`, ws.key);
        assert.deepEqual(pages.flat(), newestFirst(recorded));
      });

      it("refuses invalid and foreign cursors with 400 invalid_cursor", async () => {
        const path = `/v1/conversations/${conversationId}/messages?limit=2`;
        const contacts = await hub.request("GET", "/v1/contacts?limit=1", { key: ws.key });
        for (const cursor of [
          "%%%",
          contacts.body.next_cursor,
          cursorOf("messages", expected[0] as string),
          cursorOf("messages", "yesterday", expected[0] as string),
          cursorOf("messages", "2026-01-01T12:00:00.000Z", "not-a-uuid"),
        ]) {
          const res = await hub.request("GET", `${path}&cursor=${encodeURIComponent(cursor)}`, {
            key: ws.key,
          });
          assertError(res, 400, "invalid_cursor", ["query.cursor"]);
        }
      });

      it("keeps another workspace away from the messages", async () => {
        const res = await hub.request("GET", `/v1/conversations/${conversationId}/messages`, {
          key: hub.stranger.key,
        });
        assertError(res, 404, "conversation_not_found");
        const other = await hub.request("GET", `/v1/conversations/${otherId}/messages`, { key: ws.key });
        assert.deepEqual(
          other.body.items.map((m: { text: string }) => m.text),
          ["minute 9"],
        );
      });
    });
  });
}
