// A message rendered from a template, on routes of different channel kinds: each route sends the
// text and keyboard of the template's body for its own kind, a request's own keyboard goes on
// every route, a route whose kind cannot show the keyboard is left out, and the API shows the
// message as its route in use sends it. VK runs on its emulator; the other kinds are recording
// platforms behind the same adapter port.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { eq, sql } from "drizzle-orm";
import pino from "pino";
import { startVkEmulator, type VkEmulator } from "../../../emulators/vk/server.ts";
import type { OutboundAdapter, OutboundCapabilities, OutboundMessage } from "../../channels/adapter.ts";
import { VkClients } from "../../channels/vk/channel.ts";
import { createVkOutbound } from "../../channels/vk/outbound.ts";
import { AppError } from "../../errors/app-error.ts";
import { fetchMedia } from "../../media/fetch.ts";
import { createChannelAccount } from "../../store/repositories/channel-accounts.ts";
import { message } from "../../store/schema.ts";
import { assertStatus, unique } from "../../testing/http.ts";
import { createTestHub, type TestHub } from "../../testing/hub.ts";
import { storeKinds } from "../../testing/stores.ts";
import { waitFor } from "../../testing/vk-hub.ts";
import { type VkWorld, vkWorld } from "../../testing/vk-world.ts";
import { Dispatcher } from "./dispatcher.ts";
import { SendService } from "./service.ts";

const silent = pino({ level: process.env.SWITCHBOARD_TEST_LOG ?? "silent" });

/**
 * A platform that keeps every message it is sent (or refuses each with `refuse`), showing the
 * keyboards `keyboards` allows.
 */
function recordingPlatform(keyboards: OutboundCapabilities["keyboards"]) {
  const platform = { sent: [] as OutboundMessage[], refuse: undefined as AppError | undefined };
  const unused = (): never => {
    throw new Error("these tests only send");
  };
  const adapter: OutboundAdapter = {
    capabilities: () => ({
      textLimit: 4096,
      attachmentKinds: [],
      maxAttachments: 0,
      keyboards,
      edit: false,
      delete: false,
      commentReplies: false,
      buttonAnswers: false,
    }),
    sendLimits: () => ({
      perSecond: 1000,
      notificationsPerSecond: 1000,
      perRecipientPerDay: 0,
      minIntervalMs: 0,
      jitterMs: 0,
    }),
    isFinalForRoute: () => false,
    splitText: (_channel, text) => [text],
    checkKeyboard: () => undefined,
    checkCommentReply: unused,
    checkUserId: () => undefined,
    sendKey: () => null,
    upload: unused,
    async send(_channel, message) {
      if (platform.refuse) throw platform.refuse;
      platform.sent.push(message);
      return { externalId: message.messageId };
    },
    edit: unused,
    delete: unused,
    replyToComment: unused,
    answerButton: unused,
  };
  return Object.assign(platform, { adapter });
}

const inlineKeyboard = (label: string) => ({
  inline: true,
  rows: [[{ type: "callback", label, payload: { q: label } }]],
});

/** A keyboard as the API shows it, and as the platform-neutral model has it. */
const shown = (label: string) => ({ ...inlineKeyboard(label), one_time: false });
const neutral = (label: string) => ({ ...inlineKeyboard(label), oneTime: false });

for (const kind of storeKinds) {
  describe(`Template bodies on fallback routes of other kinds on ${kind.name}`, () => {
    let store: Awaited<ReturnType<typeof kind.open>>;
    let vk: VkEmulator;
    let hub: TestHub;
    let clients: VkClients;
    // OK shows inline keyboards; e-mail shows none.
    const ok = recordingPlatform({ inline: true, standard: false });
    const email = recordingPlatform({ inline: false, standard: false });

    before(async () => {
      store = await kind.open();
      vk = await startVkEmulator({ rateLimit: { perSecond: 10_000 } });
      hub = await createTestHub(
        store,
        {},
        {
          sender: ({ db, box, egress }) => {
            clients = new VkClients(box);
            return new SendService(
              db,
              { vk: createVkOutbound(clients), ok: ok.adapter, email: email.adapter },
              { fetchMedia: (url) => fetchMedia(url, { egress }) },
            );
          },
        },
      );
    });
    after(async () => {
      clients.close();
      await vk.close();
      await store.drop();
    });

    /** A VK community, an OK group and a mailbox, and a client on all three. */
    async function world() {
      const community = await vkWorld(hub, vk, { settings: { apiLimit: 10_000 } });
      const channel = (channelKind: "ok" | "email") =>
        createChannelAccount(store.db, hub.box, {
          workspaceId: hub.admin.workspaceId,
          kind: channelKind,
          externalId: unique(),
          name: channelKind,
        });
      const vkUser = vk.control.createUser({ firstName: "Анна", allowsMessages: true }).id;
      const contact = await hub.request("POST", "/v1/contacts", {
        body: {
          name: "Анна",
          identities: [
            { channel_kind: "vk", external_id: String(vkUser) },
            { channel_kind: "ok", external_id: unique("ok-") },
            { channel_kind: "email", external_id: `${unique()}@example.com` },
          ],
        },
      });
      assertStatus(contact, 201);
      return {
        community,
        ok: await channel("ok"),
        email: await channel("email"),
        recipient: { contact_id: contact.body.id as string },
      };
    }

    /** VK refuses every message of `community`: the client forbade its messages (901). */
    const refuseOnVk = (community: VkWorld) =>
      vk.control.addFault({
        target: "messages.send",
        groupId: community.groupId,
        error: { code: 901 },
        always: true,
      });

    async function template(body: Record<string, unknown>) {
      const name = unique("order_");
      assertStatus(
        await hub.request("POST", "/v1/templates", {
          body: { name, variables: [{ name: "name" }], ...body },
        }),
        201,
      );
      return name;
    }

    async function accept(message: Record<string, unknown>): Promise<string> {
      const res = await hub.request("POST", "/v1/messages", { body: message });
      assertStatus(res, 200);
      const [result] = res.body.results;
      assert.equal(result.code, "OK", JSON.stringify(result));
      return result.message_id;
    }

    const messageOf = async (id: string) => (await hub.request("GET", `/v1/messages/${id}`)).body;

    async function deliver(id: string) {
      const dispatcher = new Dispatcher(store, hub.sender, silent, { pollMs: 20, idleReleaseMs: 500 });
      await dispatcher.start();
      try {
        await waitFor("the message settled", async () => {
          const { status } = await messageOf(id);
          return !["queued", "sending"].includes(status);
        });
      } finally {
        await dispatcher.stop();
      }
      return messageOf(id);
    }

    const sentTo = (platform: ReturnType<typeof recordingPlatform>, id: string) =>
      platform.sent.filter((m) => m.messageId === id);

    it("sends the next route the text and keyboard of its own kind's body after the first fails, and shows them", async () => {
      const w = await world();
      refuseOnVk(w.community);
      const name = await template({
        bodies: {
          vk: { text: "{{name}}, заказ в пути (VK)", keyboard: inlineKeyboard("Где курьер?") },
          ok: { text: "{{name}}, заказ в пути (OK)", keyboard: inlineKeyboard("Позвонить") },
        },
      });
      const id = await accept({
        recipient: w.recipient,
        routes: [w.community.channel.id, w.ok.id],
        template: name,
        data: { name: "Анна" },
      });
      const queued = await messageOf(id);
      assert.deepEqual(
        [queued.channel_id, queued.text, queued.keyboard],
        [w.community.channel.id, "Анна, заказ в пути (VK)", shown("Где курьер?")],
        "before it is sent, the message is what its first route will send",
      );

      const moved = await deliver(id);
      assert.deepEqual(
        sentTo(ok, id).map((m) => [m.text, m.keyboard]),
        [["Анна, заказ в пути (OK)", neutral("Позвонить")]],
      );
      assert.deepEqual(
        [moved.status, moved.channel_id, moved.text, moved.keyboard],
        ["sent", w.ok.id, "Анна, заказ в пути (OK)", shown("Позвонить")],
      );
      assert.ok(
        moved.status_history.some(
          (h: { status: string; error_code: string | null; channel_id: string }) =>
            h.status === "queued" && h.error_code === "vk_messages_not_allowed" && h.channel_id === w.ok.id,
        ),
        JSON.stringify(moved.status_history),
      );
    });

    it("sends no keyboard on a route whose body has none, and one where only the later body has it", async () => {
      const w = await world();
      refuseOnVk(w.community);
      const vkOnly = await template({
        bodies: { vk: { text: "{{name}}: VK", keyboard: inlineKeyboard("Где курьер?") } },
        fallback: { text: "{{name}}: другие" },
      });
      const okOnly = await template({
        bodies: {
          vk: { text: "{{name}}: VK" },
          ok: { text: "{{name}}: OK", keyboard: inlineKeyboard("Позвонить") },
        },
      });
      const routes = [w.community.channel.id, w.ok.id];
      const withoutKeyboard = await accept({
        recipient: w.recipient,
        routes,
        template: vkOnly,
        data: { name: "А" },
      });
      const withKeyboard = await accept({
        recipient: w.recipient,
        routes,
        template: okOnly,
        data: { name: "Б" },
      });

      const bare = await deliver(withoutKeyboard);
      assert.deepEqual(
        sentTo(ok, withoutKeyboard).map((m) => [m.text, m.keyboard]),
        [["А: другие", undefined]],
      );
      assert.deepEqual([bare.channel_id, bare.keyboard], [w.ok.id, null]);
      const buttoned = await deliver(withKeyboard);
      assert.deepEqual(
        sentTo(ok, withKeyboard).map((m) => [m.text, m.keyboard]),
        [["Б: OK", neutral("Позвонить")]],
      );
      assert.deepEqual([buttoned.channel_id, buttoned.keyboard], [w.ok.id, shown("Позвонить")]);
    });

    it("sends VK's own body through VK when the route before it was another kind's and refused", async () => {
      const w = await world();
      ok.refuse = new AppError("contact_refused_messages");
      try {
        const name = await template({
          bodies: {
            ok: { text: "{{name}}: OK", keyboard: inlineKeyboard("Позвонить") },
            vk: { text: "{{name}}: VK", keyboard: inlineKeyboard("Где курьер?") },
          },
        });
        const id = await accept({
          recipient: w.recipient,
          routes: [w.ok.id, w.community.channel.id],
          template: name,
          data: { name: "Анна" },
        });
        const moved = await deliver(id);
        assert.deepEqual(
          [moved.status, moved.channel_id, moved.keyboard],
          ["sent", w.community.channel.id, shown("Где курьер?")],
        );
        const onVk = vk.control.outbox(w.community.groupId).messages.map((m) => ({
          text: m.text,
          inline: m.keyboard?.inline,
          labels: ((m.keyboard?.buttons ?? []) as { action: { label: string } }[][])
            .flat()
            .map((b) => b.action.label),
        }));
        assert.deepEqual(onVk, [{ text: "Анна: VK", inline: true, labels: ["Где курьер?"] }]);
      } finally {
        ok.refuse = undefined;
      }
    });

    it("sends the request's own keyboard on every route, over the template's", async () => {
      const w = await world();
      refuseOnVk(w.community);
      const name = await template({
        bodies: {
          vk: { text: "{{name}}: VK", keyboard: inlineKeyboard("Где курьер?") },
          ok: { text: "{{name}}: OK", keyboard: inlineKeyboard("Позвонить") },
        },
      });
      const id = await accept({
        recipient: w.recipient,
        routes: [w.community.channel.id, w.ok.id],
        template: name,
        data: { name: "Анна" },
        keyboard: inlineKeyboard("Свой"),
      });
      assert.deepEqual((await messageOf(id)).keyboard, shown("Свой"));
      const moved = await deliver(id);
      assert.deepEqual(
        sentTo(ok, id).map((m) => [m.text, m.keyboard]),
        [["Анна: OK", neutral("Свой")]],
      );
      assert.deepEqual(moved.keyboard, shown("Свой"));
    });

    it("leaves out a route whose kind cannot show the keyboard of its body, as for a request's own keyboard", async () => {
      const w = await world();
      refuseOnVk(w.community);
      const buttonsEverywhere = await template({
        bodies: { vk: { text: "{{name}}: VK", keyboard: inlineKeyboard("Где курьер?") } },
        fallback: { text: "{{name}}: другие", keyboard: inlineKeyboard("Позвонить") },
      });
      const plainMail = await template({
        bodies: {
          vk: { text: "{{name}}: VK", keyboard: inlineKeyboard("Где курьер?") },
          email: { text: "{{name}}: письмо" },
        },
      });
      const data = { name: "Анна" };
      const viaVkOnly = await accept({
        recipient: w.recipient,
        routes: [w.community.channel.id, w.email.id],
        template: buttonsEverywhere,
        data,
      });
      assert.deepEqual((await messageOf(viaVkOnly)).routes, [w.community.channel.id]);
      const nowhere = await hub.request("POST", "/v1/messages", {
        body: { recipient: w.recipient, routes: [w.email.id], template: buttonsEverywhere, data },
      });
      assert.deepEqual(
        nowhere.body.results[0].reasons.map((r: { key: string; details: { path: string }[] }) => [
          r.key,
          r.details.map((d) => d.path),
        ]),
        [["validation_failed", ["keyboard.inline"]]],
      );

      const mailed = await accept({
        recipient: w.recipient,
        routes: [w.community.channel.id, w.email.id],
        template: plainMail,
        data,
      });
      const moved = await deliver(mailed);
      assert.deepEqual(
        sentTo(email, mailed).map((m) => [m.text, m.keyboard]),
        [["Анна: письмо", undefined]],
      );
      assert.deepEqual([moved.status, moved.channel_id, moved.keyboard], ["sent", w.email.id, null]);
      assert.equal((await deliver(viaVkOnly)).status, "failed");
      assert.equal(sentTo(email, viaVkOnly).length, 0);
    });

    it("gives a message accepted before migration 0018 the keyboard it was going to send, on every route", async () => {
      const w = await world();
      const second = await vkWorld(hub, vk, { settings: { apiLimit: 10_000 } });
      refuseOnVk(w.community);
      const name = await template({
        bodies: { vk: { text: "{{name}}: VK", keyboard: inlineKeyboard("Где курьер?") } },
      });
      const id = await accept({
        recipient: w.recipient,
        routes: [w.community.channel.id, second.channel.id],
        template: name,
        data: { name: "Анна" },
      });
      // The message as the hub stored it before: its text per kind, one keyboard for every route.
      await store.db.execute(sql`alter table message add column text_by_kind jsonb`);
      await store.db.execute(sql`
        update message set text_by_kind = (
          select jsonb_object_agg(body.kind, body.value -> 'text') from jsonb_each(body_by_kind) as body(kind, value))
        where id = ${id}`);
      await store.db.execute(sql`alter table message drop column body_by_kind`);
      const migration = readFileSync("src/store/migrations/0018_message_body_by_kind.sql", "utf8");
      for (const statement of migration.split("--> statement-breakpoint"))
        await store.db.execute(sql.raw(statement));

      const [migrated] = await store.db.select().from(message).where(eq(message.id, id));
      assert.deepEqual(migrated?.bodyByKind, { vk: { text: "Анна: VK", keyboard: neutral("Где курьер?") } });
      const moved = await deliver(id);
      assert.deepEqual(
        [moved.status, moved.channel_id, moved.keyboard],
        ["sent", second.channel.id, shown("Где курьер?")],
      );
      assert.deepEqual(
        vk.control.outbox(second.groupId).messages.map((m) => [m.text, m.keyboard?.inline]),
        [["Анна: VK", true]],
      );
    });
  });
}
