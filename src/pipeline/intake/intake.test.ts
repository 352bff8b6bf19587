import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, beforeEach, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { and, asc, eq, gt, inArray } from "drizzle-orm";
import pino from "pino";
import type { ChannelAccount } from "../../store/repositories/channel-accounts.ts";
import {
  contact,
  contactConsent,
  contactEvent,
  contactIdentity,
  conversation,
  inboundEvent,
  lead,
  message,
  messageVersion,
  webhookEvent,
} from "../../store/schema.ts";
import { assertError, uniqueVkUserId } from "../../testing/http.ts";
import { createTestHub, type TestHub } from "../../testing/hub.ts";
import { storeKinds } from "../../testing/stores.ts";
import { vkEnvelope, vkMessageMaker } from "../../testing/vk-events.ts";
import { vkTestChannel } from "../../testing/vk-world.ts";
import { IntakeWorker } from "./worker.ts";
import { InboundWriter } from "./writer.ts";

const silent = pino({ level: "silent" });
const secret = "s3cr3t";

for (const kind of storeKinds) {
  describe(`VK intake on ${kind.name}`, () => {
    let store: Awaited<ReturnType<typeof kind.open>>;
    let hub: TestHub;
    let channel: ChannelAccount;
    let groupId: number;
    let worker: IntakeWorker;

    before(async () => {
      store = await kind.open();
      hub = await createTestHub(store);
      worker = new IntakeWorker(store, silent, { leaseMs: 300 });
    });
    after(() => store.drop());

    beforeEach(async () => {
      groupId = 100_000 + Math.floor(Math.random() * 900_000);
      channel = await vkTestChannel(hub, groupId, secret);
    });

    const envelope = (type: string, object: unknown, overrides: Record<string, unknown> = {}) =>
      vkEnvelope(groupId, secret, type, object, overrides);
    const vkMessage = vkMessageMaker(1000);
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      hub.request("POST", `/hooks/vk/${channel.id}`, {
        key: null,
        rawBody: JSON.stringify(body),
        headers: { "content-type": "application/json", ...headers },
      });
    const deliver = async (body: unknown, headers: Record<string, string> = {}) => {
      const res = await post(body, headers);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body, "ok");
      return res;
    };
    const drain = async () => {
      while ((await worker.runOnce()) > 0) {}
    };
    const events = () =>
      store.db
        .select()
        .from(inboundEvent)
        .where(eq(inboundEvent.channelAccountId, channel.id))
        .orderBy(asc(inboundEvent.id));
    const messages = () => store.db.select().from(message).where(eq(message.channelAccountId, channel.id));
    const conversations = () =>
      store.db.select().from(conversation).where(eq(conversation.channelAccountId, channel.id));

    it("answers the confirmation with the channel's code and stores nothing", async () => {
      const res = await post({ type: "confirmation", group_id: groupId, secret });
      assert.equal(res.status, 200);
      assert.equal(res.body, "ab12cd34");
      assert.equal((await events()).length, 0);
    });

    it("refuses a wrong or missing secret with 403 and stores nothing", async () => {
      assertError(
        await post(envelope("message_new", { message: vkMessage() }, { secret: "wrong" })),
        403,
        "webhook_secret_invalid",
      );
      assertError(
        await post(envelope("message_new", { message: vkMessage() }, { secret: undefined })),
        403,
        "webhook_secret_invalid",
      );
      assertError(
        await post({ type: "confirmation", group_id: groupId, secret: "nope" }),
        403,
        "webhook_secret_invalid",
      );
      assert.equal((await events()).length, 0);
    });

    it("refuses bodies that are not VK events, events of another community, and unknown channels", async () => {
      const raw = await hub.request("POST", `/hooks/vk/${channel.id}`, {
        key: null,
        rawBody: "{not json",
        headers: { "content-type": "application/json" },
      });
      assertError(raw, 400, "webhook_payload_invalid");
      assertError(await post({ hello: "world" }), 400, "webhook_payload_invalid");
      assertError(await post(envelope("message_new", {}, { group_id: 1 })), 400, "webhook_payload_invalid");
      assertError(
        await hub.request("POST", "/hooks/vk/0193a5b0-0000-7000-8000-000000000000", {
          key: null,
          body: envelope("message_new", {}),
        }),
        404,
        "channel_not_found",
      );
      assertError(
        await hub.request("POST", `/hooks/telegram/${channel.id}`, { key: null, body: {} }),
        404,
        "channel_kind_unsupported",
      );
      assert.equal((await events()).length, 0);
    });

    it("refuses an oversized body", async () => {
      const small = await createTestHub(store, { bodyLimit: 1024 });
      const res = await small.request("POST", `/hooks/vk/${channel.id}`, {
        key: null,
        body: envelope("message_new", { message: vkMessage({ text: "x".repeat(2000) }) }),
      });
      assertError(res, 413, "body_too_large");
    });

    it("turns a client's message into a contact, a conversation and a message, once per event and per message", async () => {
      const first = envelope("message_new", {
        message: vkMessage({
          text: "Здравствуйте &amp; привет&lt;3<br>вторая строка",
          attachments: [
            {
              type: "photo",
              photo: {
                id: 5,
                owner_id: 7,
                sizes: [
                  { url: "https://vk.example/s.jpg", width: 10 },
                  { url: "https://vk.example/l.jpg", width: 800 },
                ],
              },
            },
          ],
        }),
        client_info: {
          keyboard: true,
          inline_keyboard: true,
          carousel: false,
          button_actions: ["text", "callback"],
          lang_id: 0,
        },
      });
      await deliver(first);
      await deliver(first, { "X-Retry-Counter": "1" });
      // The same message through a second callback server: another event id, the same message.
      await deliver({ ...first, event_id: randomBytes(20).toString("hex") });
      const stored = await events();
      assert.equal(stored.length, 2);
      await drain();

      const outcomes = (await events()).map((e) => e.outcome).sort();
      assert.deepEqual(outcomes, ["applied", "duplicate"]);
      const [only, ...rest] = await messages();
      assert.equal(rest.length, 0);
      assert.equal(only?.text, "Здравствуйте & привет<3\nвторая строка");
      assert.deepEqual(only?.attachments, [
        { kind: "photo", externalId: "photo7_5", url: "https://vk.example/l.jpg" },
      ]);
      assert.equal(only?.direction, "inbound");

      const contacts = await hub.request("GET", "/v1/contacts?channel_kind=vk&external_id=7");
      assert.equal(contacts.body.items.length, 1);
      const threads = await hub.request("GET", `/v1/conversations?channel_id=${channel.id}`);
      assert.equal(threads.body.items.length, 1);
      assert.equal(threads.body.items[0].kind, "direct");
      assert.equal(threads.body.items[0].contact_id, contacts.body.items[0].id);
      const page = await hub.request("GET", `/v1/conversations/${threads.body.items[0].id}/messages`);
      assert.equal(page.body.items[0].text, only?.text);

      const channelNow = await hub.request("GET", `/v1/channels/${channel.id}`);
      assert.ok(channelNow.body.last_event_at, "the channel shows its last event time");
    });

    it("keeps one open conversation per client and reuses it", async () => {
      await deliver(envelope("message_new", { message: vkMessage({ from_id: 8, peer_id: 8 }) }));
      await deliver(envelope("message_new", { message: vkMessage({ from_id: 8, peer_id: 8 }) }));
      await drain();
      assert.equal((await conversations()).length, 1);
      assert.equal((await messages()).length, 2);
    });

    it("moves a conversation's updated_at with each message it gets, as the API shows it", async () => {
      const from = (fields: Record<string, unknown> = {}) =>
        envelope("message_new", { message: vkMessage({ from_id: 9, peer_id: 9, ...fields }) });
      const shown = async () =>
        (await hub.request("GET", `/v1/conversations?channel_id=${channel.id}`)).body.items[0];
      await deliver(from());
      await drain();
      const opened = await shown();
      await sleep(5);
      const since = new Date().toISOString();
      const second = from();
      await deliver(second);
      await drain();
      const later = await shown();
      assert.equal(later.id, opened.id);
      const sentAt = (second.object as { message: { date: number } }).message.date * 1000;
      assert.equal(
        later.last_message_at,
        new Date(sentAt).toISOString(),
        "the platform's time of the message",
      );
      assert.ok(
        later.updated_at >= since,
        `${later.updated_at} is when the hub stored it, not before ${since}`,
      );
    });

    it("records an edit as a new version, even when the edit arrives before its message", async () => {
      const original = vkMessage({ text: "first" });
      await deliver(
        envelope("message_edit", { ...original, text: "second", update_time: original.date + 5 }),
      );
      await drain();
      assert.equal((await events())[0]?.outcome, null, "the edit waits for its message");
      await deliver(envelope("message_new", { message: original }));
      await drain();
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await drain();
      const [stored] = await messages();
      assert.equal(stored?.text, "second");
      const versions = await store.db
        .select()
        .from(messageVersion)
        .where(eq(messageVersion.messageId, stored?.id ?? ""));
      assert.deepEqual(versions.map((v) => [v.version, v.text, v.source]).sort(), [
        [0, "first", "platform"],
        [1, "second", "platform"],
      ]);
    });

    it("applies a comment's deletion that arrives before the comment, and sets aside one whose comment never comes", async () => {
      const photoComment = (id: number) => ({
        id,
        from_id: 10,
        date: 1_700_000_300,
        text: "фото",
        photo_id: 77,
        photo_owner_id: -groupId,
      });
      const deletion = (id: number) => ({
        owner_id: -groupId,
        id,
        user_id: 10,
        deleter_id: 10,
        photo_id: 77,
      });
      await deliver(envelope("photo_comment_delete", deletion(9)));
      await drain();
      assert.equal((await events())[0]?.outcome, null, "the deletion waits for its comment");
      await deliver(envelope("photo_comment_new", photoComment(9)));
      await drain();
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await drain();
      const [deleted] = await messages();
      assert.equal(deleted?.text, "фото");
      assert.ok(deleted?.deletedAt, "deleted");

      // A deletion of a comment written before the channel was connected.
      const impatient = new IntakeWorker(store, silent, { maxAttempts: 1 });
      await deliver(envelope("photo_comment_delete", deletion(10)));
      while ((await impatient.runOnce()) > 0) {}
      const setAside = (await events()).at(-1);
      assert.equal(setAside?.outcome, "unsupported");
      assert.match(String(setAside?.lastError), /photo-\d+_77:c10 is not stored yet/);
    });

    it("records a community admin's reply as outbound and matches the hub's own sends", async () => {
      await deliver(envelope("message_new", { message: vkMessage() }));
      await drain();
      const [thread] = await conversations();
      await store.db.insert(message).values({
        workspaceId: hub.admin.workspaceId,
        channelAccountId: channel.id,
        conversationId: thread?.id,
        direction: "outbound",
        authorKind: "api",
        text: "from the hub",
        status: "sending",
        sendKey: "7:424242",
      });
      await deliver(
        envelope(
          "message_reply",
          vkMessage({ from_id: -groupId, out: 1, text: "from the hub", random_id: 424242 }),
        ),
      );
      await deliver(
        envelope(
          "message_reply",
          vkMessage({ from_id: -groupId, out: 1, text: "typed in VK", admin_author_id: 55, random_id: 0 }),
        ),
      );
      await drain();
      const outbound = (await messages()).filter((m) => m.direction === "outbound");
      assert.equal(outbound.length, 2);
      const ours = outbound.find((m) => m.sendKey === "7:424242");
      assert.ok(ours?.externalId, "the hub's message got VK's id from the echo");
      const admin = outbound.find((m) => m.text === "typed in VK");
      assert.equal(admin?.authorKind, "platform_admin");
      assert.equal(admin?.authorRef, "55");
    });

    it("marks what a community admin wrote in VK as read when the client reads it", async () => {
      await deliver(envelope("message_new", { message: vkMessage({ from_id: 71, peer_id: 71 }) }));
      const admin = (text: string, date: number) =>
        vkMessage({ from_id: -groupId, peer_id: 71, out: 1, text, admin_author_id: 55, random_id: 0, date });
      const first = admin("admin one", 1_800_000_000);
      const second = admin("admin two", 1_800_000_010);
      await deliver(envelope("message_reply", first));
      await deliver(envelope("message_reply", second));
      await deliver(envelope("message_read", { from_id: 71, peer_id: 71, read_message_id: first.id }));
      await drain();
      const byText = new Map((await messages()).map((m) => [m.text, m.status]));
      assert.equal(byText.get("admin one"), "read");
      assert.equal(byText.get("admin two"), "sent");
    });

    it("records consent changes, button presses and membership as contact events", async () => {
      await deliver(envelope("message_deny", { user_id: 9 }));
      await deliver(
        envelope("message_event", {
          user_id: 9,
          peer_id: 9,
          event_id: "abc",
          payload: { cmd: "buy" },
          conversation_message_id: 3,
        }),
      );
      await deliver(envelope("group_join", { user_id: 9, join_type: "join" }));
      await deliver(envelope("group_leave", { user_id: 9, self: 1 }));
      await deliver(envelope("message_allow", { user_id: 9, key: "k" }));
      await drain();
      const kinds = (
        await store.db.select().from(contactEvent).where(eq(contactEvent.channelAccountId, channel.id))
      ).map((e) => e.kind);
      assert.deepEqual(kinds.sort(), [
        "button_pressed",
        "consent_changed",
        "consent_changed",
        "joined_community",
        "left_community",
      ]);
      const consent = await store.db
        .select()
        .from(contactConsent)
        .where(eq(contactConsent.channelAccountId, channel.id));
      assert.deepEqual(
        consent.map((c) => c.state),
        ["allowed"],
      );
    });

    it("changes the contact (updated_at) when its consent changes, so a sync by last change sees it", async () => {
      const userId = uniqueVkUserId();
      const contactOfUser = async () =>
        (await hub.request("GET", `/v1/contacts?channel_kind=vk&external_id=${userId}`)).body.items[0];
      await deliver(envelope("message_allow", { user_id: Number(userId), key: "k" }));
      await drain();
      const longAgo = new Date("2026-01-01T00:00:00.000Z");
      await store.db
        .update(contact)
        .set({ updatedAt: longAgo })
        .where(eq(contact.id, (await contactOfUser()).id));
      await deliver(envelope("message_deny", { user_id: Number(userId) }));
      await drain();
      const denied = await contactOfUser();
      assert.equal(denied.identities[0].consent[0].state, "denied");
      assert.ok(denied.updated_at > longAgo.toISOString(), `updated_at ${denied.updated_at}`);
    });

    it("gathers each publication's comments into one thread with links, edits and deletions", async () => {
      const comment = (id: number, from: number, text: string) => ({
        id,
        from_id: from,
        date: 1_700_000_100 + id,
        text,
        post_id: 45,
        owner_id: -groupId,
      });
      await deliver(envelope("wall_reply_new", comment(1, 10, "Сколько стоит?")));
      await deliver(envelope("wall_reply_new", comment(2, 11, "И доставка?")));
      await deliver(
        envelope("wall_reply_new", { ...comment(3, -groupId, "Ответили в личку"), reply_to_comment: 1 }),
      );
      await drain();
      await deliver(envelope("wall_reply_edit", comment(1, 10, "Сколько стоит доставка?")));
      await deliver(
        envelope("wall_reply_delete", { id: 2, owner_id: -groupId, post_id: 45, deleter_id: 11 }),
      );
      await deliver(
        envelope("photo_comment_new", {
          id: 4,
          from_id: 10,
          date: 1_700_000_200,
          text: "фото",
          photo_id: 77,
          photo_owner_id: -groupId,
        }),
      );
      await deliver(
        envelope("video_comment_new", {
          id: 5,
          from_id: 10,
          date: 1_700_000_200,
          text: "видео",
          video_id: 78,
          video_owner_id: -groupId,
        }),
      );
      await deliver(
        envelope("board_post_new", {
          id: 6,
          from_id: 10,
          date: 1_700_000_200,
          text: "тема",
          topic_id: 79,
          topic_owner_id: -groupId,
        }),
      );
      await deliver(
        envelope("market_comment_new", {
          id: 7,
          from_id: 10,
          date: 1_700_000_200,
          text: "товар",
          item_id: 80,
          market_owner_id: -groupId,
        }),
      );
      await drain();

      const threads = (await conversations()).filter((c) => c.kind === "comments");
      assert.deepEqual(
        threads.map((t) => t.externalRef).sort(),
        [
          `market-${groupId}_80`,
          `photo-${groupId}_77`,
          `topic-${groupId}_79`,
          `video-${groupId}_78`,
          `wall-${groupId}_45`,
        ].sort(),
      );
      const wall = threads.find((t) => t.externalRef === `wall-${groupId}_45`);
      const wallMessages = (await messages()).filter((m) => m.conversationId === wall?.id);
      assert.equal(wallMessages.length, 3);
      const first = wallMessages.find((m) => m.externalId === `wall-${groupId}_45:c1`);
      assert.equal(first?.text, "Сколько стоит доставка?");
      assert.equal(first?.link, `https://vk.com/wall-${groupId}_45?reply=1`);
      assert.ok(wallMessages.find((m) => m.externalId?.endsWith(":c2"))?.deletedAt);
      const reply = wallMessages.find((m) => m.externalId?.endsWith(":c3"));
      assert.equal(reply?.direction, "outbound");
      assert.equal(reply?.authorKind, "platform_admin");
    });

    it("stores a lead with its answers, in a lead conversation, once", async () => {
      const form = {
        lead_id: 501,
        group_id: groupId,
        user_id: 12,
        form_id: 3,
        form_name: "Запись",
        answers: [
          { key: "phone_number", question: "Телефон", answer: "+79161234567" },
          { key: "custom_0", question: "Удобное время", answer: "вечер" },
        ],
      };
      await deliver(envelope("lead_forms_new", form));
      await deliver(envelope("lead_forms_new", form));
      await drain();
      const leads = await store.db.select().from(lead).where(eq(lead.channelAccountId, channel.id));
      assert.equal(leads.length, 1);
      assert.equal(leads[0]?.answers.length, 2);
      const thread = (await conversations()).find((c) => c.id === leads[0]?.conversationId);
      assert.equal(thread?.kind, "lead");
      const [summary] = (await messages()).filter((m) => m.conversationId === thread?.id);
      assert.match(summary?.text ?? "", /Телефон: \+79161234567/);
    });

    it("stores event types it does not handle as unsupported, without failing", async () => {
      await deliver(envelope("message_typing_state", { from_id: 7, to_id: -groupId, state: "typing" }));
      await deliver(envelope("something_new_from_vk", { whatever: true }));
      await deliver(envelope("message_new", { message: vkMessage({ peer_id: 2_000_000_001 }) }));
      await drain();
      const stored = await events();
      assert.deepEqual(
        stored.map((e) => e.outcome),
        ["unsupported", "unsupported", "unsupported"],
      );
      assert.equal((await messages()).length, 0);
    });

    it("takes an event back from a worker that died holding it, and applies it once", async () => {
      await deliver(envelope("message_new", { message: vkMessage() }));
      const { claimInboundEvents } = await import("../../store/repositories/inbound-events.ts");
      // A worker claims the event and dies before finishing it.
      assert.equal((await claimInboundEvents(store.db, 10, 200)).length, 1);
      assert.equal(await worker.runOnce(), 0, "the lease keeps others away");
      await new Promise((resolve) => setTimeout(resolve, 250));
      await drain();
      assert.equal((await messages()).length, 1);
      assert.equal((await events())[0]?.attempts, 2);
    });

    it("lets several workers share the work without applying an event twice", async () => {
      for (let i = 0; i < 30; i++)
        await deliver(
          envelope("message_new", { message: vkMessage({ from_id: 20 + (i % 3), peer_id: 20 + (i % 3) }) }),
        );
      const workers = [1, 2, 3].map(() => new IntakeWorker(store, silent, { batchSize: 4 }));
      await Promise.all(
        workers.map(async (w) => {
          while ((await w.runOnce()) > 0) {}
        }),
      );
      assert.equal((await messages()).length, 30);
      assert.equal((await conversations()).length, 3);
      assert.ok((await events()).every((e) => e.outcome === "applied" && e.attempts === 1));
    });

    it("applies a run of messages together, recording what applying them one by one records", async () => {
      const from = (user: number, fields: Record<string, unknown> = {}) =>
        envelope("message_new", { message: vkMessage({ from_id: user, peer_id: user, ...fields }) });
      await deliver(from(7));
      await drain();
      const known = (await conversations())[0];
      const since = new Date();
      const a = from(61);
      const b = from(7);
      const c = from(61, { text: "before the edit" });
      const d = envelope("message_new", {
        message: vkMessage({ from_id: 62, peer_id: 62 }),
        client_info: { keyboard: false },
      });
      const e = from(62);
      const cMessage = (c.object as { message: Record<string, unknown> }).message;
      for (const event of [a, b, c, d, { ...b, event_id: randomBytes(20).toString("hex") }])
        await deliver(event);
      // Any other event ends the run: the edit must see the message before it.
      await deliver(
        envelope("message_edit", { ...cMessage, text: "after the edit", update_time: 1_700_000_500 }),
      );
      await deliver(e);
      assert.equal(await worker.runOnce(), 7, "one batch");

      assert.deepEqual(
        (await events()).slice(1).map((event) => event.outcome),
        ["applied", "applied", "applied", "applied", "duplicate", "applied", "applied"],
      );
      const stored = await messages();
      assert.equal(stored.length, 6);
      const threads = await conversations();
      assert.equal(threads.length, 3, "one conversation per client");
      const threadOf = (user: string) =>
        threads.find((t) => stored.some((m) => m.authorRef === user && m.conversationId === t.id));
      assert.equal(threadOf("7")?.id, known?.id, "a known client's open conversation is reused");
      const edited = stored.find((m) => m.externalId === String(cMessage.id));
      assert.equal(edited?.text, "after the edit");
      const identities = await store.db
        .select()
        .from(contactIdentity)
        .where(inArray(contactIdentity.externalId, ["61", "62"]));
      assert.equal(identities.length, 2, "one contact per new client");
      assert.deepEqual(identities.find((i) => i.externalId === "62")?.capabilities, { keyboard: false });

      const recorded = await store.db
        .select()
        .from(webhookEvent)
        .where(and(eq(webhookEvent.workspaceId, hub.admin.workspaceId), gt(webhookEvent.createdAt, since)))
        .orderBy(asc(webhookEvent.id));
      const about = (event: (typeof recorded)[number]) => {
        const data = event.payload as { data: Record<string, { id: string; text?: string }> };
        return `${event.type} ${data.data.message?.text ?? data.data.conversation?.id ?? data.data.contact?.id}`;
      };
      const text = (event: Record<string, unknown>) =>
        (event.object as { message: { text: string } }).message.text;
      const conv = (user: string) => threadOf(user)?.id;
      const contactOf = (user: string) => identities.find((i) => i.externalId === user)?.contactId;
      assert.deepEqual(recorded.map(about), [
        `contact.created ${contactOf("61")}`,
        `conversation.created ${conv("61")}`,
        `message.received ${text(a)}`,
        `message.received ${text(b)}`,
        `message.received ${text(c)}`,
        `contact.created ${contactOf("62")}`,
        `conversation.created ${conv("62")}`,
        `message.received ${text(d)}`,
        "message.edited after the edit",
        `message.received ${text(e)}`,
      ]);
    });

    it("sets aside a message that cannot be applied without holding up the others of its run", async () => {
      const strict = new IntakeWorker(store, silent, { maxAttempts: 1 });
      await deliver(envelope("message_new", { message: vkMessage({ from_id: 31, peer_id: 31 }) }));
      await deliver(
        envelope("message_new", { message: vkMessage({ from_id: 32, peer_id: 32, date: 1e20 }) }),
      );
      await deliver(envelope("message_new", { message: vkMessage({ from_id: 33, peer_id: 33 }) }));
      while ((await strict.runOnce()) > 0) {}
      const stored = await events();
      assert.deepEqual(
        stored.map((event) => event.outcome),
        ["applied", "failed", "applied"],
      );
      assert.match(stored[1]?.lastError ?? "", /Invalid time value/);
      assert.deepEqual((await messages()).map((m) => m.authorRef).sort(), ["31", "33"]);
    });

    it("stores and applies an event holding U+0000, without it", async () => {
      // The second is a backslash and the text "u0000", which stays.
      const text = "nul\u0000here, \\u0000 there";
      await deliver(envelope("message_new", { message: vkMessage({ text }) }, { event_id: "e\u00001" }));
      await drain();
      assert.equal((await events())[0]?.externalEventId, "e1");
      assert.equal((await messages())[0]?.text, "nulhere, \\u0000 there");
    });

    it("stores and applies an event holding half an emoji, with U+FFFD in its place", async () => {
      // Cut after the first half of 😀, as a truncated text would be.
      const cut = vkMessage({ text: "улыбка \ud83d" });
      await deliver(envelope("message_new", { message: cut }));
      // The whole emoji, escaped as some JSON writers do, stays whole.
      const whole = JSON.stringify(envelope("message_new", { message: vkMessage({ text: "улыбка 😀" }) }));
      const escaped = await hub.request("POST", `/hooks/vk/${channel.id}`, {
        key: null,
        rawBody: whole.replace("😀", "\\ud83d\\ude00"),
        headers: { "content-type": "application/json" },
      });
      assert.equal(escaped.status, 200);
      await drain();
      assert.deepEqual((await messages()).map((m) => m.text).sort(), ["улыбка 😀", "улыбка \ufffd"]);
    });

    it("writes an event the store refuses alone, so the others written with it are kept", async () => {
      const writer = new InboundWriter(store);
      const event = (channelAccountId: string) => ({
        channelAccountId,
        externalEventId: randomBytes(8).toString("hex"),
        eventType: "message_new",
        payloadJson: "{}",
        retryCounter: null,
      });
      const results = await Promise.allSettled([
        writer.write(event(channel.id)),
        writer.write(event("0193a5b0-0000-7000-8000-000000000000")),
        writer.write(event(channel.id)),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ["fulfilled", "rejected", "fulfilled"],
      );
      assert.equal((await events()).length, 2);
    });

    it("acknowledges a burst of concurrent events, storing each once", async () => {
      const burst = Array.from({ length: 80 }, () => envelope("message_new", { message: vkMessage() }));
      // Twenty of them delivered twice at the same moment, as two callback servers would.
      const deliveries = [...burst, ...burst.slice(0, 20)];
      const answers = await Promise.all(deliveries.map((event) => post(event)));
      assert.ok(answers.every((res) => res.status === 200 && res.body === "ok"));
      assert.equal((await events()).length, 80);
      await drain();
      assert.equal((await messages()).length, 80);
    });

    it("lets other work run between the batches of a backlog", async () => {
      for (let i = 0; i < 30; i++) await deliver(envelope("message_new", { message: vkMessage() }));
      const running = new IntakeWorker(store, silent, { batchSize: 5, pollMs: 5_000 });
      const handled: number[] = [];
      const runOnce = running.runOnce.bind(running);
      running.runOnce = async () => {
        const count = await runOnce();
        handled.push(count);
        return count;
      };
      // PGlite answers in microtasks: without a turn between batches, this timer (like an HTTP
      // request) would wait for the whole backlog.
      const handledWhenTimerRan = new Promise<number>((resolve) =>
        setTimeout(() => resolve(handled.reduce((sum, count) => sum + count, 0)), 0),
      );
      await running.start();
      try {
        assert.ok((await handledWhenTimerRan) < 30, "the timer ran before the backlog was done");
        const deadline = Date.now() + 5_000;
        while ((await messages()).length < 30 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        assert.equal((await messages()).length, 30);
      } finally {
        await running.stop();
      }
    });

    it("lets other work run between the transactions of one batch", async () => {
      // Other events than client messages are applied one transaction each.
      for (let i = 0; i < 20; i++)
        await deliver(envelope("group_join", { user_id: 500 + i, join_type: "join" }));
      const joinsBefore = async () =>
        (await store.db.select().from(contactEvent).where(eq(contactEvent.channelAccountId, channel.id)))
          .length;
      let appliedWhenTimerRan: Promise<number> | undefined;
      setTimeout(() => {
        appliedWhenTimerRan = joinsBefore();
      }, 0);
      assert.equal(await worker.runOnce(), 20);
      assert.ok(appliedWhenTimerRan, "the timer ran while the batch was applied");
      assert.ok((await appliedWhenTimerRan) < 20);
      assert.equal(await joinsBefore(), 20);
    });

    it("lets other work run while a failed run of messages is applied one by one", async () => {
      const strict = new IntakeWorker(store, silent, { maxAttempts: 1 });
      // The run fails as a whole on its first message; the other 19 are then applied alone.
      await deliver(
        envelope("message_new", { message: vkMessage({ from_id: 40, peer_id: 40, date: 1e20 }) }),
      );
      for (let i = 1; i < 20; i++)
        await deliver(envelope("message_new", { message: vkMessage({ from_id: 40 + i, peer_id: 40 + i }) }));
      let appliedWhenTimerRan: Promise<number> | undefined;
      setTimeout(() => {
        appliedWhenTimerRan = messages().then((rows) => rows.length);
      }, 0);
      assert.equal(await strict.runOnce(), 20);
      assert.ok(appliedWhenTimerRan, "the timer ran while the run was applied");
      assert.ok((await appliedWhenTimerRan) < 19);
      assert.equal((await messages()).length, 19);
    });

    it("processes stored events as they arrive when running", async () => {
      const running = new IntakeWorker(store, silent, { pollMs: 5_000 });
      await running.start();
      try {
        await deliver(envelope("message_new", { message: vkMessage() }));
        const deadline = Date.now() + 3_000;
        while ((await messages()).length === 0 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        assert.equal((await messages()).length, 1, "woken by the notification, well before the 5 s poll");
      } finally {
        await running.stop();
      }
    });
  });
}
