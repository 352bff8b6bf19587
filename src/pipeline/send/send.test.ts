// Sending through VK end to end: the API, the send pipeline and the VK adapter against the VK
// emulator over real HTTP, with the emulator's events relayed back through the hub's webhook and
// intake (so echoes of our own sends are seen exactly as VK would deliver them).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { and, eq, isNull } from "drizzle-orm";
import pino from "pino";
import { startVkEmulator, type VkEmulator } from "../../../emulators/vk/server.ts";
import { placeholderPng } from "../../../emulators/vk/uploads.ts";
import type { OutboundAdapter } from "../../channels/adapter.ts";
import { tokenFingerprint } from "../../channels/vk/api.ts";
import { randomIdFor } from "../../channels/vk/random-id.ts";
import { handleVkTokenInvalid } from "../../channels/vk/tokens.ts";
import type { ErrorCode } from "../../errors/catalogue.ts";
import { findChannelAccount, readCredentials } from "../../store/repositories/channel-accounts.ts";
import { recordEdit, recordHubEdit } from "../../store/repositories/messages.ts";
import { claimDue } from "../../store/repositories/outbound-queue.ts";
import {
  contactEvent,
  conversation,
  idempotencyRecord,
  inboundEvent,
  message,
  messageVersion,
  webhookEvent,
} from "../../store/schema.ts";
import { startFiles } from "../../testing/files.ts";
import { assertError, assertStatus } from "../../testing/http.ts";
import { createTestHub, type TestHub, type TestResponse } from "../../testing/hub.ts";
import { storeKinds } from "../../testing/stores.ts";
import { waitFor } from "../../testing/vk-hub.ts";
import { type VkClient, type VkWorld, vkClient, vkRelay, vkWorld } from "../../testing/vk-world.ts";
import { Receiver, TestClock, testDeliveryWorker } from "../../testing/webhooks.ts";
import { IntakeWorker } from "../intake/worker.ts";
import { recordChannelStatus } from "../webhooks/events.ts";
import { botInfoFollowUp } from "./bot-info.ts";
import { createSendService } from "./create.ts";
import { Dispatcher } from "./dispatcher.ts";
import type { SendService } from "./service.ts";

const run = promisify(execFile);
const silent = pino({ level: "silent" });

/** A catalogued failure: status, code, remedy, and the stored message it left behind. */
function assertSendError(res: TestResponse, status: number, code: ErrorCode) {
  assertError(res, status, code);
  assert.ok(res.body.error.remedy.length > 20, "the answer carries the remedy");
  const id = res.headers.get("x-message-id");
  assert.ok(id, "the stored message's id is in X-Message-Id");
  return id;
}

const words = (count: number) =>
  Array.from({ length: count }, (_, i) => `слово${i}${i % 9 === 8 ? "." : ""}`).join(" ");

for (const kind of storeKinds) {
  describe(`Sending through VK on ${kind.name}`, () => {
    let store: Awaited<ReturnType<typeof kind.open>>;
    let vk: VkEmulator;
    let hub: TestHub;
    let sender: SendService;
    let worker: IntakeWorker;
    let files: Awaited<ReturnType<typeof startFiles>>;
    let mp3: Buffer;
    /** Set to make the next successful VK send fail inside the hub, before its bookkeeping. */
    let crashAfterNextSend = false;
    /** Set to run once between the next comment reply VK took and its bookkeeping. */
    let beforeNextBookkeeping: (() => Promise<void>) | undefined;

    before(async () => {
      store = await kind.open();
      vk = await startVkEmulator();
      hub = await createTestHub(
        store,
        { sendRetryWindow: 5 },
        {
          sender: (deps) => {
            sender = createSendService({
              ...deps,
              retryWindowMs: 5_000,
              // As the hub does: a dead token is told to the channel (warning, state, runners).
              onTokenInvalid: (channel, token, error) =>
                handleVkTokenInvalid(
                  { store, box: deps.box, onStateChanged: recordChannelStatus },
                  channel.id,
                  token,
                  error,
                ),
              wrapAdapter: (_kind, adapter): OutboundAdapter => ({
                ...adapter,
                async send(channel, outbound) {
                  const sent = await adapter.send(channel, outbound);
                  if (crashAfterNextSend) {
                    crashAfterNextSend = false;
                    throw new Error("the hub died after VK took the message");
                  }
                  return sent;
                },
                async replyToComment(channel, reply) {
                  const sent = await adapter.replyToComment(channel, reply);
                  const meanwhile = beforeNextBookkeeping;
                  beforeNextBookkeeping = undefined;
                  await meanwhile?.();
                  return sent;
                },
              }),
            });
            return sender;
          },
        },
      );
      worker = new IntakeWorker(store, silent, { followUp: botInfoFollowUp(store.db, sender) });
      const dir = await mkdtemp(join(tmpdir(), "switchboard-send-"));
      await run("ffmpeg", [
        ...["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=2"],
        ...["-ac", "2", "-ar", "44100", "-c:a", "libmp3lame", join(dir, "voice.mp3")],
      ]);
      mp3 = await readFile(join(dir, "voice.mp3"));
      await rm(dir, { recursive: true, force: true });
      files = await startFiles({
        "/photo.png": { body: placeholderPng, type: "image/png" },
        "/report.pdf": { body: Buffer.from("%PDF-1.4\n% a small report\n%%EOF\n"), type: "application/pdf" },
        "/voice.mp3": { body: mp3, type: "audio/mpeg" },
      });
    });
    after(async () => {
      sender.close();
      await files.close();
      await vk.close();
      await store.drop();
    });

    const send = (conversationId: string, body: unknown, headers: Record<string, string> = {}) =>
      hub.request("POST", `/v1/conversations/${conversationId}/messages`, { body, headers });
    const outbox = (world: VkWorld) => vk.control.outbox(world.groupId);
    const sentTo = (world: VkWorld, client: VkClient) =>
      outbox(world).messages.filter((m) => m.peerId === client.userId);
    const rows = (world: VkWorld) =>
      store.db.select().from(message).where(eq(message.channelAccountId, world.channel.id));
    /** The world's one comments conversation. */
    const commentsThread = async (world: VkWorld) => {
      const [thread] = await store.db
        .select()
        .from(conversation)
        .where(and(eq(conversation.channelAccountId, world.channel.id), eq(conversation.kind, "comments")));
      assert.ok(thread, "a comments conversation");
      return thread;
    };
    /** Lets time pass until the world's queued messages are due, and runs a dispatcher until they are sent. */
    const deliverQueued = async (world: VkWorld) => {
      const queued = and(eq(message.channelAccountId, world.channel.id), eq(message.status, "queued"));
      await store.db.update(message).set({ notBefore: new Date() }).where(queued);
      const dispatcher = new Dispatcher(store, sender, silent, { pollMs: 20 });
      await dispatcher.start();
      try {
        await waitFor("the queued messages sent", async () => (await store.db.$count(message, queued)) === 0);
      } finally {
        await dispatcher.stop();
      }
    };
    /** The button presses stored for the world's community. */
    const buttonPresses = (world: VkWorld) =>
      store.db
        .select()
        .from(contactEvent)
        .where(
          and(eq(contactEvent.channelAccountId, world.channel.id), eq(contactEvent.kind, "button_pressed")),
        );
    const setup = async (options: Parameters<typeof vkWorld>[2] = {}) => {
      const world = await vkWorld(hub, vk, options);
      return { world, client: await vkClient(hub, world), relay: vkRelay(hub, world, worker) };
    };

    it("sends a text with random_id from the message id, and matches its echo", async () => {
      const { world, client, relay } = await setup();
      const res = await send(client.conversation.id, { text: "Здравствуйте! Заказ готов <3" });
      assertStatus(res, 201);
      assert.equal(res.body.status, "sent");
      assert.equal(res.body.direction, "outbound");
      assert.equal(res.body.author.kind, "api");
      const [at] = sentTo(world, client);
      assert.equal(at?.text, "Здравствуйте! Заказ готов <3");
      assert.equal(at?.randomId, String(randomIdFor(res.body.id, 0)));
      assert.equal(res.body.external_id, String(at?.id));
      assert.deepEqual(
        res.body.parts.map((p: { id: string }) => p.id),
        [res.body.id],
      );

      await relay();
      const stored = await rows(world);
      assert.equal(stored.length, 1, "the message_reply echo is ours, not a second message");
      const page = await hub.request("GET", `/v1/conversations/${client.conversation.id}/messages`);
      assert.equal(page.body.items.length, 1);
      assert.equal(page.body.items[0].status, "sent");
    });

    it("records a send whose platform id an older row holds (a store restored from a backup) as sent, once", async () => {
      const { world, client } = await setup();
      const first = await send(client.conversation.id, { text: "раз" });
      assertStatus(first, 201);
      // The community numbers its messages in order: pretend the first row holds the next one's id.
      const nextId = String(Number(first.body.external_id) + 1);
      await store.db.update(message).set({ externalId: nextId }).where(eq(message.id, first.body.id));
      const second = await send(client.conversation.id, { text: "два" });
      assertStatus(second, 201);
      assert.deepEqual([second.body.status, second.body.external_id], ["sent", nextId]);
      const older = await hub.request("GET", `/v1/messages/${first.body.id}`);
      assert.deepEqual([older.body.status, older.body.external_id], ["sent", null]);
      assert.deepEqual(
        sentTo(world, client).map((m) => m.text),
        ["раз", "два"],
      );
    });

    it("marks the messages a client read as read (VK message_read), up to the one read", async () => {
      const { world, client, relay } = await setup();
      const first = await send(client.conversation.id, { text: "первое" });
      const second = await send(client.conversation.id, { text: "второе" });
      const third = await send(client.conversation.id, { text: "третье" });
      vk.control.read(world.groupId, client.userId, Number(second.body.external_id));
      await relay();
      const status = async (id: string) => (await hub.request("GET", `/v1/messages/${id}`)).body;
      assert.deepEqual(
        [
          (await status(first.body.id)).status,
          (await status(second.body.id)).status,
          (await status(third.body.id)).status,
        ],
        ["read", "read", "sent"],
      );
      const history = (await status(second.body.id)).status_history.map((h: { status: string }) => h.status);
      assert.deepEqual(history, ["sending", "sent", "read"]);
      vk.control.read(world.groupId, client.userId);
      await relay();
      assert.equal((await status(third.body.id)).status, "read");
    });

    it("posts a message's status callbacks in order, SENT before READ, even when the first delivery fails", async () => {
      const { world, client, relay } = await setup();
      const receiver = await Receiver.start();
      try {
        // The receiver fails its first request: READ must wait until SENT got through.
        receiver.answer = () => (receiver.receipts.length === 1 ? { status: 502 } : { status: 200 });
        const res = await hub.request("POST", "/v1/messages", {
          body: {
            recipient: { contact_id: client.contact.id },
            routes: [world.channel.id],
            text: "статусы по порядку",
            status_url: `${receiver.url}/status`,
          },
        });
        const id = res.body.results[0].message_id;
        await deliverQueued(world);
        vk.control.read(world.groupId, client.userId);
        await relay();
        assert.equal((await hub.request("GET", `/v1/messages/${id}`)).body.status, "read");
        const clock = new TestClock();
        const deliveries = testDeliveryWorker({ store, box: hub.box }, { clock });
        await deliveries.drain();
        clock.advance(6_000);
        await deliveries.drain();
        const statuses = receiver.receipts.map((r) => [
          r.headers["webhook-attempt"],
          JSON.parse(r.body)[0].status,
        ]);
        assert.deepEqual(statuses, [
          ["1", "SENT"],
          ["2", "SENT"],
          ["1", "READ"],
        ]);
      } finally {
        await receiver.down();
      }
    });

    it("splits a long text into ordered parts, each its own VK message, with no admin-echo duplicates", async () => {
      const { world, client, relay } = await setup({ settings: { textLimit: 100 } });
      const text = words(60);
      const res = await send(client.conversation.id, { text });
      assertStatus(res, 201);
      const parts = res.body.parts as { id: string; part: number; status: string; external_id: string }[];
      assert.ok(parts.length >= 5, `${parts.length} parts`);
      assert.deepEqual(
        parts.map((p) => p.part),
        parts.map((_, i) => i),
      );
      assert.ok(parts.every((p) => p.status === "sent" && p.external_id));
      const received = sentTo(world, client);
      assert.equal(received.length, parts.length);
      assert.ok(received.every((m) => [...m.text].length <= 100));
      assert.equal(received.map((m) => m.text).join(" "), text, "in order, split between words");
      assert.deepEqual(
        received.map((m) => m.randomId),
        parts.map((_, i) => String(randomIdFor(res.body.id, i))),
      );

      await relay();
      const stored = await rows(world);
      assert.equal(stored.length, parts.length, "every part's echo was matched");
      assert.ok(stored.every((m) => m.authorKind === "api" && m.status === "sent"));
      const second = await hub.request("GET", `/v1/messages/${parts[1]?.id}`);
      assertStatus(second, 200);
      assert.equal(second.body.part_of, res.body.id);
      assert.equal(second.body.parts.length, parts.length);
    });

    it("refuses a text over the limit when splitting is off, storing and sending nothing", async () => {
      const { world, client } = await setup({ settings: { textLimit: 100 } });
      const res = await send(client.conversation.id, { text: words(60), split: false });
      assertError(res, 422, "vk_text_too_long");
      assert.equal((await rows(world)).length, 0);
      assert.equal(sentTo(world, client).length, 0);
    });

    it("answers empty_message, as the send API does, to a message without content, storing nothing", async () => {
      const { world, client } = await setup();
      for (const body of [{}, { text: "  \n " }, { text: "", attachments: [] }]) {
        assertError(await send(client.conversation.id, body), 400, "empty_message");
      }
      const sent = await send(client.conversation.id, { text: "есть" });
      assertStatus(sent, 201);
      const edited = await hub.request("PATCH", `/v1/messages/${sent.body.id}`, { body: { text: " " } });
      assertError(edited, 400, "empty_message");
      assert.equal((await rows(world)).length, 1);
      assert.deepEqual(
        sentTo(world, client).map((m) => m.text),
        ["есть"],
      );
    });

    it("sends inline and standard keyboards as VK keyboard JSON", async () => {
      const { world, client } = await setup();
      const inline = await send(client.conversation.id, {
        text: "Выберите",
        keyboard: {
          inline: true,
          rows: [
            [{ type: "callback", label: "Купить", payload: { item: 7 }, color: "positive" }],
            [{ type: "link", label: "Сайт", url: "https://example.com/shop" }],
          ],
        },
      });
      assertStatus(inline, 201);
      assert.equal(inline.body.keyboard.inline, true);
      const standard = await send(client.conversation.id, {
        text: "Меню",
        keyboard: {
          one_time: true,
          rows: [
            [
              { type: "text", label: "Да" },
              { type: "text", label: "Нет" },
            ],
          ],
        },
      });
      assertStatus(standard, 201);
      // The exact `keyboard` parameter each send carried.
      const [first, second] = vk.control
        .requests({ method: "messages.send", groupId: world.groupId })
        .map((r) => JSON.parse(r.params.keyboard ?? "null"));
      assert.deepEqual(first, {
        inline: true,
        buttons: [
          [{ action: { type: "callback", label: "Купить", payload: '{"item":7}' }, color: "positive" }],
          [{ action: { type: "open_link", link: "https://example.com/shop", label: "Сайт" } }],
        ],
      });
      assert.deepEqual(second, {
        one_time: true,
        buttons: [
          [
            { action: { type: "text", label: "Да" }, color: "secondary" },
            { action: { type: "text", label: "Нет" }, color: "secondary" },
          ],
        ],
      });
      assert.ok(
        sentTo(world, client).every((m) => m.keyboard),
        "VK kept both keyboards",
      );

      const tooMany = Array.from({ length: 11 }, (_, i) => [{ type: "text", label: `b${i}` }]);
      assertError(
        await send(client.conversation.id, { text: "x", keyboard: { inline: true, rows: tooMany } }),
        422,
        "vk_keyboard_too_many_rows",
      );
      const wrongOnAnyChannel = await send(client.conversation.id, {
        text: "x",
        keyboard: {
          inline: true,
          rows: [[{ type: "text", label: "" }], [{ type: "link", label: "Сайт", url: "ftp://example.com" }]],
        },
      });
      assertError(wrongOnAnyChannel, 400, "validation_failed", [
        "keyboard.rows.0.0.label",
        "keyboard.rows.1.0.url",
      ]);
      assert.deepEqual(
        wrongOnAnyChannel.body.error.details.map((d: { detail: string }) => d.detail),
        ["a button needs a label", "a link button's url must be an http or https URL"],
      );
    });

    it("uploads a photo and a document given by URL with the three-step upload", async () => {
      const { world, client } = await setup();
      const res = await send(client.conversation.id, {
        text: "Чек и фото",
        attachments: [
          { kind: "photo", url: files.url("/photo.png") },
          { kind: "document", url: files.url("/report.pdf"), name: "Отчёт.pdf" },
        ],
      });
      assertStatus(res, 201);
      assert.match(res.body.attachments[0].externalId, /^photo-\d+_\d+/);
      assert.match(res.body.attachments[1].externalId, /^doc-\d+_\d+/);
      const [at] = sentTo(world, client);
      assert.deepEqual(
        at?.attachments.map((a) => a.type),
        ["photo", "doc"],
      );
      const uploads = vk.control.uploads({ groupId: world.groupId });
      assert.deepEqual(
        uploads.map((u) => [u.kind, u.accepted, u.probe.container]),
        [
          ["photo", true, "png"],
          ["doc", true, "unknown"],
        ],
      );
      assert.equal(uploads[1]?.filename, "Отчёт.pdf");

      const missing = await send(
        client.conversation.id,
        { attachments: [{ kind: "photo", url: files.url("/nothing.png") }] },
        { "accept-language": "ru" },
      );
      const id = assertSendError(missing, 422, "media_url_unusable");
      // The reason is in the answer's language, as the rest of it.
      assert.match(
        missing.body.error.message,
        /^Вложение по адресу .* нельзя использовать: сервер ответил 404$/,
      );
      assert.equal((await hub.request("GET", `/v1/messages/${id}`)).body.status, "failed");
    });

    it("sends a voice message converted from MP3 to OGG/Opus, mono, 16 kHz", async () => {
      const { world, client } = await setup();
      const res = await send(client.conversation.id, {
        attachments: [{ kind: "voice", url: files.url("/voice.mp3") }],
      });
      assertStatus(res, 201);
      // What reached VK, through the emulator's control API.
      const list = (await (
        await fetch(`${vk.url}/_control/uploads?groupId=${world.groupId}&kind=audio_message`)
      ).json()) as { id: number; probe: Record<string, unknown> }[];
      assert.equal(list.length, 1);
      assert.deepEqual(
        { ...list[0]?.probe, durationSec: undefined },
        { container: "ogg", codec: "opus", channels: 1, sampleRate: 16_000, durationSec: undefined },
      );
      const bytes = Buffer.from(
        await (await fetch(`${vk.url}/_control/uploads/${list[0]?.id}/bytes`)).arrayBuffer(),
      );
      const dir = await mkdtemp(join(tmpdir(), "switchboard-voice-"));
      try {
        await import("node:fs/promises").then((fs) => fs.writeFile(join(dir, "v.ogg"), bytes));
        const { stdout } = await run("ffprobe", [
          ...["-v", "error", "-show_entries", "stream=codec_name,channels,sample_rate", "-of", "json"],
          join(dir, "v.ogg"),
        ]);
        const [stream] = JSON.parse(stdout).streams;
        // ffprobe reports Opus's decoding rate (48 kHz); the header's input rate is 16 kHz (above).
        assert.deepEqual([stream.codec_name, stream.channels], ["opus", 1]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      const [at] = sentTo(world, client);
      assert.equal(at?.attachments[0]?.type, "audio_message");
    });

    it("says why a file could not become a voice message, in the answer's language", async () => {
      const { world, client } = await setup();
      const voice = { attachments: [{ kind: "voice", url: files.url("/report.pdf") }] };
      const english = await send(client.conversation.id, voice);
      assertSendError(english, 422, "media_conversion_failed");
      assert.equal(
        english.body.error.message,
        "The audio could not be converted to a voice message: ffmpeg reported: input: Invalid data found when processing input",
      );
      const russian = await send(client.conversation.id, voice, { "accept-language": "ru" });
      assertSendError(russian, 422, "media_conversion_failed");
      assert.equal(
        russian.body.error.message,
        "Не удалось преобразовать аудио в голосовое сообщение: ffmpeg сообщил: input: Invalid data found when processing input",
      );
      assert.deepEqual(sentTo(world, client), []);
    });

    it("fails an MP3 sent as a document at once with vk_file_refused, sending nothing", async () => {
      const { world, client } = await setup();
      const res = await send(client.conversation.id, {
        attachments: [{ kind: "document", url: files.url("/voice.mp3") }],
      });
      const id = assertSendError(res, 422, "vk_file_refused");
      assert.match(res.body.error.message, /mp3/i);
      const stored = await hub.request("GET", `/v1/messages/${id}`);
      assert.deepEqual([stored.body.status, stored.body.error_code], ["failed", "vk_file_refused"]);
      assert.deepEqual(sentTo(world, client), []);
    });

    it("says ffmpeg_missing when ffmpeg is absent", async () => {
      const { client } = await setup();
      const path = process.env.PATH;
      process.env.PATH = "/nonexistent";
      let res: TestResponse;
      try {
        res = await send(client.conversation.id, {
          attachments: [{ kind: "voice", url: files.url("/voice.mp3") }],
        });
      } finally {
        process.env.PATH = path;
      }
      const id = assertSendError(res, 500, "ffmpeg_missing");
      const stored = await hub.request("GET", `/v1/messages/${id}`);
      assert.deepEqual([stored.body.status, stored.body.error_code], ["failed", "ffmpeg_missing"]);
    });

    it("edits a sent message in VK and records a hub version; its echo adds no version", async () => {
      const { world, client, relay } = await setup();
      const sent = await send(client.conversation.id, { text: "Цена 100 руб" });
      assertStatus(sent, 201);
      await relay();
      const edited = await hub.request("PATCH", `/v1/messages/${sent.body.id}`, {
        body: { text: "Цена 90 руб" },
      });
      assertStatus(edited, 200);
      assert.equal(edited.body.text, "Цена 90 руб");
      const [edit] = outbox(world).edits;
      assert.equal(edit?.messageId, Number(sent.body.external_id));
      assert.equal(edit?.after.text, "Цена 90 руб");
      assert.equal(sentTo(world, client)[0]?.text, "Цена 90 руб");

      await relay(); // VK's message_edit of our own edit
      const versions = await store.db
        .select()
        .from(messageVersion)
        .where(eq(messageVersion.messageId, sent.body.id));
      assert.deepEqual(versions.map((v) => [v.version, v.text, v.source]).sort(), [
        [0, "Цена 100 руб", "hub"],
        [1, "Цена 90 руб", "hub"],
      ]);
      const got = await hub.request("GET", `/v1/messages/${sent.body.id}`);
      assert.deepEqual(
        got.body.versions.map((v: { version: number; text: string }) => [v.version, v.text]),
        [
          [0, "Цена 100 руб"],
          [1, "Цена 90 руб"],
        ],
      );

      assertError(
        await hub.request("PATCH", `/v1/messages/${sent.body.id}`, { body: { text: "x".repeat(5000) } }),
        422,
        "vk_text_too_long",
      );
      vk.control.writeMessage(world.groupId, { userId: client.userId, text: "Спасибо" });
      await relay();
      const [inbound] = (await rows(world)).filter((m) => m.direction === "inbound");
      assertError(
        await hub.request("PATCH", `/v1/messages/${inbound?.id}`, { body: { text: "Подделка" } }),
        409,
        "message_not_editable",
      );
    });

    it("edits a message with a photo: VK's echo of the edit, in VK's words, adds no version", async () => {
      const { world, client, relay } = await setup();
      const sent = await send(client.conversation.id, {
        text: "Фото товара",
        attachments: [{ kind: "photo", url: files.url("/photo.png") }],
      });
      assertStatus(sent, 201);
      const edited = await hub.request("PATCH", `/v1/messages/${sent.body.id}`, {
        body: {
          text: "Фото товара (новое)",
          keyboard: { inline: true, rows: [[{ type: "text", label: "Ок" }]] },
        },
      });
      assertStatus(edited, 200);
      assert.equal(edited.body.keyboard.rows[0][0].label, "Ок");
      const [edit] = outbox(world).edits;
      assert.equal(edit?.after.attachments.length, 1, "the photo stays");
      await relay();
      const got = await hub.request("GET", `/v1/messages/${sent.body.id}`);
      assert.deepEqual(
        got.body.versions.map((v: { source: string; text: string }) => [v.source, v.text]),
        [
          ["hub", "Фото товара"],
          ["hub", "Фото товара (новое)"],
        ],
      );
      assert.equal(got.body.attachments[0].url, files.url("/photo.png"), "the hub's record is kept");
    });

    it("takes the platform's version of the hub's own edit, applied first, as the hub's", async () => {
      const { client } = await setup();
      const sent = await send(client.conversation.id, { text: "раз" });
      assertStatus(sent, 201);
      // The echo won the race: intake applied it before the hub's bookkeeping.
      await recordEdit(store.db, sent.body.id, { text: "два", attachments: [], source: "platform" });
      await recordHubEdit(store.db, sent.body.id, { text: "два", attachments: [] });
      const got = await hub.request("GET", `/v1/messages/${sent.body.id}`);
      assert.deepEqual(
        got.body.versions.map((v: { version: number; source: string; text: string }) => [
          v.version,
          v.source,
          v.text,
        ]),
        [
          [0, "hub", "раз"],
          [1, "hub", "два"],
        ],
      );
    });

    it("deletes a message (every part of a split one) for everyone", async () => {
      const { world, client } = await setup({ settings: { textLimit: 100 } });
      const sent = await send(client.conversation.id, { text: words(30) });
      assertStatus(sent, 201);
      const deleted = await hub.request("DELETE", `/v1/messages/${sent.body.id}`);
      assertStatus(deleted, 200);
      assert.ok(deleted.body.deleted_at);
      assert.ok(deleted.body.parts.every((p: { deleted_at: string | null }) => p.deleted_at));
      const deletions = outbox(world).deletions;
      assert.equal(deletions.length, sent.body.parts.length);
      assert.ok(deletions.every((d) => d.forAll));
      assertError(await hub.request("DELETE", `/v1/messages/${sent.body.id}`), 409, "message_not_editable");
    });

    it("replies to a wall comment with wall.createComment, and refuses comments on a photo", async () => {
      const { world, relay } = await setup();
      const post = vk.control.createWallPost(world.groupId, { text: "Распродажа!" });
      const user = vk.control.createUser({ firstName: "Oleg" });
      const first = vk.control.commentWallPost(world.groupId, post.post.id, {
        userId: user.id,
        text: "Цена?",
      });
      const latest = vk.control.commentWallPost(world.groupId, post.post.id, {
        userId: user.id,
        text: "А доставка?",
      });
      await relay();
      const thread = await commentsThread(world);

      const reply = await send(thread.id, { text: "Доставка бесплатная" });
      assertStatus(reply, 201);
      assert.match(reply.body.link, /\?reply=\d+$/);
      const [stored] = outbox(world).comments;
      assert.equal(stored?.text, "Доставка бесплатная");
      assert.equal(stored?.replyToComment, latest.comment.id, "defaults to the latest client comment");
      assert.equal(stored?.guid, `sb-${reply.body.id}-0`);

      const firstRow = (await rows(world)).find((m) => m.externalId?.endsWith(`:c${first.comment.id}`));
      const explicit = await send(thread.id, { text: "Цена 500", reply_to_message_id: firstRow?.id });
      assertStatus(explicit, 201);
      assert.equal(outbox(world).comments[1]?.replyToComment, first.comment.id);

      await relay(); // wall_reply_new of our own comments
      const outbound = (await rows(world)).filter((m) => m.direction === "outbound");
      assert.deepEqual(
        outbound.map((m) => m.authorKind),
        ["api", "api"],
        "the comments' echoes are not stored again",
      );
      assertError(
        await send(thread.id, { text: "x", keyboard: { rows: [[{ type: "text", label: "a" }]] } }),
        400,
        "validation_failed",
        ["keyboard"],
      );

      vk.control.comment("photo", world.groupId, { userId: user.id, text: "Красиво", objectId: 456 });
      await relay();
      const [photoThread] = await store.db
        .select()
        .from(conversation)
        .where(
          and(
            eq(conversation.channelAccountId, world.channel.id),
            eq(conversation.externalRef, `photo-${world.groupId}_456`),
          ),
        );
      const refused = await send(photoThread?.id ?? "", { text: "Спасибо" });
      assertError(refused, 422, "vk_comment_reply_unsupported");
      assert.match(refused.body.error.remedy, /VK itself/);
      assert.equal(outbox(world).comments.length, 2);
    });

    it("keeps one record of a comment reply whose echo comes before the send is recorded (Long Poll)", async () => {
      const { world, relay } = await setup();
      const post = vk.control.createWallPost(world.groupId, { text: "Новинки" });
      const user = vk.control.createUser({ firstName: "Ira" });
      vk.control.commentWallPost(world.groupId, post.post.id, { userId: user.id, text: "Есть размер M?" });
      await relay();
      const thread = await commentsThread(world);
      // VK's wall_reply_new of the reply reaches intake before the hub has written down the send.
      beforeNextBookkeeping = relay;
      const reply = await send(thread.id, { text: "Есть, завтра привезём" });
      assertStatus(reply, 201);
      assert.equal(reply.body.status, "sent");
      await waitFor("the echo applied", async () => {
        await relay();
        return (await store.db.$count(inboundEvent, isNull(inboundEvent.processedAt))) === 0;
      });
      const outbound = (await rows(world)).filter((m) => m.direction === "outbound");
      assert.deepEqual(
        outbound.map((m) => [m.id, m.authorKind, m.externalId]),
        [[reply.body.id, "api", reply.body.external_id]],
      );
      const announced = await store.db
        .select()
        .from(webhookEvent)
        .where(and(eq(webhookEvent.channelId, world.channel.id), eq(webhookEvent.type, "message.sent")));
      assert.deepEqual(
        announced.map((event) => (event.payload as { data: { message: { id: string } } }).data.message.id),
        [reply.body.id],
        "announced once, as the hub's",
      );
    });

    it("sends to a lead's contact directly", async () => {
      const { world, relay } = await setup();
      const user = vk.control.createUser({ firstName: "Lena", allowsMessages: true });
      vk.control.submitLeadForm(world.groupId, {
        userId: user.id,
        formName: "Запись",
        answers: [{ key: "phone_number", answer: "+79161234567" }],
      });
      await relay();
      const [lead] = await store.db
        .select()
        .from(conversation)
        .where(and(eq(conversation.channelAccountId, world.channel.id), eq(conversation.kind, "lead")));
      const res = await send(lead?.id ?? "", { text: "Записали вас на пятницу" });
      assertStatus(res, 201);
      assert.equal(res.body.conversation_id, lead?.id);
      assert.equal(vk.control.conversation(world.groupId, user.id).at(-1)?.text, "Записали вас на пятницу");
    });

    for (const code of [6, 10]) {
      it(`retries VK error ${code} within the request and sends exactly once`, async () => {
        const { world, client } = await setup();
        vk.control.addFault({ target: "messages.send", groupId: world.groupId, error: { code } });
        const res = await send(client.conversation.id, { text: `после ошибки ${code}` });
        assertStatus(res, 201);
        assert.equal(sentTo(world, client).length, 1);
        const stored = await hub.request("GET", `/v1/messages/${res.body.id}`);
        assert.equal(stored.body.status, "sent");
        const [row] = await rows(world);
        assert.equal(row?.attempts, 2);
      });
    }

    it("retries a dropped connection and sends exactly once", async () => {
      const { world, client } = await setup();
      vk.control.addFault({ target: "messages.send", groupId: world.groupId, drop: true });
      assertStatus(await send(client.conversation.id, { text: "сквозь обрыв" }), 201);
      assert.equal(sentTo(world, client).length, 1);
    });

    for (const [code, expected] of [
      [9, "vk_flood_control"],
      [29, "vk_rate_limit_reached"],
    ] as const) {
      it(`leaves a message queued on VK error ${code} (its wait exceeds the window); the dispatcher sends it once`, async () => {
        const { world, client } = await setup();
        vk.control.addFault({ target: "messages.send", groupId: world.groupId, error: { code } });
        const headers = { "idempotency-key": `retry-${code}-${world.groupId}` };
        const first = await send(client.conversation.id, { text: `ошибка ${code}` }, headers);
        assertStatus(first, 202);
        assert.deepEqual([first.body.status, first.body.error_code], ["queued", expected]);
        const wait = Number(first.headers.get("retry-after"));
        assert.ok(wait >= 30);
        const [row] = await store.db.select().from(message).where(eq(message.id, first.body.id));
        const queuedAt = new Date(first.body.status_history.at(-1).at).getTime();
        assert.ok(
          Math.abs((row?.notBefore?.getTime() ?? 0) - (queuedAt + wait * 1000)) < 1_000,
          "due after VK's wait",
        );
        assert.equal(sentTo(world, client).length, 0);

        const again = await send(client.conversation.id, { text: `ошибка ${code}` }, headers);
        assertStatus(again, 202);
        assert.equal(again.body.id, first.body.id, "the repeat answers the same message");
        assert.equal(again.headers.get("idempotent-replayed"), "true");
        assert.equal(again.headers.get("retry-after"), String(wait), "the replay says when, too");
        await deliverQueued(world);
        assert.equal(sentTo(world, client).length, 1);
      });
    }

    it("keeps the lease of a send slower than a lease, so no dispatcher takes it over", async () => {
      const { world, client } = await setup();
      const leaseMs = 300;
      const slow = createSendService({
        db: store.db,
        box: hub.box,
        logger: silent,
        leaseMs,
        egress: hub.egress,
      });
      const fault = vk.control.addFault({ target: "messages.send", groupId: world.groupId, delayMs: 1_200 });
      try {
        const sending = slow.send(hub.admin.workspaceId, client.conversation.id, {
          text: "медленно",
          author: { kind: "api", ref: null },
        });
        // Four leases later, a dispatcher looking for sends whose sender died finds none.
        await new Promise((done) => setTimeout(done, 4 * leaseMs));
        const now = new Date();
        const orphans = await claimDue(store.db, world.channel.id, {
          limit: 10,
          now,
          leaseUntil: new Date(now.getTime() + 60_000),
        });
        assert.deepEqual(orphans, []);
        const result = await sending;
        assert.equal(result.ok, true);
        assert.equal(sentTo(world, client).length, 1);
      } finally {
        vk.control.removeFault(fault.id);
        slow.close();
      }
    });

    it("leaves a failure that outlasts the window to the dispatcher, which sends it once", async () => {
      const { world, client } = await setup();
      const fault = vk.control.addFault({
        target: "messages.send",
        groupId: world.groupId,
        error: { code: 10 },
        always: true,
      });
      const started = Date.now();
      const keyed = await send(
        client.conversation.id,
        { text: "ключ" },
        { "idempotency-key": `down-${world.groupId}` },
      );
      assertStatus(keyed, 202);
      assert.ok(Date.now() - started < 7_000, "bounded by the window");
      const plain = await send(client.conversation.id, { text: "без ключа" });
      assertStatus(plain, 202);
      for (const res of [keyed, plain])
        assert.deepEqual([res.body.status, res.body.error_code], ["queued", "vk_internal_error"]);
      vk.control.removeFault(fault.id);
      assert.equal(sentTo(world, client).length, 0);

      await deliverQueued(world);
      for (const id of [keyed.body.id, plain.body.id]) {
        const { body } = await hub.request("GET", `/v1/messages/${id}`);
        const history = body.status_history.map((h: { status: string; error_code: string | null }) => [
          h.status,
          h.error_code,
        ]);
        assert.deepEqual(history.at(-1), ["sent", null]);
        assert.ok(
          history.some(([s, code]: string[]) => s === "queued" && code === "vk_internal_error"),
          JSON.stringify(history),
        );
      }
      assert.deepEqual(
        sentTo(world, client)
          .map((m) => m.text)
          .sort(),
        ["без ключа", "ключ"],
      );
    });

    for (const [code, status, expected] of [
      [900, 422, "vk_recipient_blacklisted"],
      [901, 422, "vk_messages_not_allowed"],
      [902, 422, "vk_privacy_settings"],
      [914, 422, "vk_message_too_long"],
      [911, 422, "vk_keyboard_invalid"],
      [100, 422, "vk_invalid_parameter"],
      [912, 422, "vk_bot_features_disabled"],
    ] as const) {
      it(`fails for good on VK error ${code} with ${expected} and its remedy`, async () => {
        const { world, client } = await setup();
        vk.control.addFault({ target: "messages.send", groupId: world.groupId, error: { code } });
        const res = await send(client.conversation.id, { text: `ошибка ${code}` });
        const id = assertSendError(res, status, expected);
        assert.equal(res.body.error.upstream_code, String(code));
        const stored = await hub.request("GET", `/v1/messages/${id}`);
        assert.deepEqual([stored.body.status, stored.body.error_code], ["failed", expected]);
        assert.equal(sentTo(world, client).length, 0);
        const ru = await send(client.conversation.id, { text: "ещё" }, { "accept-language": "ru" });
        assert.equal(ru.status, 201, "the fault was injected once");
      });
    }

    it("sends through the next token when VK refuses one (5), records it dead, and fails the channel when none is left", async () => {
      const { world, client } = await setup({ tokens: 2 });
      const [dead, live] = world.tokens as [string, string];
      vk.control.addFault({
        target: "*",
        token: dead,
        error: { code: 5, detail: "invalid access_token (4)." },
        always: true,
      });
      assertStatus(await send(client.conversation.id, { text: "через второй ключ" }), 201);
      assert.equal(sentTo(world, client).length, 1);
      const reread = async () => {
        const found = await findChannelAccount(store.db, world.channel.id);
        assert.ok(found);
        return { channel: found, credentials: readCredentials(hub.box, found) };
      };
      let { channel, credentials } = await reread();
      assert.deepEqual(credentials.deadTokens, [tokenFingerprint(dead)]);
      assert.notEqual(channel.state, "failing");

      vk.control.revokeToken(live); // "the key was deleted in the community's settings": 27
      const res = await send(client.conversation.id, { text: "некуда" });
      assertSendError(res, 424, "vk_group_auth_failed");
      ({ channel, credentials } = await reread());
      assert.equal(channel.state, "failing");
      assert.match(channel.stateReason ?? "", /No working access token is left.*Add a new one/);
      assert.deepEqual(
        (credentials.deadTokens as string[]).sort(),
        [tokenFingerprint(dead), tokenFingerprint(live)].sort(),
      );
      const calls = vk.control.requests({ method: "messages.send", groupId: world.groupId }).length;
      assertSendError(await send(client.conversation.id, { text: "снова" }), 424, "vk_no_tokens");
      assert.equal(vk.control.requests({ method: "messages.send", groupId: world.groupId }).length, calls);
    });

    it("after a crash between VK's answer and the bookkeeping, a repeat leaves exactly one message at VK", async () => {
      const { world, client, relay } = await setup();
      const body = { text: "Ровно один раз" };
      const key = `crash-${world.groupId}`;
      const path = `/v1/conversations/${client.conversation.id}/messages`;
      crashAfterNextSend = true;
      const crashed = await send(client.conversation.id, body, { "idempotency-key": key });
      assertError(crashed, 500, "internal_error");
      assert.equal(sentTo(world, client).length, 1, "VK took it");
      const [row] = await rows(world);
      assert.equal(row?.status, "sending", "the hub never recorded the answer");

      // A process that died leaves its idempotency claim behind: repeats wait while it is fresh...
      const requestHash = createHash("sha256")
        .update(`POST ${path}\n${JSON.stringify(body)}`)
        .digest("hex");
      await store.db
        .insert(idempotencyRecord)
        .values({ workspaceId: hub.admin.workspaceId, key, requestHash });
      assertError(
        await send(client.conversation.id, body, { "idempotency-key": key }),
        409,
        "idempotency_request_in_progress",
      );
      // ...and take over once it is abandoned (60 s).
      await store.db
        .update(idempotencyRecord)
        .set({ createdAt: new Date(Date.now() - 61_000) })
        .where(and(eq(idempotencyRecord.workspaceId, hub.admin.workspaceId), eq(idempotencyRecord.key, key)));
      const repeat = await send(client.conversation.id, body, { "idempotency-key": key });
      assertStatus(repeat, 201);
      assert.equal(repeat.body.id, row?.id);
      assert.equal(repeat.body.status, "sent");
      assert.equal(repeat.body.external_id, String(sentTo(world, client)[0]?.id));
      assert.equal(sentTo(world, client).length, 1, "VK dropped the repeat as a duplicate random_id");
      assert.equal(vk.control.requests({ method: "messages.send", groupId: world.groupId }).length, 2);

      const replay = await send(client.conversation.id, body, { "idempotency-key": key });
      assert.equal(replay.headers.get("idempotent-replayed"), "true");
      await relay();
      assert.equal((await rows(world)).length, 1);
    });

    it("refuses to send while the client denied messages, until they allow again, and shows the consent on the contact", async () => {
      const { world, client, relay } = await setup();
      vk.control.denyMessages(world.groupId, client.userId);
      await relay();
      const refused = await send(client.conversation.id, { text: "Акция!" });
      assertError(refused, 422, "contact_refused_messages");
      assert.equal(refused.headers.get("x-message-id"), null, "nothing was stored");
      const ru = await send(client.conversation.id, { text: "Акция!" }, { "accept-language": "ru" });
      assert.match(ru.body.error.message, /отказался от получения сообщений/);
      assert.equal((await rows(world)).length, 0);
      assert.equal(sentTo(world, client).length, 0);
      const consent = async () =>
        (await hub.request("GET", `/v1/contacts/${client.contact.id}`)).body.identities[0].consent;
      const [denied] = await consent();
      assert.deepEqual([denied.channel_id, denied.state], [world.channel.id, "denied"]);

      vk.control.allowMessages(world.groupId, client.userId);
      await relay();
      assertStatus(await send(client.conversation.id, { text: "Акция!" }), 201);
      assert.equal(sentTo(world, client).length, 1);
      const [allowed] = await consent();
      assert.deepEqual([allowed.channel_id, allowed.state], [world.channel.id, "allowed"]);
      assert.ok(allowed.changed_at >= denied.changed_at);
    });

    it("answers ::bot_info with the channel's state, mode, last event and queue depth, in the client's language", async () => {
      const { world, client, relay } = await setup();
      vk.control.updateUser(client.userId, { clientInfo: { lang_id: 3 } });
      vk.control.writeMessage(world.groupId, { userId: client.userId, text: "::bot_info" });
      await relay();
      const [answer] = sentTo(world, client);
      assert.ok(answer, "the hub answered");
      assert.match(answer.text, /State: connecting/);
      assert.match(answer.text, /Mode: callback/);
      assert.match(answer.text, /Last event: \d{4}-\d\d-\d\dT/);
      assert.match(
        answer.text,
        /Queue: 0 inbound event\(s\) waiting, 0 outbound message\(s\) queued or sending/,
      );
      await relay(); // the answer's echo
      await relay();
      const outbound = (await rows(world)).filter((m) => m.direction === "outbound");
      assert.deepEqual(
        outbound.map((m) => [m.authorKind, m.authorRef, m.status]),
        [["bot", "bot_info", "sent"]],
      );
      assert.equal(sentTo(world, client).length, 1);

      // VK's lang_id 0: the app speaks Russian.
      vk.control.updateUser(client.userId, { clientInfo: { lang_id: 0 } });
      vk.control.writeMessage(world.groupId, { userId: client.userId, text: "::bot_info" });
      await relay();
      const russian = sentTo(world, client)[1];
      assert.match(String(russian?.text), /^Switchboard: состояние бота\n/);
      assert.match(String(russian?.text), /Состояние: \w+ с \d{4}-/);
      assert.match(String(russian?.text), /Режим: callback/);

      const quiet = await setup({ settings: { botInfoCommand: "" } });
      vk.control.writeMessage(quiet.world.groupId, { userId: quiet.client.userId, text: "::bot_info" });
      await quiet.relay();
      assert.equal(sentTo(quiet.world, quiet.client).length, 0, "switched off");
    });

    it("answers a callback button press once, refuses a second answer, and says when VK no longer takes one", async () => {
      const { world, client, relay } = await setup();
      const sent = await send(client.conversation.id, {
        text: "Подтвердите",
        keyboard: { inline: true, rows: [[{ type: "callback", label: "OK", payload: { ok: 1 } }]] },
      });
      assertStatus(sent, 201);
      vk.control.pressButton(world.groupId, { userId: client.userId, label: "OK" });
      vk.control.allowMessages(world.groupId, client.userId);
      await relay();
      const [press] = await buttonPresses(world);
      assert.ok(press);
      const answer = await hub.request("POST", `/v1/contact-events/${press.id}/answer`, {
        body: { type: "snackbar", text: "Готово" },
      });
      assertStatus(answer, 200);
      assert.equal(answer.body.data.answer.type, "snackbar");
      assert.deepEqual(outbox(world).eventAnswers[0]?.eventData, { type: "show_snackbar", text: "Готово" });
      const again = await hub.request("POST", `/v1/contact-events/${press.id}/answer`, {
        body: { type: "none" },
      });
      assertError(again, 409, "contact_event_answered");
      assert.ok(again.body.error.message.includes(answer.body.data.answer.at));
      assert.equal(outbox(world).eventAnswers.length, 1, "the second answer never reached VK");

      // A press VK no longer knows (its minute is over, or VK restarted) cannot be answered.
      const [stale] = await store.db
        .insert(contactEvent)
        .values({
          workspaceId: press.workspaceId,
          channelAccountId: press.channelAccountId,
          contactId: press.contactId,
          kind: "button_pressed",
          data: { ...press.data, event_id: "gone" },
        })
        .returning();
      const late = await hub.request("POST", `/v1/contact-events/${stale?.id}/answer`, {
        body: { type: "none" },
      });
      assertError(late, 410, "vk_button_event_expired");

      const [allowed] = await store.db
        .select()
        .from(contactEvent)
        .where(
          and(eq(contactEvent.channelAccountId, world.channel.id), eq(contactEvent.kind, "consent_changed")),
        );
      assertError(
        await hub.request("POST", `/v1/contact-events/${allowed?.id}/answer`, { body: { type: "none" } }),
        409,
        "contact_event_not_button",
      );
    });

    it("answers a button press of a contact with two VK accounts (after a merge) to the account that pressed", async () => {
      const { world, client, relay } = await setup();
      const second = await vkClient(hub, world, { name: "Анна со второго аккаунта" });
      const sent = await send(second.conversation.id, {
        text: "Подтвердите",
        keyboard: { inline: true, rows: [[{ type: "callback", label: "OK", payload: { ok: 1 } }]] },
      });
      assertStatus(sent, 201);
      const merged = await hub.request("POST", `/v1/contacts/${client.contact.id}/merge`, {
        body: { source_contact_id: second.contact.id },
      });
      assertStatus(merged, 200);
      vk.control.pressButton(world.groupId, { userId: second.userId, label: "OK" });
      await relay();
      const [press] = await buttonPresses(world);
      assert.equal(press?.contactId, client.contact.id, "the press belongs to the merged contact");
      const answer = await hub.request("POST", `/v1/contact-events/${press?.id}/answer`, {
        body: { type: "snackbar", text: "Готово" },
      });
      assertStatus(answer, 200);
      assert.deepEqual(
        outbox(world).eventAnswers.map((a) => [a.userId, a.eventData]),
        [[second.userId, { type: "show_snackbar", text: "Готово" }]],
      );
    });

    it("sends to a merged contact through its VK account that did not refuse messages", async () => {
      const { world, client, relay } = await setup();
      const second = await vkClient(hub, world, { name: "Анна со второго аккаунта" });
      const merged = await hub.request("POST", `/v1/contacts/${client.contact.id}/merge`, {
        body: { source_contact_id: second.contact.id },
      });
      assertStatus(merged, 200);
      // The older account, which the contact was made from, refuses; the merged-in one does not.
      vk.control.denyMessages(world.groupId, client.userId);
      await relay();
      const res = await hub.request("POST", "/v1/messages", {
        body: { recipient: { contact_id: client.contact.id }, text: "Заказ готов" },
      });
      assertStatus(res, 200);
      assert.equal(res.body.results[0].code, "OK", JSON.stringify(res.body));
      await deliverQueued(world);
      assert.deepEqual(
        [sentTo(world, client).length, sentTo(world, second).map((m) => m.text)],
        [0, ["Заказ готов"]],
      );
      // Both refusing, the contact refused the channel.
      vk.control.denyMessages(world.groupId, second.userId);
      await relay();
      const refused = await hub.request("POST", "/v1/messages", {
        body: { recipient: { contact_id: client.contact.id }, text: "Ещё одно" },
      });
      assert.deepEqual(
        [refused.body.results[0].code, refused.body.results[0].reasons.map((r: { key: string }) => r.key)],
        ["REJECTED", ["contact_refused_messages"]],
      );
    });

    it("refuses to send through a disabled channel", async () => {
      const { world, client } = await setup();
      assertStatus(await hub.request("POST", `/v1/channels/${world.channel.id}/disable`), 200);
      assertError(await send(client.conversation.id, { text: "x" }), 409, "channel_disabled");
      assert.equal(sentTo(world, client).length, 0);
    });
  });
}
