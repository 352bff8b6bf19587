import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { caller, emulatorWithCommunity, type Json, sleep } from "./test-support.ts";

describe("VK emulator: API transport and errors", () => {
  let env: Awaited<ReturnType<typeof emulatorWithCommunity>>;
  before(async () => {
    env = await emulatorWithCommunity({ rateLimit: { perSecond: 1000 } });
  });
  after(() => env.vk.close());

  it("answers errors with HTTP 200, the canonical text and request_params without the token", async () => {
    const response = await fetch(`${env.vk.apiBaseUrl}/wall.nothing`, {
      method: "POST",
      body: new URLSearchParams({ access_token: env.token, v: "5.199", owner_id: "1" }),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      error: {
        error_code: 3,
        error_msg: "Unknown method passed",
        request_params: [
          { key: "oauth", value: "1" },
          { key: "method", value: "wall.nothing" },
          { key: "v", value: "5.199" },
          { key: "owner_id", value: "1" },
        ],
      },
    });
  });

  it("requires v", async () => {
    const response = await fetch(`${env.vk.apiBaseUrl}/users.get?access_token=${env.token}`);
    const { error } = (await response.json()) as Json;
    assert.equal(error.error_code, 8);
    assert.match(error.error_msg, /^Invalid request: v is required/);
    const old = await env.call("users.get", { v: "5.50" });
    assert.equal(old.error.error_code, 8);
    assert.match(old.error.error_msg, /versions below 5\.81 are deprecated/);
  });

  it("refuses missing, unknown and revoked tokens", async () => {
    const none = await caller(env.vk, undefined)("groups.getById");
    assert.equal(none.error.error_code, 5);
    assert.equal(none.error.error_msg, "User authorization failed: no access_token passed.");
    const wrong = await caller(env.vk, "vk1.a.nope")("groups.getById");
    assert.equal(wrong.error.error_msg, "User authorization failed: invalid access_token (4).");
    const spare = env.vk.control.addToken(env.community.id, ["messages"]);
    env.vk.control.revokeToken(spare.value);
    const revoked = await caller(env.vk, spare.value)("groups.getById");
    assert.equal(revoked.error.error_code, 27);
    assert.match(revoked.error.error_msg, /^Group authorization failed: /);
  });

  it("answers 27 for user-only methods and 15 for missing rights or another community", async () => {
    const userOnly = await env.call("wall.post", { message: "x" });
    assert.equal(
      userOnly.error.error_msg,
      "Group authorization failed: method is unavailable with group auth.",
    );
    const messagesOnly = env.vk.control.addToken(env.community.id, ["messages"]);
    const noManage = await caller(env.vk, messagesOnly.value)("groups.getLongPollServer", {
      group_id: env.community.id,
    });
    assert.equal(noManage.error.error_code, 15);
    assert.equal(noManage.error.error_msg, "Access denied: no access to call this method");
    const other = env.vk.control.createCommunity({});
    const foreign = await env.call("groups.getCallbackConfirmationCode", { group_id: other.id });
    assert.equal(foreign.error.error_code, 15);
  });

  it("takes the token from Authorization: Bearer, parameters from the query and multipart", async () => {
    const query = await fetch(`${env.vk.apiBaseUrl}/groups.getById?v=5.199`, {
      headers: { Authorization: `Bearer ${env.token}` },
    });
    assert.equal(((await query.json()) as Json).response.groups[0].id, env.community.id);
    const form = new FormData();
    form.set("access_token", env.token);
    form.set("v", "5.199");
    form.set("user_ids", String(env.user.id));
    const multipart = (await (
      await fetch(`${env.vk.apiBaseUrl}/users.get`, { method: "POST", body: form })
    ).json()) as Json;
    assert.deepEqual(multipart.response, [
      { id: env.user.id, first_name: "Ivan", last_name: "Petrov", can_access_closed: true, is_closed: false },
    ]);
  });

  it("describes the community (5.199 shape) and the token's rights", async () => {
    const { response } = await env.call("groups.getById");
    assert.deepEqual(response.profiles, []);
    assert.equal(response.groups[0].name, "Shop");
    const rights = await caller(
      env.vk,
      env.vk.control.addToken(env.community.id, ["messages", "manage"]).value,
    )("groups.getTokenPermissions");
    assert.deepEqual(rights.response, {
      mask: 4096 + 262144,
      permissions: [
        { name: "messages", setting: 4096 },
        { name: "manage", setting: 262144 },
      ],
    });
  });

  it("answers users.get for unknown ids with a DELETED stub and 113 for unknown screen names", async () => {
    const { response } = await env.call("users.get", { user_ids: "123" });
    assert.deepEqual(response, [{ id: 123, first_name: "DELETED", last_name: "", deactivated: "deleted" }]);
    assert.equal((await env.call("users.get", { user_ids: "nobody_here" })).error.error_code, 113);
  });
});

describe("VK emulator: rate limit", () => {
  it("answers 6 past 20 calls in one second per token, and recovers", async () => {
    const env = await emulatorWithCommunity();
    try {
      const answers = await Promise.all(Array.from({ length: 25 }, () => env.call("groups.getById")));
      const limited = answers.filter((a) => a.error?.error_code === 6);
      assert.equal(limited.length, 5);
      assert.equal(limited[0]?.error.error_msg, "Too many requests per second");
      const other = caller(env.vk, env.vk.control.addToken(env.community.id).value);
      assert.ok((await other("groups.getById")).response, "another token has its own window");
      await sleep(1050);
      assert.ok((await env.call("groups.getById")).response);
    } finally {
      await env.vk.close();
    }
  });
});

describe("VK emulator: fault injection", () => {
  let env: Awaited<ReturnType<typeof emulatorWithCommunity>>;
  before(async () => {
    env = await emulatorWithCommunity();
  });
  after(() => env.vk.close());

  it("injects an error once, then answers normally", async () => {
    env.vk.control.addFault({ target: "groups.getById", error: { code: 10 } });
    const first = await env.call("groups.getById");
    assert.equal(first.error.error_code, 10);
    assert.equal(first.error.error_msg, "Internal server error");
    assert.ok((await env.call("groups.getById")).response);
  });

  it("injects N times or always, optionally for one token only", async () => {
    const fault = env.vk.control.addFault({
      target: "users.get",
      token: env.token,
      error: { code: 9 },
      always: true,
    });
    const other = caller(env.vk, env.vk.control.addToken(env.community.id).value);
    for (let i = 0; i < 3; i++)
      assert.equal((await env.call("users.get", { user_ids: "1" })).error.error_code, 9);
    assert.ok((await other("users.get", { user_ids: "1" })).response);
    env.vk.control.removeFault(fault.id);
    env.vk.control.addFault({ target: "*", error: { code: 14 }, times: 2 });
    const captcha = await env.call("users.get", { user_ids: "1" });
    assert.equal(captcha.error.error_code, 14);
    assert.ok(captcha.error.captcha_sid && captcha.error.captcha_img);
    assert.equal((await env.call("groups.getById")).error.error_code, 14);
    assert.ok((await env.call("groups.getById")).response);
  });

  it("answers late, or drops the connection", async () => {
    env.vk.control.addFault({ target: "groups.getById", delayMs: 150 });
    const started = Date.now();
    assert.ok((await env.call("groups.getById")).response);
    assert.ok(Date.now() - started >= 140);
    env.vk.control.addFault({ target: "groups.getById", drop: true });
    await assert.rejects(env.call("groups.getById"), /fetch failed/);
    assert.ok((await env.call("groups.getById")).response);
  });
});
