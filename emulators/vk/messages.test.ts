import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { emulatorWithCommunity } from "./test-support.ts";

const button = (label: string, type = "text") => ({ action: { type, label, payload: '{"b":1}' } });
const grid = (rows: number, columns: number, inline = false) =>
  JSON.stringify({
    inline,
    buttons: Array.from({ length: rows }, (_, r) =>
      Array.from({ length: columns }, (_, c) => button(`${r}${c}`)),
    ),
  });

describe("VK emulator: messages.send", () => {
  let env: Awaited<ReturnType<typeof emulatorWithCommunity>>;
  let random = 1;
  const send = (params: Record<string, string | number> = {}) =>
    env.call("messages.send", { peer_id: env.user.id, random_id: random++, message: "hi", ...params });
  before(async () => {
    env = await emulatorWithCommunity({ rateLimit: { enabled: false } });
  });
  after(() => env.vk.close());

  it("answers the message id for peer_id and an array for peer_ids, and emits message_reply", async () => {
    const single = await send({ message: "a < b" });
    assert.equal(typeof single.response, "number");
    const many = await env.call("messages.send", { peer_ids: `${env.user.id}`, random_id: 77, message: "x" });
    assert.deepEqual(many.response, [
      { peer_id: env.user.id, message_id: single.response + 1, conversation_message_id: 2 },
    ]);
    const [reply] = env.vk.control.events({ type: "message_reply" });
    assert.deepEqual(reply?.object, {
      date: reply?.object.date,
      from_id: -env.community.id,
      id: single.response,
      out: 1,
      version: reply?.object.version,
      attachments: [],
      conversation_message_id: 1,
      fwd_messages: [],
      important: false,
      is_hidden: false,
      peer_id: env.user.id,
      random_id: 1,
      text: "a &lt; b",
    });
  });

  it("puts per-peer refusals into the peer_ids answer", async () => {
    const stranger = env.vk.control.createUser({ allowsMessages: false });
    const { response } = await env.call("messages.send", {
      peer_ids: `${env.user.id},${stranger.id},5`,
      random_id: 4242,
      message: "news",
    });
    assert.equal(response[0].error, undefined);
    assert.deepEqual(response[1], {
      peer_id: stranger.id,
      message_id: 0,
      conversation_message_id: 0,
      error: { code: 901, description: "Can't send messages for users without permission" },
    });
    assert.equal(response[2].error.code, 936);
  });

  it("drops a repeated random_id within the conversation and answers the original id", async () => {
    const first = await env.call("messages.send", { peer_id: env.user.id, random_id: 555, message: "once" });
    const again = await env.call("messages.send", { peer_id: env.user.id, random_id: 555, message: "twice" });
    assert.equal(again.response, first.response);
    const sent = env.vk.control.outbox(env.community.id).messages.filter((m) => m.randomId === "555");
    assert.deepEqual(
      sent.map((m) => m.text),
      ["once"],
    );
    const other = env.vk.control.createUser({ allowsMessages: true });
    const elsewhere = await env.call("messages.send", {
      peer_id: other.id,
      random_id: 555,
      message: "elsewhere",
    });
    assert.notEqual(elsewhere.response, first.response, "another conversation is not a duplicate");
    assert.notEqual(
      (await env.call("messages.send", { peer_id: env.user.id, random_id: 0, message: "z" })).response,
      0,
    );
    const zero = await env.call("messages.send", { peer_id: env.user.id, random_id: 0, message: "z" });
    assert.ok(zero.response > 0, "random_id 0 disables the check");
  });

  it("keeps random ids beyond 2^53 exact (vk-io's getRandomId)", async () => {
    const big = "16999999999999999";
    const first = await env.call("messages.send", { peer_id: env.user.id, random_id: big, message: "big" });
    const near = await env.call("messages.send", {
      peer_id: env.user.id,
      random_id: "16999999999999998",
      message: "n",
    });
    assert.notEqual(first.response, near.response);
    assert.equal(env.vk.control.outbox(env.community.id).messages.at(-2)?.randomId, big);
  });

  it("requires random_id and some content", async () => {
    const noRandom = await env.call("messages.send", { peer_id: env.user.id, message: "x" });
    assert.equal(
      noRandom.error.error_msg,
      "One of the parameters specified was missing or invalid: random_id is a required parameter",
    );
    const empty = await send({ message: "" });
    assert.equal(
      empty.error.error_msg,
      "One of the parameters specified was missing or invalid: message is empty or invalid",
    );
  });

  it("answers 914 past the text limit (4096 code points by default)", async () => {
    assert.ok((await send({ message: "я".repeat(4096) })).response);
    const long = await send({ message: "я".repeat(4097) });
    assert.equal(long.error.error_code, 914);
    assert.equal(long.error.error_msg, "Message is too long");
  });

  it("answers 911 for malformed keyboards and keyboards over the size limits", async () => {
    assert.ok((await send({ keyboard: grid(10, 4) })).response, "10 rows × 4 = 40 keys");
    assert.ok((await send({ keyboard: grid(6, 1, true) })).response, "6 inline rows");
    assert.ok((await send({ keyboard: grid(2, 5, true) })).response, "10 inline keys");
    assert.ok((await send({ keyboard: '{"buttons":[]}' })).response, "an empty keyboard hides it");
    for (const keyboard of [
      grid(11, 1),
      grid(1, 6),
      grid(9, 5),
      grid(7, 1, true),
      grid(3, 4, true),
      "not json",
      '{"one_time":true}',
      JSON.stringify({ inline: true, one_time: true, buttons: [[button("a")]] }),
      JSON.stringify({ buttons: [[{ action: { type: "teleport", label: "x" } }]] }),
      JSON.stringify({ buttons: [[{ action: { type: "text" } }]] }),
      JSON.stringify({ buttons: [[{ action: { type: "text", label: "x" }, color: "purple" }]] }),
      JSON.stringify({ buttons: [[{ action: { type: "callback", label: "x", payload: "x".repeat(256) } }]] }),
    ]) {
      const answer = await send({ keyboard });
      assert.equal(answer.error?.error_code, 911, keyboard);
      assert.match(answer.error.error_msg, /^Keyboard format is invalid/);
    }
  });

  it("answers 912 for keyboards without bot features, 15 with messages off, 901 after message_deny", async () => {
    env.vk.control.updateCommunity(env.community.id, { botFeatures: false });
    assert.equal((await send({ keyboard: grid(1, 1) })).error.error_code, 912);
    assert.ok((await send()).response, "plain text needs no bot features by default");
    env.vk.control.updateCommunity(env.community.id, { botFeatures: true, messagesEnabled: false });
    assert.equal((await send()).error.error_code, 15);
    env.vk.control.updateCommunity(env.community.id, { messagesEnabled: true });
    env.vk.control.denyMessages(env.community.id, env.user.id);
    const denied = await send();
    assert.equal(denied.error.error_msg, "Can't send messages for users without permission");
    env.vk.control.allowMessages(env.community.id, env.user.id);
    assert.ok((await send()).response);
  });

  it("validates attachments against saved media", async () => {
    const missing = await send({ attachment: `photo-${env.community.id}_1` });
    assert.equal(missing.error.error_code, 100);
    assert.match(missing.error.error_msg, /attachment/);
    assert.ok((await send({ attachment: "video1_2,market-1_3" })).response, "unmodelled types pass");
  });
});

describe("VK emulator: messages.edit, messages.delete, sendMessageEventAnswer", () => {
  let env: Awaited<ReturnType<typeof emulatorWithCommunity>>;
  before(async () => {
    env = await emulatorWithCommunity({ rateLimit: { enabled: false } });
  });
  after(() => env.vk.close());

  it("edits the community's own message and emits message_edit", async () => {
    const id = (await env.call("messages.send", { peer_id: env.user.id, random_id: 1, message: "old" }))
      .response;
    const edited = await env.call("messages.edit", { peer_id: env.user.id, message_id: id, message: "new" });
    assert.equal(edited.response, 1);
    const cmid = env.vk.control.outbox(env.community.id).messages.at(-1)?.conversationMessageId ?? 0;
    assert.equal(
      (await env.call("messages.edit", { peer_id: env.user.id, cmid, message: "new" })).response,
      1,
    );
    const [event] = env.vk.control.events({ type: "message_edit" });
    assert.equal(event?.object.text, "new");
    assert.equal(event?.object.id, id);
    assert.ok(event?.object.update_time);
    assert.deepEqual(
      env.vk.control.outbox(env.community.id).edits.map((e) => [e.before.text, e.after.text]),
      [
        ["old", "new"],
        ["new", "new"],
      ],
    );
    const incoming = env.vk.control.writeMessage(env.community.id, { userId: env.user.id, text: "mine" });
    const notOurs = await env.call("messages.edit", {
      peer_id: env.user.id,
      message_id: incoming.message.id,
      message: "x",
    });
    assert.equal(notOurs.error.error_code, 920);
  });

  it("answers 909 for a message older than the edit window", async () => {
    const env2 = await emulatorWithCommunity({ messages: { editWindowMs: 0 } });
    try {
      const id = (await env2.call("messages.send", { peer_id: env2.user.id, random_id: 1, message: "a" }))
        .response;
      await new Promise((done) => setTimeout(done, 5));
      const late = await env2.call("messages.edit", { peer_id: env2.user.id, message_id: id, message: "b" });
      assert.equal(late.error.error_msg, "Can't edit this message, because it's too old");
    } finally {
      await env2.vk.close();
    }
  });

  it("deletes in the 5.199 shape, refusing delete_for_all on a user's message (924)", async () => {
    const id = (await env.call("messages.send", { peer_id: env.user.id, random_id: 2, message: "bye" }))
      .response;
    const theirs = env.vk.control.writeMessage(env.community.id, { userId: env.user.id, text: "t" }).message;
    const { response } = await env.call("messages.delete", {
      message_ids: `${id},${theirs.id}`,
      delete_for_all: 1,
    });
    assert.deepEqual(response[0], {
      peer_id: env.user.id,
      message_id: id,
      conversation_message_id: response[0].conversation_message_id,
      response: 1,
    });
    assert.equal(response[1].response, 0);
    assert.equal(response[1].error.code, 924);
    assert.deepEqual(
      env.vk.control.outbox(env.community.id).deletions.map((d) => [d.messageId, d.forAll]),
      [[id, true]],
    );
  });

  it("accepts one answer to a callback button within the event's lifetime", async () => {
    const keyboard = JSON.stringify({
      inline: true,
      buttons: [[{ action: { type: "callback", label: "Buy", payload: '{"item":7}' } }]],
    });
    await env.call("messages.send", { peer_id: env.user.id, random_id: 3, message: "pick", keyboard });
    const { event } = env.vk.control.pressButton(env.community.id, { userId: env.user.id, label: "Buy" });
    assert.equal(event.type, "message_event");
    assert.deepEqual(event.object.payload, { item: 7 });
    const params = {
      event_id: String(event.object.event_id),
      user_id: env.user.id,
      peer_id: env.user.id,
      event_data: JSON.stringify({ type: "show_snackbar", text: "Added" }),
    };
    assert.equal((await env.call("messages.sendMessageEventAnswer", params)).response, 1);
    assert.equal((await env.call("messages.sendMessageEventAnswer", params)).error.error_code, 100);
    const answers = env.vk.control.outbox(env.community.id).eventAnswers;
    assert.deepEqual(answers[0]?.eventData, { type: "show_snackbar", text: "Added" });
  });
});

describe("VK emulator: readers and configurable message behaviour", () => {
  it("reads conversations (can_write) and messages back", async () => {
    const env = await emulatorWithCommunity();
    try {
      const id = (await env.call("messages.send", { peer_id: env.user.id, random_id: 1, message: "a" }))
        .response;
      const { response } = await env.call("messages.getConversationsById", { peer_ids: env.user.id });
      assert.equal(response.count, 1);
      assert.deepEqual(response.items[0].peer, { id: env.user.id, type: "user", local_id: env.user.id });
      assert.deepEqual(response.items[0].can_write, { allowed: true });
      assert.equal(response.items[0].last_message_id, id);
      env.vk.control.denyMessages(env.community.id, env.user.id);
      const denied = await env.call("messages.getConversationsById", { peer_ids: env.user.id });
      assert.deepEqual(denied.response.items[0].can_write, { allowed: false, reason: 901 });
      const byId = await env.call("messages.getById", { message_ids: id });
      assert.equal(byId.response.items[0].text, "a");
      const byCmid = await env.call("messages.getByConversationMessageId", {
        peer_id: env.user.id,
        conversation_message_ids: 1,
      });
      assert.equal(byCmid.response.items[0].id, id);
    } finally {
      await env.vk.close();
    }
  });

  it("can answer 0 for a duplicate random_id, the old delete map, and expire callback answers", async () => {
    const env = await emulatorWithCommunity({
      messages: { randomId: { onDuplicate: "zero" }, deleteResponse: "map", messageEventTtlMs: 0 },
    });
    try {
      const id = (await env.call("messages.send", { peer_id: env.user.id, random_id: 9, message: "a" }))
        .response;
      assert.equal(
        (await env.call("messages.send", { peer_id: env.user.id, random_id: 9, message: "a" })).response,
        0,
      );
      assert.deepEqual((await env.call("messages.delete", { message_ids: id })).response, { [id]: 1 });
      const { event } = env.vk.control.pressButton(env.community.id, {
        userId: env.user.id,
        payload: { a: 1 },
      });
      await new Promise((done) => setTimeout(done, 5));
      const late = await env.call("messages.sendMessageEventAnswer", {
        event_id: String(event.object.event_id),
        user_id: env.user.id,
        peer_id: env.user.id,
      });
      assert.equal(late.error.error_code, 100);
    } finally {
      await env.vk.close();
    }
  });

  it("can enforce the documented 9000-character limit instead", async () => {
    const env = await emulatorWithCommunity({ messages: { textLimit: 9000 } });
    try {
      const ok = await env.call("messages.send", {
        peer_id: env.user.id,
        random_id: 1,
        message: "x".repeat(9000),
      });
      assert.ok(ok.response);
      const long = await env.call("messages.send", {
        peer_id: env.user.id,
        random_id: 2,
        message: "x".repeat(9001),
      });
      assert.equal(long.error.error_code, 914);
    } finally {
      await env.vk.close();
    }
  });
});
