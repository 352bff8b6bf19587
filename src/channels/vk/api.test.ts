import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { AppError } from "../../errors/app-error.ts";
import { tokenFingerprint, VkClient, type VkClientOptions, type VkTokenRef } from "./api.ts";
import { RawAnswer, type StubHandler, startVkStub, type VkStub, vkError } from "./test-stub.ts";

const clients: VkClient[] = [];
const stubs: VkStub[] = [];
after(async () => {
  for (const client of clients) client.close();
  for (const stub of stubs) await stub.close();
});

async function setup(handler: StubHandler, options: Partial<VkClientOptions> = {}) {
  const stub = await startVkStub(handler);
  stubs.push(stub);
  const client = new VkClient({ tokens: ["token-a"], groupId: 77, apiBaseUrl: stub.apiBaseUrl, ...options });
  clients.push(client);
  return { stub, client };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    assert.equal(error.code, code);
    return error;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

const group = {
  groups: [{ id: 77, name: "Shop", screen_name: "shop", photo_100: "https://x/p.jpg" }],
  profiles: [],
};

describe("VkClient transport", () => {
  it("calls the configured base URL over plain http with the version and token in the form", async () => {
    const { stub, client } = await setup(() => ({ response: group }));
    assert.deepEqual(await client.getGroup(), {
      id: 77,
      name: "Shop",
      screenName: "shop",
      photo: "https://x/p.jpg",
    });
    const [call] = stub.calls();
    assert.equal(call?.method, "groups.getById");
    assert.equal(call?.params.v, "5.199");
    assert.equal(call?.params.access_token, "token-a");
    assert.equal(call?.params.group_id, "77");
    assert.equal(
      stub.requests[0]?.headers["content-type"],
      "application/x-www-form-urlencoded;charset=UTF-8",
    );
  });

  it("reads the older groups.getById shape (a bare list) too", async () => {
    const { client } = await setup(() => ({ response: [{ id: 5, name: "Old" }] }));
    assert.deepEqual(await client.getGroup(), { id: 5, name: "Old" });
  });

  it("accepts a trailing slash and another API version", async () => {
    const { stub, client } = await setup(() => ({ response: group }), { apiVersion: "5.131" });
    const other = new VkClient({ tokens: ["t"], apiBaseUrl: `${stub.apiBaseUrl}/`, apiVersion: "5.131" });
    clients.push(other);
    await other.getGroup();
    await client.getGroup();
    assert.deepEqual(
      stub.calls().map((c) => c.params.v),
      ["5.131", "5.131"],
    );
    assert.deepEqual(
      stub.requests.map((r) => r.path),
      ["/method/groups.getById", "/method/groups.getById"],
    );
  });

  it("sends booleans as 1/0 and lists comma-joined, and leaves out what is undefined", async () => {
    const { stub, client } = await setup(() => ({ response: 1 }));
    await client.setCallbackSettings(3, { events: { message_new: true, message_typing_state: false } });
    const params = stub.calls()[0]?.params ?? {};
    assert.equal(params.message_new, "1");
    assert.equal(params.message_typing_state, "0");
    assert.equal(params.api_version, "5.199");
    assert.equal(params.server_id, "3");
    await client.getUsers([1, 2, 3]).catch(() => {});
    assert.equal(stub.calls()[1]?.params.user_ids, "1,2,3");
    assert.equal("fields" in (stub.calls()[1]?.params ?? {}), false);
  });
});

describe("VkClient tokens", () => {
  it("goes round-robin over the community's tokens", async () => {
    const { stub, client } = await setup(() => ({ response: group }), { tokens: ["t1", "t2", "t3"] });
    for (let i = 0; i < 6; i += 1) await client.getGroup();
    assert.deepEqual(
      stub.calls().map((c) => c.params.access_token),
      ["t1", "t2", "t3", "t1", "t2", "t3"],
    );
  });

  it("drops a token VK declares dead, runs the call with the next one, and reports it once", async () => {
    const reported: [VkTokenRef, string][] = [];
    const { stub, client } = await setup(
      ({ params }) =>
        params.access_token === "t2"
          ? vkError(5, "User authorization failed: invalid access_token (4).")
          : { response: group },
      { tokens: ["t1", "t2", "t3"], onTokenInvalid: (token, error) => reported.push([token, error.code]) },
    );
    for (let i = 0; i < 5; i += 1) await client.getGroup();
    assert.deepEqual(
      stub.calls().map((c) => c.params.access_token),
      ["t1", "t2", "t3", "t1", "t3", "t1"],
    );
    assert.deepEqual(reported, [[{ index: 1, fingerprint: tokenFingerprint("t2") }, "vk_auth_failed"]]);
    assert.deepEqual(
      client.tokens.map((t) => t.dead),
      [false, true, false],
    );
  });

  it("fails with the auth error when the last token dies, then with vk_no_tokens", async () => {
    const { client } = await setup(() => vkError(27, "Group authorization failed"), { tokens: ["t1", "t2"] });
    const error = await rejectsWith(client.getGroup(), "vk_group_auth_failed");
    assert.equal(error.status, 424);
    await rejectsWith(client.getGroup(), "vk_no_tokens");
  });

  it("skips tokens already known dead", async () => {
    const { stub, client } = await setup(() => ({ response: group }), {
      tokens: ["t1", "t2"],
      deadTokens: [tokenFingerprint("t1")],
    });
    await client.getGroup();
    await client.getGroup();
    assert.deepEqual(
      stub.calls().map((c) => c.params.access_token),
      ["t2", "t2"],
    );
    const none = new VkClient({ tokens: [], apiBaseUrl: stub.apiBaseUrl });
    clients.push(none);
    await rejectsWith(none.getGroup(), "vk_no_tokens");
  });

  it("does not drop the tokens for a method a community token may not call", async () => {
    const { client } = await setup(() =>
      vkError(27, "Group authorization failed: method is unavailable with group auth."),
    );
    await rejectsWith(client.getGroup(), "vk_method_unavailable_for_group");
    assert.equal(client.tokens[0]?.dead, false);
  });
});

describe("VkClient errors", () => {
  it("surfaces error 6 at once instead of vk-io's endless requeue, and rests that token", async () => {
    const { stub, client } = await setup(
      ({ params }) =>
        params.access_token === "t1" ? vkError(6, "Too many requests per second") : { response: group },
      { tokens: ["t1", "t2"] },
    );
    const started = Date.now();
    const error = await rejectsWith(client.getGroup(), "vk_too_many_requests");
    assert.ok(Date.now() - started < 1000, "not retried behind our back");
    assert.equal(error.retryAfter, 1);
    assert.equal(stub.calls().length, 1);
    // The next two calls go to t2: t1 rests for a second.
    await client.getGroup();
    await client.getGroup();
    assert.deepEqual(
      stub.calls().map((c) => c.params.access_token),
      ["t1", "t2", "t2"],
    );
  });

  it("maps VK's refusals to the catalogue", async () => {
    const { client } = await setup(({ params }) =>
      params.peer_ids === "1"
        ? vkError(901, "Can't send messages for users without permission")
        : vkError(914, "Message is too long"),
    );
    const refused = await rejectsWith(
      client.sendMessage({ peerId: 1, randomId: 5, message: "hi" }),
      "vk_messages_not_allowed",
    );
    assert.equal(refused.params.method, "messages.send");
    assert.equal(refused.render("en").upstream_code, "901");
    await rejectsWith(client.sendMessage({ peerId: 2, randomId: 5, message: "x" }), "vk_message_too_long");
  });

  it("does not retry a refused connection", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const client = new VkClient({ tokens: ["t"], apiBaseUrl: `http://127.0.0.1:${port}/method` });
    clients.push(client);
    const started = Date.now();
    const error = await rejectsWith(client.getGroup(), "vk_network_error");
    assert.match(String(error.params.reason), /ECONNREFUSED/);
    assert.ok(Date.now() - started < 2000, "vk-io's 3 s retry wait is off");
  });

  it("times out a silent server as a network error", async () => {
    const { client } = await setup(() => new Promise(() => {}), { timeoutMs: 300 });
    const error = await rejectsWith(client.getGroup(), "vk_network_error");
    assert.equal(error.params.reason, "no answer within 0.3 s");
  });

  it("calls an HTML error page an unexpected response", async () => {
    const { client } = await setup(() => new RawAnswer(502, "<html>Bad Gateway</html>", "text/html"));
    await rejectsWith(client.getGroup(), "vk_unexpected_response");
  });
});

describe("VkClient methods", () => {
  it("sends a message with random_id, keyboard, attachments and intent, and reads peer_ids' answer", async () => {
    const { stub, client } = await setup(() => ({
      response: [{ peer_id: 10, message_id: 555, conversation_message_id: 7 }],
    }));
    const sent = await client.sendMessage({
      peerId: 10,
      randomId: 123456,
      message: "Hello <b>",
      keyboard: { inline: true, rows: [[{ type: "callback", label: "OK", payload: { a: 1 } }]] },
      attachment: ["photo-77_1", { type: "doc", ownerId: -77, id: 2, accessKey: "k" }],
      intent: "customer_support",
      dontParseLinks: true,
    });
    assert.deepEqual(sent, { peerId: 10, messageId: 555, conversationMessageId: 7 });
    const params = stub.calls()[0]?.params ?? {};
    assert.equal(params.peer_ids, "10");
    assert.equal(params.random_id, "123456");
    assert.equal(params.message, "Hello <b>");
    assert.equal(params.attachment, "photo-77_1,doc-77_2_k");
    assert.equal(params.intent, "customer_support");
    assert.equal(params.dont_parse_links, "1");
    assert.equal(params.group_id, "77");
    assert.deepEqual(JSON.parse(params.keyboard ?? ""), {
      inline: true,
      buttons: [[{ action: { type: "callback", label: "OK", payload: '{"a":1}' }, color: "secondary" }]],
    });
  });

  it("reads a plain message id, and throws a peer's own error", async () => {
    let answer: unknown = { response: 42 };
    const { client } = await setup(() => answer);
    assert.deepEqual(await client.sendMessage({ peerId: 3, randomId: 1, message: "x" }), {
      peerId: 3,
      messageId: 42,
    });
    answer = { response: [{ peer_id: 3, error: { code: 902, description: "privacy settings" } }] };
    await rejectsWith(client.sendMessage({ peerId: 3, randomId: 1, message: "x" }), "vk_privacy_settings");
    answer = { response: "nonsense" };
    await rejectsWith(client.sendMessage({ peerId: 3, randomId: 1, message: "x" }), "vk_unexpected_response");
    await assert.rejects(client.sendMessage({ peerId: 3, randomId: 2 ** 31, message: "x" }), RangeError);
  });

  it("edits by cmid, deletes in both answer shapes, answers callback events, comments on the wall", async () => {
    let deleteAnswer: unknown = {
      response: [
        { peer_id: 1, conversation_message_id: 5, response: 1 },
        {
          peer_id: 1,
          conversation_message_id: 6,
          response: 0,
          error: { code: 924, description: "Can't delete" },
        },
      ],
    };
    const { stub, client } = await setup(({ path }) => {
      if (path.endsWith("messages.delete")) return deleteAnswer;
      if (path.endsWith("wall.createComment")) return { response: { comment_id: 99, parents_stack: [] } };
      return { response: 1 };
    });
    await client.editMessage({
      peerId: 1,
      conversationMessageId: 5,
      message: "fixed",
      keepForwardMessages: true,
    });
    const results = await client.deleteMessages({
      peerId: 1,
      conversationMessageIds: [5, 6],
      deleteForAll: true,
    });
    assert.equal(results[0]?.deleted, true);
    assert.equal(results[1]?.deleted, false);
    assert.equal(results[1]?.error?.code, "vk_delete_for_all_denied");
    deleteAnswer = { response: { "11": 1, "12": 0 } };
    assert.deepEqual(await client.deleteMessages({ peerId: 1, messageIds: [11, 12] }), [
      { messageId: 11, deleted: true },
      { messageId: 12, deleted: false },
    ]);
    await client.answerMessageEvent({
      eventId: "e1",
      userId: 1,
      peerId: 1,
      answer: { type: "show_snackbar", text: "Done" },
    });
    assert.deepEqual(await client.createWallComment({ postId: 8, message: "Thanks!", guid: "g1" }), {
      commentId: 99,
    });

    const [edit, del, , answer, comment] = stub.calls();
    assert.equal(edit?.params.cmid, "5");
    assert.equal(edit?.params.keep_forward_messages, "1");
    assert.equal(del?.params.cmids, "5,6");
    assert.equal(del?.params.delete_for_all, "1");
    assert.deepEqual(JSON.parse(answer?.params.event_data ?? ""), { type: "show_snackbar", text: "Done" });
    assert.equal(comment?.params.owner_id, "-77");
    assert.equal(comment?.params.from_group, "77");
    assert.equal(comment?.params.guid, "g1");
  });

  it("manages callback servers and the long poll", async () => {
    const { stub, client } = await setup(({ path }) => {
      const method = path.slice("/method/".length);
      switch (method) {
        case "groups.getCallbackServers":
          return {
            response: {
              count: 1,
              items: [
                { id: 4, title: "hub", creator_id: 9, url: "https://hub/x", secret_key: "s", status: "ok" },
              ],
            },
          };
        case "groups.addCallbackServer":
          return { response: { server_id: 5 } };
        case "groups.getCallbackConfirmationCode":
          return { response: { code: "bb112c41" } };
        case "groups.getLongPollServer":
          return { response: { key: "k", server: "https://lp.vk.com/wh77", ts: 12 } };
        case "groups.getTokenPermissions":
          return { response: { mask: 4096, permissions: [{ setting: 4096, name: "messages" }] } };
        default:
          return { response: 1 };
      }
    });
    assert.deepEqual(await client.getCallbackServers(), [
      { id: 4, title: "hub", url: "https://hub/x", status: "ok", secretKey: "s", creatorId: 9 },
    ]);
    assert.equal(
      await client.addCallbackServer({ url: "https://hub/y", title: "Switchboard", secretKey: "z" }),
      5,
    );
    await client.editCallbackServer({ serverId: 5, url: "https://hub/z", title: "Switchboard" });
    await client.deleteCallbackServer(4);
    assert.equal(await client.getCallbackConfirmationCode(), "bb112c41");
    await client.setLongPollSettings({ enabled: true, events: { message_new: true } });
    assert.deepEqual(await client.getLongPollServer(), {
      key: "k",
      server: "https://lp.vk.com/wh77",
      ts: "12",
    });
    assert.deepEqual(await client.getTokenPermissions(), { mask: 4096, permissions: ["messages"] });
    const add = stub.calls().find((c) => c.method === "groups.addCallbackServer");
    assert.deepEqual(add?.params && { ...add.params, access_token: undefined, v: undefined }, {
      group_id: "77",
      url: "https://hub/y",
      title: "Switchboard",
      secret_key: "z",
      access_token: undefined,
      v: undefined,
    });
    const longPoll = stub.calls().find((c) => c.method === "groups.setLongPollSettings");
    assert.equal(longPoll?.params.enabled, "1");
    assert.equal(longPoll?.params.message_new, "1");
  });

  it("reports 2000 when the community has too many callback servers", async () => {
    const { client } = await setup(() => vkError(2000, "Servers number limit is reached"));
    const error = await rejectsWith(
      client.addCallbackServer({ url: "https://hub", title: "hub" }),
      "vk_callback_servers_limit",
    );
    assert.match(error.render("ru").remedy, /Callback API/);
  });

  it("asks users.get in batches of 1000", async () => {
    const { stub, client } = await setup(({ params }) => ({
      response: (params.user_ids ?? "")
        .split(",")
        .map((id) => ({ id: Number(id), first_name: "A", last_name: "B" })),
    }));
    const ids = Array.from({ length: 1500 }, (_, i) => i + 1);
    const users = await client.getUsers(ids, ["photo_100"]);
    assert.equal(users.length, 1500);
    assert.deepEqual(
      stub.calls().map((c) => c.params.user_ids?.split(",").length),
      [1000, 500],
    );
    assert.equal(stub.calls()[0]?.params.fields, "photo_100");
  });
});
