import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { emulatorWithCommunity, sleep, startReceiver, waitFor } from "./test-support.ts";

type Env = Awaited<ReturnType<typeof emulatorWithCommunity>>;
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

const fast = {
  rateLimit: { enabled: false },
  callback: {
    retryDelaysMs: [20, 40],
    maxRetries: 3,
    failThreshold: 4,
    timeoutMs: 1_500,
    retryAfterUnitMs: 10,
  },
};

/** Adds a server, waits for its handshake, subscribes it to `events`. */
async function addServer(env: Env, receiver: Receiver, events: string[], secret = "s3cr3t") {
  const added = await env.call("groups.addCallbackServer", {
    group_id: env.community.id,
    url: receiver.url,
    title: "Hub",
    secret_key: secret,
  });
  const id: number = added.response.server_id;
  await eventually(async () => (await status(env, id)) === "ok", "handshake");
  const flags = Object.fromEntries(events.map((e) => [e, 1]));
  await env.call("groups.setCallbackSettings", {
    group_id: env.community.id,
    server_id: id,
    api_version: "5.199",
    ...flags,
  });
  return id;
}

async function status(env: Env, id: number): Promise<string | undefined> {
  const { response } = await env.call("groups.getCallbackServers", {
    group_id: env.community.id,
    server_ids: id,
  });
  return response.items[0]?.status;
}

async function eventually(check: () => Promise<boolean>, what: string) {
  const deadline = Date.now() + 2000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe("VK emulator: Callback API", () => {
  let env: Env;
  before(async () => {
    env = await emulatorWithCommunity(fast);
  });
  after(() => env.vk.close());

  it("confirms a server whose answer is the confirmation code, with the full envelope", async () => {
    const receiver = await startReceiver(env.community.confirmationCode);
    try {
      const code = await env.call("groups.getCallbackConfirmationCode", { group_id: env.community.id });
      assert.match(code.response.code, /^[0-9a-f]{8}$/);
      const id = await addServer(env, receiver, []);
      const confirmation = receiver.received[0]?.body;
      assert.deepEqual(Object.keys(confirmation ?? {}).sort(), [
        "event_id",
        "group_id",
        "secret",
        "type",
        "v",
      ]);
      assert.equal(confirmation?.type, "confirmation");
      assert.equal(confirmation?.group_id, env.community.id);
      assert.match(String(confirmation?.event_id), /^[0-9a-f]{40}$/);
      assert.equal(confirmation?.secret, "s3cr3t");
      assert.equal(await status(env, id), "ok");
      await env.call("groups.deleteCallbackServer", { group_id: env.community.id, server_id: id });
    } finally {
      await receiver.close();
    }
  });

  it("marks a server failed when its answer is not the code", async () => {
    const receiver = await startReceiver("wrong-code");
    try {
      const { response } = await env.call("groups.addCallbackServer", {
        group_id: env.community.id,
        url: receiver.url,
        title: "Bad",
      });
      await eventually(async () => (await status(env, response.server_id)) === "failed", "failed");
      assert.equal(receiver.received[0]?.body.secret, undefined, "no secret_key, no secret");
      env.vk.control.setConfirmationCode(env.community.id, "wrong-code");
      await env.call("groups.editCallbackServer", {
        group_id: env.community.id,
        server_id: response.server_id,
        url: receiver.url,
        title: "Bad",
      });
      await eventually(async () => (await status(env, response.server_id)) === "ok", "ok after edit");
      await env.call("groups.deleteCallbackServer", {
        group_id: env.community.id,
        server_id: response.server_id,
      });
    } finally {
      await receiver.close();
    }
  });

  it("delivers only subscribed events, with secret, to every subscribed server under one event_id", async () => {
    const code = env.vk.control.community(env.community.id).confirmationCode;
    const first = await startReceiver(code);
    const second = await startReceiver(code);
    try {
      const a = await addServer(env, first, ["message_new", "message_reply"]);
      const b = await addServer(env, second, ["message_new"]);
      env.vk.control.join(env.community.id, env.user.id);
      env.vk.control.writeMessage(env.community.id, { userId: env.user.id, text: "hello" });
      await waitFor(
        () => first.events().length === 1 && second.events().length === 1,
        2000,
        "message_new twice",
      );
      const [one, two] = [first.events()[0]?.body, second.events()[0]?.body];
      assert.equal(one?.type, "message_new");
      assert.equal(one?.event_id, two?.event_id, "the duplicate-servers scenario: same event twice");
      assert.deepEqual(Object.keys(one ?? {}).sort(), [
        "event_id",
        "group_id",
        "object",
        "secret",
        "type",
        "v",
      ]);
      assert.equal(one?.secret, "s3cr3t");
      assert.equal(one?.v, "5.199");
      assert.equal(one?.object.message.text, "hello");
      assert.equal(first.received.at(-1)?.headers["content-type"], "application/json");
      assert.equal(first.events()[0]?.headers["x-retry-counter"], undefined);
      await env.call("messages.send", { peer_id: env.user.id, random_id: 1, message: "hi" });
      await waitFor(() => first.events().length === 2, 2000, "message_reply");
      await sleep(50);
      assert.equal(second.events().length, 1, "message_reply not subscribed on the second server");
      for (const id of [a, b])
        await env.call("groups.deleteCallbackServer", { group_id: env.community.id, server_id: id });
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it("retries failed deliveries with X-Retry-Counter 1, 2… and the same event_id", async () => {
    let failures = 2;
    const receiver = await startReceiver(env.vk.control.community(env.community.id).confirmationCode, () =>
      failures-- > 0 ? { status: 500, body: "oops" } : {},
    );
    try {
      const id = await addServer(env, receiver, ["group_leave"]);
      env.vk.control.leave(env.community.id, env.user.id);
      await waitFor(() => receiver.events().length === 3, 2000, "three attempts");
      const attempts = receiver.events();
      assert.deepEqual(
        attempts.map((a) => a.headers["x-retry-counter"]),
        [undefined, "1", "2"],
      );
      assert.equal(new Set(attempts.map((a) => a.body.event_id)).size, 1);
      // The receiver sees the third request before the emulator has logged its answer.
      const log = () => env.vk.control.deliveries({ serverId: id }).filter((d) => d.type === "group_leave");
      await waitFor(() => log().length === 3, 2000, "three logged attempts");
      assert.deepEqual(
        log().map((d) => [d.attempt, d.outcome, d.status]),
        [
          [0, "failed", 500],
          [1, "failed", 500],
          [2, "ok", 200],
        ],
      );
      assert.equal(await status(env, id), "ok");
      await env.call("groups.deleteCallbackServer", { group_id: env.community.id, server_id: id });
    } finally {
      await receiver.close();
    }
  });

  it("counts a body other than exactly ok, a BOM, or a timeout as failure and turns failed at the threshold", async () => {
    const replies = [{ body: "OK" }, { body: "\ufeffok" }, { delayMs: 2_500 }, { status: 404 }];
    const receiver = await startReceiver(
      env.vk.control.community(env.community.id).confirmationCode,
      () => replies.shift() ?? {},
    );
    try {
      const id = await addServer(env, receiver, ["group_join"]);
      env.vk.control.join(env.community.id, env.user.id);
      await eventually(async () => (await status(env, id)) === "failed", "failed after 4 failures");
      const log = env.vk.control.deliveries({ serverId: id }).filter((d) => d.type === "group_join");
      assert.deepEqual(
        log.map((d) => d.error ?? d.status),
        [200, 200, "timeout", 404],
      );
      assert.equal(log.at(-1)?.final, true);
      env.vk.control.join(env.community.id, env.user.id);
      await sleep(100);
      assert.equal(receiver.events().length, 4, "a failed server receives nothing");
      await env.call("groups.deleteCallbackServer", { group_id: env.community.id, server_id: id });
    } finally {
      await receiver.close();
    }
  });

  it("honours Retry-After on 429 and the body remove", async () => {
    let first = true;
    const receiver = await startReceiver(env.vk.control.community(env.community.id).confirmationCode, () => {
      if (!first) return { body: "remove" };
      first = false;
      return { status: 429, headers: { "Retry-After": "5" } };
    });
    try {
      const id = await addServer(env, receiver, ["message_allow"]);
      env.vk.control.allowMessages(env.community.id, env.user.id, "k");
      await waitFor(() => receiver.events().length === 2, 2000, "the deferred retry");
      const [deferred, retried] = receiver.events();
      assert.ok((retried?.at ?? 0) - (deferred?.at ?? 0) >= 45, "Retry-After 5 × retryAfterUnitMs 10");
      assert.deepEqual(retried?.body.object, { user_id: env.user.id, key: "k" });
      await eventually(async () => (await status(env, id)) === undefined, "server removed");
    } finally {
      await receiver.close();
    }
  });

  it("refuses an eleventh server with 2000", async () => {
    // Start from none, whatever earlier cases left behind.
    const existing = await env.call("groups.getCallbackServers", { group_id: env.community.id });
    for (const server of existing.response.items) {
      await env.call("groups.deleteCallbackServer", { group_id: env.community.id, server_id: server.id });
    }
    for (let i = 0; i < 10; i++) {
      const added = await env.call("groups.addCallbackServer", {
        group_id: env.community.id,
        url: `http://127.0.0.1:9/n${i}`,
        title: `s${i}`,
      });
      assert.ok(added.response.server_id, JSON.stringify(added));
    }
    const eleventh = await env.call("groups.addCallbackServer", {
      group_id: env.community.id,
      url: "http://127.0.0.1:9/x",
      title: "x",
    });
    assert.equal(eleventh.error.error_code, 2000);
    assert.equal(eleventh.error.error_msg, "Servers number limit is reached");
    const { response } = await env.call("groups.getCallbackServers", { group_id: env.community.id });
    assert.equal(response.count, 10);
    const missing = await env.call("groups.deleteCallbackServer", {
      group_id: env.community.id,
      server_id: 999,
    });
    assert.equal(missing.error.error_msg, "Not found");
  });

  it("reports and changes callback settings", async () => {
    const { response } = await env.call("groups.getCallbackServers", { group_id: env.community.id });
    const id = response.items[0].id;
    await env.call("groups.setCallbackSettings", {
      group_id: env.community.id,
      server_id: id,
      api_version: "5.131",
      message_new: 1,
      wall_reply_new: 1,
    });
    await env.call("groups.setCallbackSettings", {
      group_id: env.community.id,
      server_id: id,
      wall_reply_new: 0,
    });
    const settings = await env.call("groups.getCallbackSettings", {
      group_id: env.community.id,
      server_id: id,
    });
    assert.equal(settings.response.api_version, "5.131");
    assert.equal(settings.response.events.message_new, 1);
    assert.equal(settings.response.events.wall_reply_new, 0);
    assert.equal(settings.response.events.lead_forms_new, 0);
  });
});
