// The send API and the dispatcher against the VK emulator over real HTTP: batches with good and
// bad items, idempotency, routes and fallback, retries, time to live, limits, quotas, priorities,
// and several dispatchers on one database.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { and, eq, inArray } from "drizzle-orm";
import pino from "pino";
import { Webhook } from "standardwebhooks";
import { startVkEmulator, type VkEmulator } from "../../../emulators/vk/server.ts";
import { placeholderPng } from "../../../emulators/vk/uploads.ts";
import { openStore } from "../../store/database.ts";
import { setConsent } from "../../store/repositories/contact-activity.ts";
import { contactIdentity, message, webhookEvent } from "../../store/schema.ts";
import { startFiles } from "../../testing/files.ts";
import { assertStatus } from "../../testing/http.ts";
import { createTestHub, type TestHub } from "../../testing/hub.ts";
import { storeKinds } from "../../testing/stores.ts";
import { waitFor } from "../../testing/vk-hub.ts";
import { type VkWorld, vkWorld } from "../../testing/vk-world.ts";
import { Receiver, testDeliveryWorker } from "../../testing/webhooks.ts";
import { systemClock } from "../webhooks/worker.ts";
import { Dispatcher, type DispatcherOptions } from "./dispatcher.ts";

const silent = pino({ level: process.env.SWITCHBOARD_TEST_LOG ?? "silent" });

/** Dispatcher timings for tests: quick to notice, quick to let go. */
const quick: Partial<DispatcherOptions> = { pollMs: 20, idleReleaseMs: 500, expirySweepMs: 500 };

for (const kind of storeKinds) {
  describe(`The send API and the dispatcher on ${kind.name}`, () => {
    let store: Awaited<ReturnType<typeof kind.open>>;
    let vk: VkEmulator;
    let hub: TestHub;

    before(async () => {
      store = await kind.open();
      vk = await startVkEmulator({ rateLimit: { perSecond: 10_000 } });
      hub = await createTestHub(store);
    });
    after(async () => {
      await vk.close();
      await store.drop();
    });

    /** A community whose own API limit is lifted, unless the test sets limits of its own. */
    const community = (limits: Record<string, unknown> = {}) =>
      vkWorld(hub, vk, { settings: { apiLimit: 10_000 } }).then(async (world) => {
        await hub.request("PATCH", `/v1/channels/${world.channel.id}`, { body: { limits } });
        return world;
      });
    const user = (world: VkWorld, allowsMessages = true) =>
      world.vk.control.createUser({ firstName: "Ира", allowsMessages }).id;
    const to = (world: VkWorld, userId: number) => ({
      channel_id: world.channel.id,
      user_id: String(userId),
    });
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      hub.request("POST", "/v1/messages", { body, headers });
    const sent = (world: VkWorld) => vk.control.outbox(world.groupId).messages;

    /** Runs a dispatcher until `done` holds. */
    async function dispatchUntil(
      what: string,
      done: () => Promise<boolean>,
      options: Partial<DispatcherOptions> = {},
    ) {
      const dispatcher = new Dispatcher(store, hub.sender, silent, { ...quick, ...options });
      await dispatcher.start();
      try {
        await waitFor(what, done, 180_000);
      } finally {
        await dispatcher.stop();
      }
    }
    const statusOf = async (id: string) => (await hub.request("GET", `/v1/messages/${id}`)).body;
    /** True once none of the messages is waiting or going out any more. */
    const allSettled = (ids: string[]) => async () =>
      (await store.db.$count(
        message,
        and(inArray(message.id, ids), inArray(message.status, ["queued", "sending"])),
      )) === 0;

    it("accepts a batch of 1,000 with good and bad items, rejecting each bad one with its reason, and delivers each good one once", async () => {
      const world = await community({ notifications_per_second: 10_000 });
      const other = await community();
      const refusing = user(world);
      const items: unknown[] = [];
      const expected: (string | null)[] = [];
      // One client per message: VK's default quota allows a client 5 notifications a day.
      const users = Array.from({ length: 1000 }, () => user(world));
      for (let i = 0; i < 1000; i += 1) {
        const recipient = to(world, users[i % users.length] as number);
        const bad = i % 10 === 3 ? Math.floor(i / 10) % 8 : -1;
        switch (bad) {
          case 0:
            items.push({ recipient: { phone: "12345" }, text: "x" });
            expected.push("invalid_phone");
            break;
          case 1:
            // An id that cannot exist, every other time one that is not an id at all.
            items.push({
              recipient: { contact_id: i % 160 < 80 ? "nope" : "00000000-0000-7000-8000-000000000000" },
              text: "x",
            });
            expected.push("contact_not_found");
            break;
          case 2:
            items.push({ recipient, routes: ["00000000-0000-7000-8000-000000000001"], text: "x" });
            expected.push("channel_not_found");
            break;
          case 3:
            items.push({ recipient, text: "   " });
            expected.push("empty_message");
            break;
          case 4:
            items.push({ recipient, text: "x", ttl: 5 });
            expected.push("validation_failed");
            break;
          case 5:
            items.push({ recipient, text: "x".repeat(5000) });
            expected.push("text_too_long_for_routes");
            break;
          case 6:
            items.push({ recipient: to(world, refusing), text: "x" });
            expected.push("contact_refused_messages");
            break;
          case 7:
            items.push({ recipient, routes: [other.channel.id], text: "x", extra: true });
            expected.push("validation_failed");
            break;
          default:
            items.push({ recipient, text: `сообщение ${i}`, priority: "bulk" });
            expected.push(null);
        }
      }
      // The refusing client told the community so.
      await post({ recipient: to(world, refusing), text: "до отказа" });
      const [identity] = await store.db
        .select()
        .from(contactIdentity)
        .where(eq(contactIdentity.externalId, String(refusing)));
      await setConsent(store.db, identity?.id as string, world.channel.id, "denied", new Date());

      const res = await post(items);
      assertStatus(res, 200);
      const results = res.body.results as {
        code: string;
        message_id?: string;
        reasons?: { key: string; remedy: string }[];
      }[];
      assert.equal(results.length, 1000);
      for (const [i, result] of results.entries()) {
        const want = expected[i];
        if (want === null) assert.equal(result.code, "OK", `item ${i}: ${JSON.stringify(result)}`);
        else {
          assert.equal(result.code, "REJECTED", `item ${i}`);
          assert.equal(result.reasons?.[0]?.key, want, `item ${i}: ${JSON.stringify(result)}`);
          assert.ok((result.reasons?.[0]?.remedy.length ?? 0) > 10);
        }
      }
      const ids = results.flatMap((r) => (r.message_id ? [r.message_id] : []));
      assert.equal(ids.length, 900);
      const queued = await statusOf(ids[0] as string);
      assert.equal(queued.status, "queued");
      assert.deepEqual(queued.routes, [world.channel.id]);

      const before = sent(world).length;
      await dispatchUntil("the batch delivered", allSettled(ids));
      const delivered = sent(world).slice(before);
      assert.equal(delivered.length, 900, "every accepted message reached VK exactly once");
      assert.equal(new Set(delivered.map((m) => m.text)).size, 900);
      const detail = await statusOf(ids[5] as string);
      assert.equal(detail.status, "sent");
      assert.deepEqual(
        detail.status_history.map((h: { status: string }) => h.status),
        ["queued", "sending", "sent"],
      );
      assert.ok(detail.conversation_id, "the message went out in the contact's conversation");
    });

    it("renders templates per item, rejecting unknown names and missing or undeclared variables", async () => {
      const world = await community({ notifications_per_second: 10_000 });
      const created = await hub.request("POST", "/v1/templates", {
        body: {
          name: `pizza_${world.groupId}`,
          variables: [{ name: "name" }, { name: "pizza", required: false, default: "Маргарита" }],
          bodies: { vk: { text: "{{name}}, ваша пицца «{{pizza}}» в пути" } },
        },
      });
      assertStatus(created, 201);
      const recipient = to(world, user(world));
      const name = `pizza_${world.groupId}`;
      const res = await post([
        { recipient, template: name, data: { name: "Анна", pizza: "Пепперони" } },
        { recipient, template: name, data: { name: "Олег" } },
        { recipient, template: name, data: { pizza: "Пепперони" } },
        { recipient, template: name, data: { name: "Анна", size: "XL" } },
        { recipient, template: "no_such_template", data: {} },
        { recipient, template: name, data: { name: "Анна" }, text: "и текст" },
        { recipient, text: "без шаблона", data: { name: "Анна" } },
      ]);
      const keys = res.body.results.map(
        (r: { code: string; reasons?: { key: string }[] }) => r.reasons?.[0]?.key ?? r.code,
      );
      assert.deepEqual(keys, [
        "OK",
        "OK",
        "template_variable_missing",
        "template_variable_unknown",
        "template_not_found",
        "validation_failed",
        "validation_failed",
      ]);
      const ids = res.body.results.slice(0, 2).map((r: { message_id: string }) => r.message_id);
      assert.equal((await statusOf(ids[0])).template, name);
      await dispatchUntil("templated messages sent", allSettled(ids));
      assert.deepEqual(
        sent(world).map((m) => m.text),
        ["Анна, ваша пицца «Пепперони» в пути", "Олег, ваша пицца «Маргарита» в пути"],
      );
    });

    it("takes Devino's request unchanged and answers in Devino's shapes", async () => {
      const world = await community({ notifications_per_second: 10_000 });
      const userId = user(world);
      const service = `Пиццерия ${world.groupId}`;
      await hub.request("PATCH", `/v1/channels/${world.channel.id}`, { body: { name: service } });
      const phone = `7916${String(world.groupId).slice(-7).padStart(7, "0")}`;
      const contact = await hub.request("POST", "/v1/contacts", {
        body: {
          name: "Анна",
          phone: `+${phone}`,
          identities: [{ channel_kind: "vk", external_id: String(userId) }],
        },
      });
      assertStatus(contact, 201);
      const name = `base_${world.groupId}`;
      await hub.request("POST", "/v1/templates", {
        body: {
          name,
          variables: [{ name: "name" }, { name: "pizza" }],
          bodies: { vk: { text: "{{name}}: {{pizza}}" } },
        },
      });
      const devino = (body: unknown, key: string | null = hub.admin.key) =>
        hub.request("POST", "/compat/devino/vk/messages", {
          body,
          key: null,
          headers: key ? { authorization: `Key ${key}` } : {},
        });
      const res = await devino([
        {
          delivery_policy: "ANY",
          phone,
          routes: ["VK", "OK"],
          service,
          status_url: "http://127.0.0.1:9/status",
          templateId: 4,
          tmpl: name,
          tmpl_data: { name: "Anna", pizza: "Margarita" },
          ttl: 60,
          callbackData: { order: 17 },
        },
        { phone: "12", routes: ["VK"], tmpl: name, tmpl_data: { name: "A", pizza: "B" } },
        { phone, routes: ["VK"], tmpl: "missing", tmpl_data: {} },
        // A service is a channel's name, of a kind among the routes.
        { phone, service: `${service}!`, tmpl: name, tmpl_data: { name: "A", pizza: "B" } },
        { phone, routes: ["OK"], service, tmpl: name, tmpl_data: { name: "A", pizza: "B" } },
      ]);
      assertStatus(res, 200);
      assert.deepEqual(Object.keys(res.body), ["result"]);
      const [ok, badPhone, badTemplate, unknownService, serviceOfOtherKind] = res.body.result;
      assert.equal(ok.code, "OK");
      assert.equal(typeof ok.messageId, "string");
      assert.deepEqual(badPhone, { code: "REJECTED", reasons: [{ key: "invalid.phone" }] });
      assert.deepEqual(badTemplate, { code: "REJECTED", reasons: [{ key: "template.not.found" }] });
      for (const rejected of [unknownService, serviceOfOtherKind])
        assert.deepEqual(rejected, { code: "REJECTED", reasons: [{ key: "channel.name.not.found" }] });
      const stored = await statusOf(ok.messageId);
      assert.deepEqual(
        [stored.status_url, stored.callback_data, stored.channel_id],
        ["http://127.0.0.1:9/status", { order: 17 }, world.channel.id],
      );
      const tooMany = await devino(Array.from({ length: 1001 }, () => ({ phone, tmpl: name })));
      assertStatus(tooMany, 400);
      assert.deepEqual(tooMany.body, {
        result: [{ code: "REJECTED", reasons: [{ key: "too.many.messages" }] }],
      });
      assertStatus(await devino([], null), 401);
      await dispatchUntil("the Devino message sent", allSettled([ok.messageId]));
      assert.deepEqual(
        sent(world).map((m) => m.text),
        ["Anna: Margarita"],
      );
    });

    it("posts Devino status callbacks to status_url, signed with the workspace's callback secret", async () => {
      const world = await community();
      const receiver = await Receiver.start();
      try {
        const rotated = await hub.request("POST", "/v1/webhook-settings/callback-secret");
        assertStatus(rotated, 200);
        const statusUrl = `${receiver.url}/status`;
        const res = await post([
          {
            recipient: to(world, user(world)),
            text: "дойдёт",
            status_url: statusUrl,
            callback_data: { order: 1 },
          },
          {
            recipient: to(world, user(world, false)),
            text: "не дойдёт",
            status_url: statusUrl,
            callback_data: { order: 2 },
          },
        ]);
        const [sentId, refusedId] = res.body.results.map((r: { message_id: string }) => r.message_id);
        await dispatchUntil("both settled", allSettled([sentId, refusedId]));
        await testDeliveryWorker({ store, box: hub.box }, { clock: systemClock }).drain();
        assert.equal(receiver.receipts.length, 2);
        const byId = new Map<string, Record<string, unknown>>();
        for (const receipt of receiver.receipts) {
          assert.equal(receipt.path, "/status");
          new Webhook(rotated.body.callback_secret).verify(
            receipt.body,
            receipt.headers as Record<string, string>,
          );
          const [status] = JSON.parse(receipt.body);
          byId.set(status.messageId, status);
        }
        const sentStatus = byId.get(sentId);
        assert.deepEqual(
          [sentStatus?.channel, sentStatus?.status, sentStatus?.errorCode, sentStatus?.callbackData],
          ["VK", "SENT", 0, { order: 1 }],
        );
        assert.equal(typeof sentStatus?.ts, "number");
        const refused = byId.get(refusedId);
        assert.deepEqual(
          [refused?.status, refused?.errorCode, refused?.error, refused?.callbackData],
          ["UNDELIVERABLE", 901, "vk_messages_not_allowed", { order: 2 }],
        );
      } finally {
        await receiver.down();
      }
    });

    it("rejects a recipient no route can reach, and a phone number no contact has", async () => {
      await community();
      const bare = await hub.request("POST", "/v1/contacts", {
        body: { name: "Без каналов", phone: "+79161110022" },
      });
      assertStatus(bare, 201);
      const res = await post([
        { recipient: { contact_id: bare.body.id }, text: "x" },
        { recipient: { phone: "+79161110022" }, text: "x" },
        { recipient: { phone: "+79161110033" }, text: "x" },
      ]);
      const reasons = res.body.results.map(
        (r: { reasons: { key: string; message: string }[] }) => r.reasons[0],
      );
      assert.deepEqual(
        reasons.map((r: { key: string }) => r.key),
        ["no_usable_route", "no_usable_route", "no_usable_route"],
      );
      assert.match(reasons[2].message, /no contact has the phone number \+79161110033/);
    });

    it("opens a conversation for the first message to a client, announced once, and reuses it", async () => {
      const world = await community();
      const client = user(world);
      const first = await post({ recipient: to(world, client), text: "Первое" });
      const second = await post({ recipient: to(world, client), text: "Второе" });
      const ids = [first, second].map((res) => res.body.results[0].message_id as string);
      await dispatchUntil("both messages sent", allSettled(ids));
      const [a, b] = await Promise.all(ids.map(statusOf));
      assert.equal(a.status, "sent");
      assert.ok(a.conversation_id);
      assert.equal(b.conversation_id, a.conversation_id);
      const announced = await store.db
        .select()
        .from(webhookEvent)
        .where(
          and(eq(webhookEvent.type, "conversation.created"), eq(webhookEvent.orderingKey, a.conversation_id)),
        );
      assert.equal(announced.length, 1);
      const contactCreated = await store.db
        .select()
        .from(webhookEvent)
        .where(and(eq(webhookEvent.type, "contact.created"), eq(webhookEvent.orderingKey, a.contact_id)));
      assert.equal(contactCreated.length, 1, "the new client is announced once, as intake would");
    });

    it("refuses a user id the platform could not have given, and makes no contact of it", async () => {
      const world = await community();
      const res = await post([
        { recipient: { channel_id: world.channel.id, user_id: "durov" }, text: "x" },
        { recipient: { channel_id: world.channel.id, user_id: "-12345" }, text: "x" },
        { recipient: { channel_id: world.channel.id, user_id: "2000000001" }, text: "x" },
        { recipient: to(world, user(world)), text: "x" },
      ]);
      const keys = res.body.results.map((r: { code: string; reasons?: { key: string }[] }) =>
        r.code === "OK" ? "OK" : r.reasons?.[0]?.key,
      );
      assert.deepEqual(keys, ["vk_user_id_invalid", "vk_user_id_invalid", "vk_user_id_invalid", "OK"]);
      const made = await store.db
        .select()
        .from(contactIdentity)
        .where(inArray(contactIdentity.externalId, ["durov", "-12345", "2000000001"]));
      assert.equal(made.length, 0);
    });

    it("takes a repeat that writes the recipient's phone in another notation as the same message", async () => {
      const world = await community();
      const digits = String(world.groupId).slice(-7).padStart(7, "0");
      const contact = await hub.request("POST", "/v1/contacts", {
        body: {
          phone: `+7916${digits}`,
          identities: [{ channel_kind: "vk", external_id: String(user(world)) }],
        },
      });
      assertStatus(contact, 201);
      const key = `phone-${world.groupId}`;
      const notations = [
        `+7916${digits}`,
        `8 (916) ${digits.slice(0, 3)}-${digits.slice(3, 5)}-${digits.slice(5)}`,
      ];
      const results = [];
      for (const phone of notations) {
        const res = await post({ recipient: { phone }, text: "Заказ готов", idempotency_key: key });
        results.push(res.body.results[0]);
      }
      assert.deepEqual(
        results.map((r) => r.code),
        ["OK", "OK"],
        JSON.stringify(results),
      );
      assert.equal(results[1].message_id, results[0].message_id);
    });

    it("says what a body and a recipient must be when they are neither", async () => {
      const detailsOf = (error: { details: { path: string; detail: string }[] }) =>
        error.details.map((d) => [d.path, d.detail]);
      const notAMessage = await post("hello");
      assertStatus(notAMessage, 400);
      assert.deepEqual(detailsOf(notAMessage.body.error), [
        ["body", "the body must be one message (a JSON object) or an array of them"],
      ]);
      const res = await post([{ text: "x" }, { recipient: 42, text: "x" }]);
      assertStatus(res, 200);
      assert.deepEqual(
        res.body.results.map((r: { reasons: { details: { path: string; detail: string }[] }[] }) =>
          detailsOf(r.reasons[0] as { details: { path: string; detail: string }[] }),
        ),
        [
          [
            [
              "recipient",
              "a recipient is required: give an object with contact_id, with phone, or with channel_id and user_id",
            ],
          ],
          [["recipient", "give an object with contact_id, with phone, or with channel_id and user_id"]],
        ],
      );
    });

    it("says what is wrong with a status_url it refuses, as for a webhook endpoint's url", async () => {
      const recipient = { contact_id: crypto.randomUUID() };
      const refused = [
        "ftp://files.example.com/status",
        "https://crm:s3cret@crm.example.com/status",
        "crm.example.com/status",
      ];
      const res = await post(refused.map((status_url) => ({ recipient, text: "x", status_url })));
      assertStatus(res, 200);
      assert.deepEqual(
        res.body.results.map(
          (r: { reasons: { key: string; details: { path: string; detail: string }[] }[] }) =>
            r.reasons.map((reason) => [reason.key, ...reason.details.map((d) => `${d.path}: ${d.detail}`)]),
        ),
        [
          [["validation_failed", "status_url: Only http and https URLs are accepted, not ftp:"]],
          [
            [
              "validation_failed",
              "status_url: A user name or password in the URL is not accepted: verify each callback's `webhook-signature` with the workspace's callback secret (`POST /v1/webhook-settings/callback-secret`) instead",
            ],
          ],
          [["validation_failed", "status_url: Not a URL: give an absolute http or https address"]],
        ],
      );
      assert.doesNotMatch(JSON.stringify(res.body), /s3cret/);
      // Devino's route checks its status_url with the same rule, answering only the key.
      const devino = await hub.request("POST", "/compat/devino/vk/messages", {
        body: refused.map((status_url) => ({ phone: "79161110044", tmpl: "any", status_url })),
      });
      assertStatus(devino, 200);
      assert.deepEqual(
        devino.body.result,
        refused.map(() => ({ code: "REJECTED", reasons: [{ key: "validation.failed" }] })),
      );
    });

    it("refuses a status_url at a private address when it is given, storing nothing, and takes one egressAllow lists", async () => {
      const world = await community();
      const newcomer = user(world);
      const welcome = user(world);
      const stored = () => store.db.$count(message, eq(message.channelAccountId, world.channel.id));
      const before = await stored();
      // The test hub's egressAllow lists 127.0.0.1: the rest of loopback is refused as 10/8 is.
      const res = await post([
        { recipient: to(world, newcomer), text: "x", status_url: "http://10.1.2.3/status?token=s3cret" },
        { recipient: to(world, newcomer), text: "x", status_url: "http://127.0.0.2:9/status" },
        { recipient: to(world, welcome), text: "x", status_url: "http://127.0.0.1:9/status" },
      ]);
      assertStatus(res, 200);
      const [privateNet, loopback, allowed] = res.body.results;
      assert.deepEqual(privateNet, {
        code: "REJECTED",
        reasons: [
          {
            key: "webhook_url_refused",
            message:
              "The hub will not send requests to `http://10.1.2.3/status`: 10.1.2.3 is not a public address.",
            remedy:
              "Give a public http(s) address. To reach a host on a private network on purpose, add it to `egressAllow` (SWITCHBOARD_EGRESS_ALLOW) in the hub's configuration.",
            // As a webhook endpoint's url is refused, at its own path.
            details: [
              { path: "status_url", code: "url_refused", detail: "10.1.2.3 is not a public address" },
            ],
          },
        ],
      });
      assert.equal(loopback.reasons[0].details[0].detail, "127.0.0.2 is not a public address");
      assert.equal(allowed.code, "OK");
      assert.doesNotMatch(JSON.stringify(res.body), /s3cret/);
      assert.equal(await stored(), before + 1, "only the allowed message is stored");
      assert.equal(
        await store.db.$count(contactIdentity, eq(contactIdentity.externalId, String(newcomer))),
        0,
        "a refused message makes no contact of its recipient",
      );
      assert.equal((await statusOf(allowed.message_id)).status_url, "http://127.0.0.1:9/status");
      // The reason is in the answer's language, as the rest of it.
      const inRussian = await post(
        { recipient: to(world, newcomer), text: "x", status_url: "http://10.1.2.3/status" },
        { "accept-language": "ru" },
      );
      assert.equal(
        inRussian.body.results[0].reasons[0].message,
        "Хаб не будет отправлять запросы на `http://10.1.2.3/status`: 10.1.2.3 — не публичный адрес.",
      );
      // Devino's route refuses it too, before it looks for the recipient (no contact has this phone).
      const devino = await hub.request("POST", "/compat/devino/vk/messages", {
        body: [{ phone: "79161110045", tmpl: "any", status_url: "http://10.1.2.3/status" }],
      });
      assertStatus(devino, 200);
      assert.deepEqual(devino.body.result, [{ code: "REJECTED", reasons: [{ key: "webhook.url.refused" }] }]);
      assert.equal(await stored(), before + 1);
    });

    it("never shows the user name and password of a status_url accepted before they were refused", async () => {
      const world = await community();
      const res = await post({
        recipient: to(world, user(world)),
        text: "x",
        status_url: "http://127.0.0.1:9/s?t=1",
      });
      const id = res.body.results[0].message_id;
      await store.db
        .update(message)
        .set({ callbackUrl: "http://crm:s3cret@127.0.0.1:9/s?t=1" })
        .where(eq(message.id, id));
      assert.equal((await statusOf(id)).status_url, "http://127.0.0.1:9/s?t=1");
    });

    it("refuses 1,001 messages as a whole", async () => {
      const world = await community();
      const recipient = to(world, user(world));
      const res = await post(Array.from({ length: 1001 }, () => ({ recipient, text: "x" })));
      assertStatus(res, 400);
      assert.equal(res.body.error.code, "too_many_messages");
      assert.equal(await store.db.$count(message, eq(message.channelAccountId, world.channel.id)), 0);
    });

    it("rejects an item that is not an object on its own, without holding back the others", async () => {
      const world = await community();
      const recipient = to(world, user(world));
      const res = await post([{ recipient, text: "годный" }, null, "текст", 7]);
      assertStatus(res, 200);
      const [good, ...bad] = res.body.results;
      assert.equal(good.code, "OK");
      for (const result of bad) {
        assert.equal(result.code, "REJECTED");
        assert.equal(result.reasons[0].key, "validation_failed");
      }
      const devino = await hub.request("POST", "/compat/devino/vk/messages", {
        body: [{ phone: "79161110046", tmpl: "any" }, null],
      });
      assertStatus(devino, 200);
      assert.deepEqual(devino.body.result[1], { code: "REJECTED", reasons: [{ key: "validation.failed" }] });
      assert.equal(await store.db.$count(message, eq(message.channelAccountId, world.channel.id)), 1);
    });

    it("answers a repeated item with the same id, and refuses its key with other content", async () => {
      const world = await community();
      const recipient = to(world, user(world));
      const key = `order-${world.groupId}`;
      const first = await post({ recipient, text: "Заказ готов", idempotency_key: key });
      const again = await post([
        { recipient, text: "Заказ готов", idempotency_key: key },
        { recipient, text: "Заказ отменён", idempotency_key: key },
        { recipient, text: "новый", idempotency_key: `${key}-2` },
        { recipient, text: "новый", idempotency_key: `${key}-2` },
      ]);
      const [one, two, three, four] = again.body.results;
      assert.equal(one.message_id, first.body.results[0].message_id);
      assert.equal(two.code, "REJECTED");
      assert.equal(two.reasons[0].key, "idempotency_key_reused");
      assert.equal(three.code, "OK");
      assert.equal(four.message_id, three.message_id, "a key repeated inside one batch is one message");
      // The whole request under an Idempotency-Key is answered the same again.
      const headers = { "idempotency-key": `batch-${world.groupId}` };
      const whole = await post([{ recipient, text: "пакет" }], headers);
      const replay = await post([{ recipient, text: "пакет" }], headers);
      assert.deepEqual(replay.body, whole.body);
      assert.equal(
        await store.db.$count(message, eq(message.channelAccountId, world.channel.id)),
        3,
        "three messages stored in all",
      );
    });

    it("rejects a text too long as VK counts it with text_too_long_for_routes, never with VK's split remedy", async () => {
      const world = await community();
      const recipient = to(world, user(world));
      const res = await post([
        { recipient, text: "😀".repeat(4096) },
        { recipient, text: "&".repeat(1000) },
        { recipient, text: "😀".repeat(2048) },
      ]);
      const [emoji, entities, fits] = res.body.results;
      assert.equal(emoji.reasons[0].key, "text_too_long_for_routes");
      assert.equal(
        emoji.reasons[0].message,
        "The text has 8192 characters as its routes count them, more than any of them takes (the largest: 4096).",
      );
      assert.equal(entities.reasons[0].key, "text_too_long_for_routes");
      assert.equal(fits.code, "OK");
    });

    it("answers a repeat that spells out a default the first left out with the same id", async () => {
      const world = await community();
      const recipient = to(world, user(world));
      const key = `defaults-${world.groupId}`;
      const first = await post({ recipient, text: "Заказ готов", idempotency_key: key });
      const id = first.body.results[0].message_id;
      const again = await post([
        { recipient, text: "Заказ готов", idempotency_key: key, priority: "notification" },
        { recipient, text: "Заказ готов", idempotency_key: key, attachments: [] },
        { recipient, text: "Заказ готов", idempotency_key: key, priority: "bulk" },
      ]);
      const [spelt, empty, bulk] = again.body.results;
      assert.equal(spelt.message_id, id);
      assert.equal(empty.message_id, id);
      assert.equal(bulk.reasons[0].key, "idempotency_key_reused", "another priority is another message");
    });

    /** Two communities and a client of the first, who forbade it messages (VK 901): a route to fall back from. */
    async function refusedByTheFirst() {
      const first = await community();
      const second = await community();
      const userId = user(first);
      vk.control.addFault({
        target: "messages.send",
        groupId: first.groupId,
        error: { code: 901 },
        always: true,
      });
      return { first, second, userId };
    }

    it("falls back to the next route when the first cannot deliver, and fails when none can", async () => {
      const { first, second, userId } = await refusedByTheFirst();
      const res = await post([
        { recipient: to(first, userId), routes: [first.channel.id, second.channel.id], text: "через второе" },
        { recipient: to(first, userId), routes: [first.channel.id], text: "некуда" },
      ]);
      const [fallback, nowhere] = res.body.results.map((r: { message_id: string }) => r.message_id);
      await dispatchUntil("both settled", allSettled([fallback, nowhere]));
      const moved = await statusOf(fallback);
      assert.equal(moved.status, "sent");
      assert.equal(moved.channel_id, second.channel.id);
      assert.ok(
        moved.status_history.some(
          (h: { status: string; error_code: string; channel_id: string }) =>
            h.status === "queued" &&
            h.error_code === "vk_messages_not_allowed" &&
            h.channel_id === second.channel.id,
        ),
        JSON.stringify(moved.status_history),
      );
      assert.deepEqual(
        sent(second).map((m) => m.text),
        ["через второе"],
      );
      const failed = await statusOf(nowhere);
      assert.deepEqual([failed.status, failed.error_code], ["failed", "vk_messages_not_allowed"]);
      assert.equal(sent(first).length, 0);
    });

    it("uploads the attachments again through a fallback route: the first community's photo is not the second's", async () => {
      const { first, second, userId } = await refusedByTheFirst();
      const files = await startFiles({ "/photo.png": { body: placeholderPng, type: "image/png" } });
      try {
        const res = await post({
          recipient: to(first, userId),
          routes: [first.channel.id, second.channel.id],
          text: "с фото",
          attachments: [{ kind: "photo", url: files.url("/photo.png") }],
        });
        const id = res.body.results[0].message_id;
        await dispatchUntil("settled", allSettled([id]));
        assert.equal((await statusOf(id)).status, "sent");
      } finally {
        await files.close();
      }
      const uploadedBy = (world: VkWorld) =>
        vk.control.uploads({ groupId: world.groupId }).map((u) => [u.kind, u.accepted]);
      assert.deepEqual(
        uploadedBy(first),
        [["photo", true]],
        "the first route uploaded before its send failed",
      );
      assert.deepEqual(uploadedBy(second), [["photo", true]], "the second route uploaded its own");
      const [delivered] = sent(second);
      const photo = delivered?.attachments[0] as { type: string; photo: { owner_id: number } } | undefined;
      assert.equal(photo?.type, "photo");
      assert.equal(photo?.photo.owner_id, -second.groupId, "the photo sent is the second community's");
    });

    for (const code of [6, 9, 10]) {
      it(`retries VK error ${code} later and delivers once`, async () => {
        const world = await community();
        vk.control.addFault({ target: "messages.send", groupId: world.groupId, error: { code } });
        const res = await post({ recipient: to(world, user(world)), text: `после ${code}` });
        const id = res.body.results[0].message_id;
        // The dispatcher's clock runs ahead, so waits of seconds pass at once.
        let ahead = 0;
        await dispatchUntil(
          "the retry delivered",
          async () => {
            ahead += 5_000;
            return (await statusOf(id)).status === "sent";
          },
          { now: () => Date.now() + ahead },
        );
        const detail = await statusOf(id);
        assert.ok(
          detail.status_history.some(
            (h: { status: string; error_code: string }) =>
              h.status === "queued" && h.error_code?.startsWith("vk_"),
          ),
          JSON.stringify(detail.status_history),
        );
        assert.equal(sent(world).length, 1);
      });
    }

    it("expires messages whose time to live ends while the account's limit holds them back", async () => {
      const world = await community({ per_second: 1 });
      const userIds = Array.from({ length: 5 }, () => user(world));
      const res = await post(userIds.map((u) => ({ recipient: to(world, u), text: `t${u}`, ttl: 60 })));
      const ids = res.body.results.map((r: { message_id: string }) => r.message_id);
      let ahead = 0;
      await dispatchUntil(
        "all settled",
        async () => {
          if (sent(world).length >= 1) ahead = 120_000;
          return allSettled(ids)();
        },
        { now: () => Date.now() + ahead },
      );
      const statuses = await Promise.all(ids.map(async (id: string) => (await statusOf(id)).status));
      const delivered = statuses.filter((s) => s === "sent").length;
      assert.ok(delivered >= 1 && delivered <= 2, statuses.join());
      assert.equal(statuses.filter((s) => s === "expired").length, 5 - delivered);
      assert.equal(sent(world).length, delivered, "expired messages never reached VK");
    });

    it("reaches every account with due messages, however few one scan takes", async () => {
      const busy = await community();
      const quiet = await community();
      assert.ok(busy.channel.id < quiet.channel.id, "the busy account comes first in a scan");
      // VK answers the busy community slowly, and its lane sends one at a time: its other
      // messages stay due all along.
      const slow = vk.control.addFault({
        target: "messages.send",
        groupId: busy.groupId,
        delayMs: 700,
        always: true,
      });
      try {
        await post(Array.from({ length: 6 }, (_, i) => ({ recipient: to(busy, user(busy)), text: `b${i}` })));
        await post({ recipient: to(quiet, user(quiet)), text: "тихо" });
        let busySentMeanwhile = 0;
        await dispatchUntil(
          "the quiet account's message sent",
          async () => {
            busySentMeanwhile = sent(busy).length;
            return sent(quiet).length === 1;
          },
          { scanLimit: 1, maxInFlight: 1 },
        );
        assert.ok(
          busySentMeanwhile <= 2,
          `the quiet account waited for ${busySentMeanwhile} of the busy one's sends`,
        );
      } finally {
        vk.control.removeFault(slow.id);
        await store.db
          .delete(message)
          .where(
            and(
              eq(message.channelAccountId, busy.channel.id),
              inArray(message.status, ["queued", "sending"]),
            ),
          );
      }
    });

    it("holds notifications to one client to the daily quota; replies are not counted", async () => {
      const world = await community({ per_recipient_per_day: 2 });
      const recipient = to(world, user(world));
      const res = await post([
        { recipient, text: "1", ttl: 3600 },
        { recipient, text: "2", ttl: 3600 },
        { recipient, text: "3", ttl: 3600 },
        { recipient, text: "ответ", priority: "reply" },
        { recipient, text: "4", ttl: 172_800 },
      ]);
      const [a, b, c, reply, d] = res.body.results.map((r: { message_id: string }) => r.message_id);
      await dispatchUntil("the quota applied", async () => {
        const [third, fourth] = await Promise.all([statusOf(c), statusOf(d)]);
        return third.status === "rate_limited" && fourth.error_code === "recipient_daily_quota";
      });
      for (const id of [a, b, reply]) assert.equal((await statusOf(id)).status, "sent");
      const third = await statusOf(c);
      assert.deepEqual([third.status, third.error_code], ["rate_limited", "recipient_daily_quota"]);
      const waiting = await statusOf(d);
      assert.equal(waiting.status, "queued", "a ttl past the quota's reset waits for it");
      const [row] = await store.db.select().from(message).where(eq(message.id, d));
      assert.ok((row?.notBefore?.getTime() ?? 0) > Date.now() + 23 * 3_600_000);
      assert.deepEqual(
        sent(world)
          .map((m) => m.text)
          .sort(),
        ["1", "2", "ответ"],
      );

      // Lifting the quota releases what it held, at once.
      const lifted = await hub.request("PATCH", `/v1/channels/${world.channel.id}`, {
        body: { limits: { per_recipient_per_day: 0 } },
      });
      assertStatus(lifted, 200);
      await dispatchUntil("the held notification sent", async () => (await statusOf(d)).status === "sent");
      assert.deepEqual(
        sent(world)
          .map((m) => m.text)
          .sort(),
        ["1", "2", "4", "ответ"],
      );
    });

    it("sends a reply ahead of queued bulk traffic on the same account", async () => {
      const world = await community({ per_second: 20 });
      const users = Array.from({ length: 60 }, () => user(world));
      const bulk = await post(
        users.map((u) => ({ recipient: to(world, u), text: `bulk ${u}`, priority: "bulk" })),
      );
      const ids = bulk.body.results.map((r: { message_id: string }) => r.message_id);
      const dispatcher = new Dispatcher(store, hub.sender, silent, quick);
      await dispatcher.start();
      try {
        await waitFor("bulk started", () => sent(world).length >= 5);
        const reply = await post({
          recipient: to(world, users[59] as number),
          text: "срочный ответ",
          priority: "reply",
        });
        await waitFor("all sent", allSettled([...ids, reply.body.results[0].message_id]), 30_000);
      } finally {
        await dispatcher.stop();
      }
      const order = sent(world).map((m) => m.text);
      const position = order.indexOf("срочный ответ");
      assert.ok(position >= 0 && position < 40, `the reply went out at ${position} of ${order.length}`);
    });

    if (kind.name === "postgres") {
      it("two dispatcher processes on one database never send a message twice", async () => {
        const worlds = await Promise.all([community(), community(), community()]);
        const items = worlds.flatMap((world) =>
          Array.from({ length: 100 }, (_, i) => ({
            recipient: to(world, user(world)),
            text: `${world.groupId}-${i}`,
          })),
        );
        const res = await post(items);
        const ids = res.body.results.map((r: { message_id: string }) => r.message_id);
        const second = await openStore({ mode: "server", databaseUrl: storeUrl(store), poolSize: 5 });
        const dispatchers = [
          new Dispatcher(store, hub.sender, silent, quick),
          new Dispatcher(second, hub.sender, silent, { ...quick, idleReleaseMs: 50 }),
        ];
        await Promise.all(dispatchers.map((d) => d.start()));
        try {
          await waitFor("all sent", allSettled(ids), 60_000);
        } finally {
          await Promise.all(dispatchers.map((d) => d.stop()));
          await second.close();
        }
        for (const world of worlds) {
          const texts = sent(world).map((m) => m.text);
          assert.equal(texts.length, 100);
          assert.equal(new Set(texts).size, 100);
        }
      });
    }
  });
}

/** The database URL of a PostgreSQL test store. */
function storeUrl(store: { location: string }): string {
  return store.location;
}
