// Which events the hub records, and that each carries the object as the API shows it: intake of
// VK webhooks (through the real callback route and intake worker), and changes made through the API.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { and, asc, eq, gt } from "drizzle-orm";
import pino from "pino";
import { handleVkTokenInvalid } from "../../channels/vk/tokens.ts";
import { AppError } from "../../errors/app-error.ts";
import { eventSchemas } from "../../http/resources/webhooks.ts";
import {
  type ChannelAccount,
  secretFingerprint,
  transitionChannelState,
} from "../../store/repositories/channel-accounts.ts";
import { recordMessage } from "../../store/repositories/messages.ts";
import { message, webhookEvent } from "../../store/schema.ts";
import { assertStatus } from "../../testing/http.ts";
import { createTestHub, type TestHub } from "../../testing/hub.ts";
import { storeKinds } from "../../testing/stores.ts";
import { vkEnvelope, vkMessageMaker } from "../../testing/vk-events.ts";
import { vkTestChannel } from "../../testing/vk-world.ts";
import { IntakeWorker } from "../intake/worker.ts";
import { type EventType, recordChannelStatus } from "./events.ts";

const secret = "s3cr3t";

interface Recorded {
  type: string;
  payload: { id: string; type: string; workspace_id: string; data: Record<string, Record<string, unknown>> };
}

for (const kind of storeKinds) {
  describe(`Events recorded on ${kind.name}`, () => {
    let store: Awaited<ReturnType<typeof kind.open>>;
    let hub: TestHub;
    let worker: IntakeWorker;
    let channel: ChannelAccount;
    let groupId: number;
    /** Events before this id were recorded by earlier tests. */
    let mark = "00000000-0000-0000-0000-000000000000";

    before(async () => {
      store = await kind.open();
      hub = await createTestHub(store);
      worker = new IntakeWorker(store, pino({ level: "silent" }), { leaseMs: 300 });
    });
    after(() => store.drop());

    beforeEach(async () => {
      groupId = 100_000 + Math.floor(Math.random() * 900_000);
      channel = await vkTestChannel(hub, groupId, secret);
      mark = await newest();
    });

    async function newest(): Promise<string> {
      const rows = await store.db.select({ id: webhookEvent.id }).from(webhookEvent);
      return (
        rows
          .map((r) => r.id)
          .sort()
          .at(-1) ?? mark
      );
    }

    /** The events recorded since the test began, oldest first. */
    async function recorded(): Promise<Recorded[]> {
      const rows = await store.db
        .select()
        .from(webhookEvent)
        .where(and(eq(webhookEvent.workspaceId, hub.admin.workspaceId), gt(webhookEvent.id, mark)))
        .orderBy(asc(webhookEvent.id));
      // Each body matches the JSON schema the OpenAPI document publishes for its type.
      for (const row of rows) {
        const parsed = eventSchemas[row.type as EventType].safeParse(row.payload);
        assert.ok(parsed.success, `${row.type}: ${parsed.error?.message}`);
      }
      return rows.map((row) => ({ type: row.type, payload: row.payload as Recorded["payload"] }));
    }

    const deliver = async (type: string, object: unknown) => {
      const body = vkEnvelope(groupId, secret, type, object);
      const res = await hub.request("POST", `/hooks/vk/${channel.id}`, {
        key: null,
        rawBody: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      });
      assert.equal(res.body, "ok");
      while ((await worker.runOnce()) > 0) {}
    };
    const vkMessage = vkMessageMaker(5000);

    /** Every field of the event's object equals what the API answers for it. */
    async function assertSameAsApi(object: Record<string, unknown>, path: string) {
      const res = await hub.request("GET", path);
      assertStatus(res, 200);
      for (const [field, value] of Object.entries(object)) assert.deepEqual(value, res.body[field], field);
    }

    it("records a new client, their conversation and message, and names the hub's message a reply quotes", async () => {
      await deliver("message_new", { message: vkMessage() });
      const first = await recorded();
      assert.deepEqual(
        first.map((e) => e.type),
        ["contact.created", "conversation.created", "message.received"],
      );
      const received = first[2]?.payload;
      assert.ok(received);
      assert.equal(received.workspace_id, hub.admin.workspaceId);
      assert.equal(received.data.in_reply_to_message_id, null);
      const conversationId = received.data.message?.conversation_id as string;
      await assertSameAsApi(
        received.data.message as Record<string, unknown>,
        `/v1/messages/${received.data.message?.id}`,
      );
      await assertSameAsApi(
        first[0]?.payload.data.contact as Record<string, unknown>,
        `/v1/contacts/${received.data.message?.contact_id}`,
      );

      // The hub sent a message (the send pipeline records its own events); the client quotes it.
      const { message: sent } = await recordMessage(store.db, {
        workspaceId: hub.admin.workspaceId,
        channelAccountId: channel.id,
        conversationId,
        contactId: received.data.message?.contact_id as string,
        direction: "outbound",
        authorKind: "api",
        text: "Your order is ready",
        externalId: "9001",
        status: "sent",
      });
      mark = await newest();
      await deliver("message_new", {
        message: vkMessage({
          reply_message: { id: 9001, from_id: -groupId, peer_id: 7, text: "Your order is ready" },
        }),
      });
      const reply = await recorded();
      assert.deepEqual(
        reply.map((e) => e.type),
        ["message.received"],
        "the same client and conversation: no new contact or conversation",
      );
      assert.equal(reply[0]?.payload.data.in_reply_to_message_id, sent.id);
      assert.equal(reply[0]?.payload.data.message?.reply_to_message_id, sent.id);

      // The same message delivered again changes nothing and records nothing.
      mark = await newest();
      const [stored] = await store.db
        .select()
        .from(message)
        .where(eq(message.id, reply[0]?.payload.data.message?.id as string));
      await deliver("message_new", {
        message: vkMessage({ id: Number(stored?.externalId), conversation_message_id: 999 }),
      });
      assert.deepEqual(await recorded(), []);
    });

    it("records edits, consent, the community's own messages and leads", async () => {
      const original = vkMessage();
      await deliver("message_new", { message: original });
      mark = await newest();
      await deliver("message_edit", { ...original, text: "edited", update_time: original.date + 5 });
      await deliver("message_deny", { user_id: 7 });
      await deliver("message_reply", {
        ...vkMessage({ from_id: -groupId, out: 1, admin_author_id: 3 }),
        random_id: 0,
      });
      await deliver("lead_forms_new", {
        lead_id: 77,
        group_id: groupId,
        user_id: 7,
        form_id: 3,
        form_name: "Запись",
        answers: [{ key: "phone_number", question: "Телефон", answer: "+79161234567" }],
      });
      const events = await recorded();
      assert.deepEqual(
        events.map((e) => e.type),
        [
          "message.edited",
          "contact.consent_changed",
          "message.sent",
          "conversation.created",
          "lead.received",
          "message.received",
        ],
      );
      assert.equal(events[0]?.payload.data.message?.text, "edited");
      assert.deepEqual(
        [events[1]?.payload.data.consent, events[1]?.payload.data.channel_id],
        ["denied", channel.id],
      );
      assert.deepEqual(events[2]?.payload.data.message?.author, { kind: "platform_admin", ref: "3" });
      const lead = events[4]?.payload.data.lead as Record<string, unknown>;
      assert.equal(lead.conversation_id, events[3]?.payload.data.conversation?.id);
      assert.deepEqual(lead.answers, [{ key: "phone_number", question: "Телефон", answer: "+79161234567" }]);
    });

    it("records comments as one thread per publication, with edits, deletions and restorations", async () => {
      const comment = (id: number, from: number, text: string) => ({
        id,
        from_id: from,
        date: 1_700_000_100 + id,
        text,
        post_id: 45,
        owner_id: -groupId,
      });
      await deliver("wall_reply_new", comment(1, 10, "Сколько стоит?"));
      await deliver("wall_reply_new", comment(2, 11, "И доставка?"));
      await deliver("wall_reply_edit", comment(1, 10, "Сколько стоит доставка?"));
      await deliver("wall_reply_delete", { id: 2, owner_id: -groupId, post_id: 45, deleter_id: 11 });
      await deliver("wall_reply_restore", comment(2, 11, "И доставка?"));
      const events = await recorded();
      assert.deepEqual(
        events.map((e) => e.type),
        [
          "contact.created",
          "conversation.created",
          "comment.received",
          "contact.created",
          "comment.received",
          "message.edited",
          "message.deleted",
          "message.restored",
        ],
      );
      const thread = events[1]?.payload.data.conversation?.id;
      assert.equal(events[2]?.payload.data.conversation?.id, thread);
      assert.equal(events[4]?.payload.data.message?.conversation_id, thread);
      assert.ok(events[6]?.payload.data.message?.deleted_at);
      assert.equal(events[7]?.payload.data.message?.deleted_at, null);
    });

    it("records changes made through the API", async () => {
      const created = await hub.request("POST", "/v1/contacts", { body: { name: "Olga" } });
      assertStatus(created, 201);
      assertStatus(
        await hub.request("PATCH", `/v1/contacts/${created.body.id}`, { body: { email: "o@example.com" } }),
        200,
      );
      assertStatus(await hub.request("POST", `/v1/channels/${channel.id}/disable`), 200);
      assertStatus(await hub.request("POST", `/v1/channels/${channel.id}/disable`), 200);
      const events = await recorded();
      assert.deepEqual(
        events.map((e) => e.type),
        ["contact.created", "contact.updated", "channel.status_changed"],
        "disabling twice changes the state once",
      );
      assert.equal(events[1]?.payload.data.contact?.email, "o@example.com");
      assert.deepEqual(
        [events[2]?.payload.data.channel?.state, events[2]?.payload.data.previous_state],
        ["disabled", "connecting"],
      );
    });

    it("records the channel failing when VK refuses its last token", async () => {
      const onlyToken = { index: 0, fingerprint: secretFingerprint("vk1.a.token") };
      const refusal = new AppError("vk_auth_failed", { vkCode: 5, vkMessage: "invalid access_token" });
      const deps = { store, box: hub.box, onStateChanged: recordChannelStatus };
      await handleVkTokenInvalid(deps, channel.id, onlyToken, refusal);
      await handleVkTokenInvalid(deps, channel.id, onlyToken, refusal);
      const events = await recorded();
      assert.deepEqual(
        events.map((e) => [e.type, e.payload.data.channel?.state, e.payload.data.previous_state]),
        [["channel.status_changed", "failing", "connecting"]],
        "reported once",
      );
    });

    it("names the dead tokens as the cause of a channel that was failing for another reason", async () => {
      await transitionChannelState(store.db, channel.id, {
        state: "failing",
        reason: "Long Poll keeps failing",
        problem: { code: "vk_long_poll_failing", params: { reason: "timeout" } },
        from: ["connecting"],
      });
      const onlyToken = { index: 0, fingerprint: secretFingerprint("vk1.a.token") };
      const refusal = new AppError("vk_group_auth_failed", { vkCode: 27, vkMessage: "group auth failed" });
      await handleVkTokenInvalid(
        { store, box: hub.box, onStateChanged: recordChannelStatus },
        channel.id,
        onlyToken,
        refusal,
      );
      const shown = await hub.request("GET", `/v1/channels/${channel.id}`);
      assert.deepEqual([shown.body.state, shown.body.state_code], ["failing", "vk_group_auth_failed"]);
      assert.deepEqual(await recorded(), [], "still failing: no state change to tell");
    });
  });
}
