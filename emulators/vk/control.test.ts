import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startVkEmulator, type VkEmulator } from "./server.ts";
import { caller, control, type Json } from "./test-support.ts";

describe("VK emulator: control API and event shapes (§1.7)", () => {
  let vk: VkEmulator;
  let gid: number;
  let uid: number;
  let call: ReturnType<typeof caller>;
  const post = (path: string, body: unknown = {}) => control(vk, "POST", `/communities/${gid}${path}`, body);
  const lastEvent = async (type: string): Promise<Json> =>
    (await control(vk, "GET", `/events?type=${type}`)).at(-1);

  before(async () => {
    vk = await startVkEmulator({ rateLimit: { enabled: false } });
    const community = await control(vk, "POST", "/communities", { name: "Flowers", tokens: [{}] });
    gid = community.id;
    call = caller(vk, community.tokens[0].value);
    const user = await control(vk, "POST", "/users", {
      firstName: "Anna",
      lastName: "K",
      clientInfo: { carousel: false, lang_id: 3 },
    });
    uid = user.id;
  });
  after(() => vk.close());

  it("message_new carries the message and the user's client_info", async () => {
    const { message, event } = await post("/messages", {
      userId: uid,
      text: 'say "hi" & <bye>',
      payload: { cmd: "start" },
    });
    assert.equal(event.type, "message_new");
    assert.deepEqual(Object.keys(event.object).sort(), ["client_info", "message"]);
    assert.equal(event.object.message.text, "say &quot;hi&quot; &amp; &lt;bye&gt;");
    assert.equal(event.object.message.payload, '{"cmd":"start"}');
    assert.equal(event.object.message.from_id, uid);
    assert.equal(event.object.message.out, 0);
    assert.equal(event.object.client_info.carousel, false);
    assert.equal(event.object.client_info.lang_id, 3);
    assert.ok(event.object.client_info.button_actions.includes("callback"));
    assert.equal(message.text, 'say "hi" & <bye>');
  });

  it("message_edit is the bare message", async () => {
    const { message } = await post("/messages", { userId: uid, text: "typo" });
    const { event } = await control(vk, "PATCH", `/communities/${gid}/messages/${message.id}`, {
      text: "fixed",
    });
    assert.equal(event.type, "message_edit");
    assert.equal(event.object.text, "fixed");
    assert.equal(event.object.id, message.id);
    assert.equal(event.object.client_info, undefined);
  });

  it("a user's photo, voice and document arrive as attachments served by the emulator", async () => {
    const { event } = await post("/messages", {
      userId: uid,
      attachments: [
        { type: "photo", data: Buffer.from("img").toString("base64") },
        { type: "audio_message", duration: 4 },
      ],
    });
    const [photo, voice] = event.object.message.attachments;
    assert.equal(photo.type, "photo");
    assert.equal(photo.photo.owner_id, uid);
    assert.equal(Buffer.from(await (await fetch(photo.photo.sizes[0].url)).arrayBuffer()).toString(), "img");
    assert.equal(voice.audio_message.duration, 4);
  });

  it("a callback button gives message_event; a client without callback support sends not_supported_button", async () => {
    const keyboard = JSON.stringify({
      inline: true,
      buttons: [
        [{ action: { type: "callback", label: "Yes", payload: '{"answer":"yes"}' } }],
        [{ action: { type: "text", label: "No", payload: '{"answer":"no"}' } }],
      ],
    });
    const sent = await call("messages.send", { peer_id: uid, random_id: 10, message: "Sure?", keyboard });
    const { event } = await post("/buttons", { userId: uid, label: "Yes" });
    assert.equal(event.type, "message_event");
    assert.deepEqual(Object.keys(event.object).sort(), [
      "conversation_message_id",
      "event_id",
      "payload",
      "peer_id",
      "user_id",
    ]);
    assert.deepEqual(event.object.payload, { answer: "yes" });
    const text = await post("/buttons", { userId: uid, label: "No", messageId: sent.response });
    assert.equal(text.event.type, "message_new");
    assert.equal(text.event.object.message.text, "No");
    assert.equal(text.event.object.message.payload, '{"answer":"no"}');
    await control(vk, "PATCH", `/users/${uid}`, { clientInfo: { button_actions: ["text"] } });
    const old = await post("/buttons", { userId: uid, label: "Yes", messageId: sent.response });
    assert.equal(old.event.type, "message_new");
    assert.deepEqual(JSON.parse(old.event.object.message.payload), {
      command: "not_supported_button",
      button_type: "callback",
      payload: '{"answer":"yes"}',
    });
    await control(vk, "PATCH", `/users/${uid}`, { clientInfo: { button_actions: ["text", "callback"] } });
  });

  it("message_allow, message_deny, message_typing_state, message_read", async () => {
    assert.deepEqual((await post("/allow", { userId: uid, key: "promo" })).event.object, {
      user_id: uid,
      key: "promo",
    });
    assert.deepEqual((await post("/deny", { userId: uid })).event.object, { user_id: uid });
    assert.equal(
      (await call("messages.send", { peer_id: uid, random_id: 11, message: "x" })).error.error_code,
      901,
    );
    await post("/allow", { userId: uid });
    assert.deepEqual((await post("/typing", { userId: uid })).event.object, {
      from_id: uid,
      to_id: -gid,
      state: "typing",
    });
    const sent = await call("messages.send", { peer_id: uid, random_id: 12, message: "read me" });
    const read = (await post("/read", { userId: uid })).event;
    assert.equal(read.type, "message_read");
    assert.deepEqual(read.object, {
      from_id: uid,
      peer_id: uid,
      read_message_id: sent.response,
      conversation_message_id: read.object.conversation_message_id,
    });
  });

  it("group_join and group_leave", async () => {
    assert.deepEqual((await post("/join", { userId: uid, joinType: "request" })).event.object, {
      user_id: uid,
      join_type: "request",
    });
    assert.deepEqual((await post("/leave", { userId: uid, self: false })).event.object, {
      user_id: uid,
      self: 0,
    });
  });

  it("wall posts and comments: new, edit, delete (user_id and deleter_id), restore", async () => {
    const { post: created, event: postEvent } = await post("/wall-posts", { text: "Sale!" });
    assert.equal(postEvent.type, "wall_post_new");
    assert.equal(postEvent.object.owner_id, -gid);
    const { comment, event } = await post(`/wall-posts/${created.id}/comments`, {
      userId: uid,
      text: "Price?",
    });
    assert.equal(event.type, "wall_reply_new");
    for (const field of ["id", "from_id", "date", "text", "post_id", "owner_id", "parents_stack", "thread"]) {
      assert.ok(field in event.object, field);
    }
    assert.equal(event.object.post_id, created.id);
    const edited = await control(vk, "PATCH", `/communities/${gid}/comments/wall/${comment.id}`, {
      text: "Price??",
    });
    assert.equal(edited.event.type, "wall_reply_edit");
    assert.equal(edited.event.object.text, "Price??");
    const removed = await control(
      vk,
      "DELETE",
      `/communities/${gid}/comments/wall/${comment.id}?deleterId=${uid}`,
    );
    assert.deepEqual(removed.event.object, {
      owner_id: -gid,
      id: comment.id,
      user_id: uid,
      deleter_id: uid,
      post_id: created.id,
    });
    const restored = await post(`/comments/wall/${comment.id}/restore`);
    assert.equal(restored.event.type, "wall_reply_restore");

    const answer = await call("wall.createComment", {
      owner_id: -gid,
      post_id: created.id,
      message: "100 ₽",
      reply_to_comment: comment.id,
      guid: "g1",
    });
    assert.deepEqual(answer.response, {
      comment_id: answer.response.comment_id,
      parents_stack: [comment.id],
    });
    const again = await call("wall.createComment", {
      owner_id: -gid,
      post_id: created.id,
      message: "100 ₽",
      guid: "g1",
    });
    assert.equal(
      again.response.comment_id,
      answer.response.comment_id,
      "a repeated guid is not a new comment",
    );
    const mine = (await lastEvent("wall_reply_new")).object;
    assert.equal(mine.from_id, -gid);
    assert.equal(mine.reply_to_comment, comment.id);
    assert.equal(mine.reply_to_user, uid);
    const outbox = await control(vk, "GET", `/communities/${gid}/outbox`);
    assert.equal(outbox.comments.length, 1);
  });

  it("wall.createComment answers 213, 222, 223", async () => {
    const closed = (await post("/wall-posts", { text: "no comments", commentsClosed: true })).post;
    assert.equal(
      (await call("wall.createComment", { owner_id: -gid, post_id: closed.id, message: "x" })).error
        .error_code,
      213,
    );
    const strict = (await post("/wall-posts", { text: "no links", linksForbidden: true })).post;
    const link = await call("wall.createComment", {
      owner_id: -gid,
      post_id: strict.id,
      message: "see https://x.ru",
    });
    assert.equal(link.error.error_msg, "Hyperlinks are forbidden");
    const vk2 = await startVkEmulator({ wall: { replyFlood: { max: 2 } } });
    try {
      const c = vk2.control.createCommunity({});
      const p = vk2.control.createWallPost(c.id, { text: "t" }).post;
      const call2 = caller(vk2, c.tokens[0]?.value);
      for (let i = 0; i < 2; i++)
        assert.ok((await call2("wall.createComment", { post_id: p.id, message: `${i}` })).response);
      assert.equal(
        (await call2("wall.createComment", { post_id: p.id, message: "3" })).error.error_msg,
        "Too many replies",
      );
    } finally {
      await vk2.close();
    }
  });

  it("photo, video, board and market comments", async () => {
    const photo = (await post("/comments/photo", { userId: uid, text: "nice", objectId: 457239100 })).event;
    assert.equal(photo.type, "photo_comment_new");
    assert.equal(photo.object.photo_id, 457239100);
    assert.equal(photo.object.photo_owner_id, -gid);
    const video = (await post("/comments/video", { userId: uid, text: "wow", objectId: 5 })).event;
    assert.deepEqual(
      [video.type, video.object.video_id, video.object.video_owner_id],
      ["video_comment_new", 5, -gid],
    );
    const board = (await post("/comments/board", { userId: uid, text: "q", objectId: 9 })).event;
    assert.equal(board.type, "board_post_new");
    assert.deepEqual(Object.keys(board.object).sort(), [
      "attachments",
      "date",
      "from_id",
      "id",
      "text",
      "topic_id",
      "topic_owner_id",
    ]);
    const market = (await post("/comments/market", { userId: uid, text: "size?", objectId: 3 })).event;
    assert.equal(market.type, "market_comment_new");
    assert.deepEqual(Object.keys(market.object).sort(), [
      "date",
      "from_id",
      "id",
      "item_id",
      "market_owner_id",
      "text",
    ]);
  });

  it("photo, video, board and market comments: edit, delete, restore", async () => {
    const deletions = {
      photo: { owner_id: -gid, user_id: uid, deleter_id: uid, photo_id: 7 },
      video: { owner_id: -gid, user_id: uid, deleter_id: uid, video_id: 7 },
      board: { topic_owner_id: -gid, topic_id: 7 },
      market: { owner_id: -gid, user_id: uid, deleter_id: uid, item_id: 7 },
    };
    const prefixes = {
      photo: "photo_comment",
      video: "video_comment",
      board: "board_post",
      market: "market_comment",
    };
    for (const kind of ["photo", "video", "board", "market"] as const) {
      const { comment } = await post(`/comments/${kind}`, { userId: uid, text: "first", objectId: 7 });
      const path = `/communities/${gid}/comments/${kind}/${comment.id}`;
      const edited = await control(vk, "PATCH", path, { text: "second" });
      assert.deepEqual([edited.event.type, edited.event.object.text], [`${prefixes[kind]}_edit`, "second"]);
      const removed = await control(vk, "DELETE", `${path}?deleterId=${uid}`);
      assert.equal(removed.event.type, `${prefixes[kind]}_delete`);
      assert.deepEqual(removed.event.object, { ...deletions[kind], id: comment.id });
      const restored = await post(`/comments/${kind}/${comment.id}/restore`);
      assert.deepEqual(
        [restored.event.type, restored.event.object.text],
        [`${prefixes[kind]}_restore`, "second"],
      );
    }
    await assert.rejects(control(vk, "DELETE", `/communities/${gid}/comments/story/1`), /404/);
  });

  it("lead_forms_new carries the answers", async () => {
    const { event } = await post("/lead-forms", {
      userId: uid,
      formId: 4,
      formName: "Order",
      answers: [{ key: "phone_number", question: "Phone", answer: "+79991234567" }],
    });
    assert.deepEqual(event.object, {
      lead_id: 1,
      group_id: gid,
      user_id: uid,
      form_id: 4,
      form_name: "Order",
      ad_id: 0,
      answers: [{ key: "phone_number", question: "Phone", answer: "+79991234567" }],
    });
  });

  it("injects events of any type, made up or not", async () => {
    const { event } = await post("/events", { type: "message_reaction_event", object: { reacted_id: 1 } });
    assert.match(event.eventId, /^[0-9a-f]{40}$/);
    assert.equal((await post("/events", { type: "made_up_event" })).event.type, "made_up_event");
  });

  it("reads back conversations, requests and uploads; refuses bad bodies; serves the sandbox page", async () => {
    const conversation = await control(vk, "GET", `/communities/${gid}/conversations/${uid}`);
    assert.ok(
      conversation.some((m: Json) => m.out === 1 && m.randomId === "10" && m.keyboard?.inline === true),
    );
    const requests = await control(vk, "GET", "/requests?method=messages.send");
    assert.ok(requests.length >= 3);
    assert.equal(requests[0].params.access_token, undefined);
    await assert.rejects(control(vk, "POST", `/communities/${gid}/messages`, { text: "no user" }), /400/);
    await assert.rejects(control(vk, "POST", "/communities/1/messages", { userId: uid }), /404/);
    const page = await fetch(`${vk.url}/`);
    assert.match(await page.text(), /VK emulator/);
  });

  it("injects faults over HTTP, sets a server's status and resets", async () => {
    const fault = await control(vk, "POST", "/faults", {
      target: "users.get",
      error: { code: 29 },
      always: true,
    });
    assert.equal((await call("users.get", { user_ids: "1" })).error.error_msg, "Rate limit reached");
    await control(vk, "DELETE", `/faults/${fault.id}`);
    assert.ok((await call("users.get", { user_ids: "1" })).response);
    const added = await call("groups.addCallbackServer", {
      group_id: gid,
      url: "http://127.0.0.1:9/",
      title: "x",
    });
    const server = await control(vk, "PATCH", `/communities/${gid}/servers/${added.response.server_id}`, {
      status: "ok",
    });
    assert.equal(server.status, "ok");
    await control(vk, "POST", "/reset");
    assert.deepEqual(await control(vk, "GET", "/state"), { communities: [], users: [] });
  });
});
