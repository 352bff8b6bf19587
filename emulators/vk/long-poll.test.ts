import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { emulatorWithCommunity, type Json } from "./test-support.ts";

type Env = Awaited<ReturnType<typeof emulatorWithCommunity>>;

async function check(server: string, key: string, ts: string | number, wait = 0): Promise<Json> {
  const url = new URL(server);
  url.search = String(
    new URLSearchParams({ act: "a_check", key, ts: String(ts), wait: String(wait), mode: "2" }),
  );
  const response = await fetch(url);
  assert.equal(response.status, 200);
  return (await response.json()) as Json;
}

describe("VK emulator: Bots Long Poll", () => {
  let env: Env;
  let lp: { key: string; server: string; ts: string };
  before(async () => {
    env = await emulatorWithCommunity({ rateLimit: { enabled: false } });
  });
  after(() => env.vk.close());

  it("refuses getLongPollServer while Long Poll is off", async () => {
    const off = await env.call("groups.getLongPollServer", { group_id: env.community.id });
    assert.equal(
      off.error.error_msg,
      "One of the parameters specified was missing or invalid: longpoll for this group is not enabled.",
    );
  });

  it("hands out key, server and ts as strings once enabled", async () => {
    await env.call("groups.setLongPollSettings", {
      group_id: env.community.id,
      enabled: 1,
      api_version: "5.199",
      message_new: 1,
      message_event: 1,
    });
    const settings = await env.call("groups.getLongPollSettings", { group_id: env.community.id });
    assert.equal(settings.response.is_enabled, true);
    assert.equal(settings.response.events.message_new, 1);
    lp = (await env.call("groups.getLongPollServer", { group_id: env.community.id })).response;
    assert.equal(lp.server, `${env.vk.url}/lp/${env.community.id}`);
    assert.match(lp.key, /^[0-9a-f]{40}$/);
    assert.equal(typeof lp.ts, "string");
  });

  it("returns waiting events at once, with the envelope without secret", async () => {
    env.vk.control.writeMessage(env.community.id, { userId: env.user.id, text: "one" });
    env.vk.control.join(env.community.id, env.user.id);
    const answer = await check(lp.server, lp.key, lp.ts, 25);
    assert.equal(answer.ts, String(Number(lp.ts) + 1));
    assert.equal(answer.updates.length, 1, "group_join is not subscribed");
    const [update] = answer.updates;
    assert.deepEqual(Object.keys(update).sort(), ["event_id", "group_id", "object", "type", "v"]);
    assert.equal(update.type, "message_new");
    assert.equal(update.object.message.text, "one");
    assert.deepEqual(Object.keys(update.object).sort(), ["client_info", "message"]);
    lp.ts = answer.ts;
  });

  it("holds the request until an event comes", async () => {
    const pending = check(lp.server, lp.key, lp.ts, 25);
    setTimeout(() => env.vk.control.writeMessage(env.community.id, { userId: env.user.id, text: "two" }), 50);
    const answer = await pending;
    assert.equal(answer.updates[0].object.message.text, "two");
    lp.ts = answer.ts;
  });

  it("answers empty updates when wait runs out", async () => {
    const started = Date.now();
    const answer = await check(lp.server, lp.key, lp.ts, 1);
    assert.deepEqual(answer, { ts: lp.ts, updates: [] });
    assert.ok(Date.now() - started >= 950);
  });

  it("fails 1 with a numeric ts, and the new ts works", async () => {
    env.vk.control.failLongPoll(env.community.id, 1);
    const failed = await check(lp.server, lp.key, lp.ts);
    assert.deepEqual(failed, { failed: 1, ts: Number(lp.ts) });
    assert.deepEqual(await check(lp.server, lp.key, failed.ts), { ts: lp.ts, updates: [] });
    const pending = check(lp.server, lp.key, lp.ts, 25);
    setTimeout(() => env.vk.control.failLongPoll(env.community.id, 1), 30);
    assert.equal((await pending).failed, 1, "a waiting request fails at once");
  });

  it("fails 2 until a new key is taken, keeping ts", async () => {
    env.vk.control.failLongPoll(env.community.id, 2);
    assert.deepEqual(await check(lp.server, lp.key, lp.ts), { failed: 2 });
    assert.deepEqual(await check(lp.server, lp.key, lp.ts), { failed: 2 });
    assert.deepEqual(await check(lp.server, "made-up-key", lp.ts), { failed: 2 });
    const fresh = (await env.call("groups.getLongPollServer", { group_id: env.community.id })).response;
    lp.key = fresh.key;
    assert.deepEqual(await check(lp.server, lp.key, lp.ts), { ts: lp.ts, updates: [] });
  });

  it("fails 3 until a new key and ts are taken", async () => {
    env.vk.control.failLongPoll(env.community.id, 3);
    assert.deepEqual(await check(lp.server, lp.key, lp.ts), { failed: 3 });
    lp = (await env.call("groups.getLongPollServer", { group_id: env.community.id })).response;
    assert.deepEqual(await check(lp.server, lp.key, lp.ts), { ts: lp.ts, updates: [] });
  });

  it("lets faults delay or break a long poll request", async () => {
    env.vk.control.addFault({ target: "lp", status: 500 });
    const url = `${lp.server}?act=a_check&key=${lp.key}&ts=${lp.ts}&wait=0`;
    assert.equal((await fetch(url)).status, 500);
    env.vk.control.addFault({ target: "lp", drop: true });
    await assert.rejects(fetch(url), /fetch failed/);
    assert.deepEqual(await check(lp.server, lp.key, lp.ts), { ts: lp.ts, updates: [] });
  });

  it("sends the bare message as message_new before API 5.103", async () => {
    await env.call("groups.setLongPollSettings", { group_id: env.community.id, api_version: "5.101" });
    env.vk.control.writeMessage(env.community.id, { userId: env.user.id, text: "old" });
    const answer = await check(lp.server, lp.key, lp.ts);
    assert.equal(answer.updates[0].v, "5.101");
    assert.equal(answer.updates[0].object.text, "old");
    assert.equal(answer.updates[0].object.client_info, undefined);
    lp.ts = answer.ts;
  });

  it("fails 1 for a ts older than the kept history", async () => {
    const small = await emulatorWithCommunity({ longPoll: { historyLimit: 2 } });
    try {
      small.vk.control.updateCommunity(small.community.id, {
        longPoll: { enabled: true, events: ["group_join"] },
      });
      const start = (await small.call("groups.getLongPollServer", { group_id: small.community.id })).response;
      for (let i = 0; i < 3; i++) small.vk.control.join(small.community.id, small.user.id);
      const answer = await check(start.server, start.key, start.ts);
      assert.deepEqual(answer, { failed: 1, ts: Number(start.ts) + 3 });
    } finally {
      await small.vk.close();
    }
  });
});
