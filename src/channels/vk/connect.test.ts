// Connecting a VK community in callback mode, against the VK emulator over real HTTP: the hub is
// served on a port of its own, its publicUrl is that address, and the emulator posts the
// confirmation and the events to it.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { startVkEmulator, type VkEmulator } from "../../../emulators/vk/server.ts";
import type { CommunityInput } from "../../../emulators/vk/state.ts";
import { caller } from "../../../emulators/vk/test-support.ts";
import type { ErrorCode } from "../../errors/catalogue.ts";
import { listChannelAccounts } from "../../store/repositories/channel-accounts.ts";
import { assertError, assertStatus } from "../../testing/http.ts";
import { createTestHub, type TestHub, type TestResponse } from "../../testing/hub.ts";
import { storeKinds } from "../../testing/stores.ts";
import { actOutEveryEvent } from "../../testing/vk-every-event.ts";
import {
  channelMessages,
  channelStateChanges,
  type ServedHub,
  serveTestHub,
  waitFor,
} from "../../testing/vk-hub.ts";
import { vkHubEvents } from "./community-setup.ts";

for (const kind of storeKinds) {
  describe(`connecting a VK community in callback mode on ${kind.name}`, () => {
    let store: Awaited<ReturnType<typeof kind.open>>;
    let vk: VkEmulator;
    let hub: ServedHub;

    before(async () => {
      store = await kind.open();
      vk = await startVkEmulator({
        callback: { retryDelaysMs: [20, 40], timeoutMs: 1_000, failThreshold: 3 },
      });
      hub = await serveTestHub(store);
    });
    after(async () => {
      await hub.close();
      await vk.close();
      await store.drop();
    });

    const community = (input: CommunityInput = {}) =>
      vk.control.createCommunity({ name: "Flower shop", tokens: [{}, {}], ...input });
    const tokensOf = (c: { tokens: { value: string }[] }) => c.tokens.map((t) => t.value);
    const connect = (body: Record<string, unknown>, via: TestHub = hub) =>
      via.request("POST", "/v1/channels", { body: { kind: "vk", api_base_url: vk.apiBaseUrl, ...body } });
    const servers = (groupId: number) => vk.control.community(groupId).servers;
    /** Calls the emulator's API as the community's admin would, waiting out VK's 20 calls a second. */
    const api = (token: string | undefined) => {
      const call = caller(vk, token);
      return async (method: string, params: Record<string, string | number>) => {
        for (;;) {
          const answer = await call(method, params);
          if (answer.error?.error_code !== 6) return answer;
          await new Promise((resolve) => setTimeout(resolve, 1_100));
        }
      };
    };
    const channel = async (id: string) => {
      const res = await hub.request("GET", `/v1/channels/${id}`);
      assertStatus(res, 200);
      return res.body;
    };
    const codes = (res: TestResponse) => (res.body.warnings as { code: string }[]).map((w) => w.code).sort();
    const channelIds = async () =>
      (await listChannelAccounts(store.db, hub.admin.workspaceId, {}, { limit: 1000 })).items.map(
        (c) => c.id,
      );

    it("connects: one confirmed server with the hub's events, and a client's message arrives through the API", async () => {
      const shop = community();
      const user = vk.control.createUser({ firstName: "Anna" });
      const res = await connect({ group_id: shop.id, tokens: tokensOf(shop) });
      assertStatus(res, 201);
      const id = res.body.id as string;
      assert.equal(res.body.name, "Flower shop");
      assert.equal(res.body.mode, "callback");
      assert.equal(res.body.state, "online", JSON.stringify(res.body));
      assert.equal(res.body.webhook_url, `${hub.url}/hooks/vk/${id}`);
      assert.deepEqual(res.body.warnings, []);
      assert.equal(res.body.has_credentials, true);
      for (const token of tokensOf(shop))
        assert.ok(!JSON.stringify(res.body).includes(token), "no token in answers");

      const [server, ...others] = servers(shop.id);
      assert.equal(others.length, 0);
      assert.equal(server?.url, res.body.webhook_url);
      assert.equal(server?.title, "Switchboard");
      assert.equal(server?.status, "ok");
      assert.equal(server?.apiVersion, "5.199");
      assert.deepEqual([...(server?.events ?? [])].sort(), [...vkHubEvents].sort());
      assert.ok((server?.secretKey.length ?? 0) >= 20, "a per-channel secret");
      const handshake = vk.control.deliveries({ groupId: shop.id }).filter((d) => d.type === "confirmation");
      assert.deepEqual(
        handshake.map((d) => d.outcome),
        ["confirmed"],
      );

      vk.control.writeMessage(shop.id, { userId: user.id, text: "Здравствуйте, есть розы?" });
      await waitFor("the message in the API", async () =>
        (await channelMessages(hub, id)).includes("Здравствуйте, есть розы?"),
      );
      assert.ok((await channel(id)).last_event_at, "the last event time is kept");
    });

    it("carries every kind of event the hub handles: edits, consent, buttons, comments of each kind, leads, membership", async () => {
      const shop = community();
      const user = vk.control.createUser({ firstName: "Vera" });
      const res = await connect({ group_id: shop.id, tokens: tokensOf(shop) });
      assertStatus(res, 201);
      await actOutEveryEvent({ hub, vk, groupId: shop.id, userId: user.id, channelId: res.body.id });
    });

    it("reconnects idempotently: the same channel, the same server, no second confirmation", async () => {
      const shop = community();
      const first = await connect({ group_id: shop.id, tokens: tokensOf(shop), name: "Shop" });
      assertStatus(first, 201);
      const [server] = servers(shop.id);
      const again = await connect({ group_id: shop.id, tokens: tokensOf(shop) });
      assertStatus(again, 200);
      assert.equal(again.body.id, first.body.id);
      assert.equal(again.body.name, "Shop", "a reconnect keeps the name");
      assert.equal(again.body.state, "online");
      assert.deepEqual(
        servers(shop.id).map((s) => [s.id, s.status]),
        [[server?.id, "ok"]],
      );
      const confirmations = vk.control
        .deliveries({ groupId: shop.id })
        .filter((d) => d.type === "confirmation");
      assert.equal(confirmations.length, 1, "an ok server with the right address and secret is left alone");
      assert.equal((await channelIds()).filter((c) => c === first.body.id).length, 1);
    });

    it("removes the hub's stale servers and reports foreign ones as the cause of duplicates, without deleting them", async () => {
      const shop = community();
      const call = api(shop.tokens[0]?.value);
      const first = await connect({ group_id: shop.id, tokens: tokensOf(shop) });
      assertStatus(first, 201);
      const add = async (url: string, title: string, events: Record<string, number> = {}) => {
        const added = await call("groups.addCallbackServer", { group_id: shop.id, url, title });
        const serverId = added.response.server_id as number;
        await call("groups.setCallbackSettings", { group_id: shop.id, server_id: serverId, ...events });
        return serverId;
      };
      // Left by an earlier channel of this hub, a copy pointing at this channel, another bot, a
      // server that receives nothing the hub handles.
      const stale = await add(`${hub.url}/hooks/vk/${randomUUID()}`, "Switchboard", { message_new: 1 });
      const copy = await add(first.body.webhook_url, "Copy", { message_new: 1 });
      const foreign = await add("http://127.0.0.1:9/other-bot", "OtherBot", {
        message_new: 1,
        message_edit: 1,
      });
      const quiet = await add("http://127.0.0.1:9/stats", "Stats", { photo_new: 1 });

      const res = await connect({ group_id: shop.id, tokens: tokensOf(shop) });
      assertStatus(res, 200);
      const left = servers(shop.id).map((s) => s.id);
      assert.ok(!left.includes(stale) && !left.includes(copy), "the hub's own leftovers are removed");
      assert.ok(left.includes(foreign) && left.includes(quiet), "foreign servers are never deleted");
      assert.equal(left.length, 3);
      assert.deepEqual(codes(res), ["vk_foreign_callback_server"]);
      const warning = res.body.warnings[0];
      assert.match(warning.message, /OtherBot/);
      assert.match(warning.message, /127\.0\.0\.1:9\/other-bot/);
      assert.match(warning.message, /message_new, message_edit/);
      assert.match(warning.message, /duplicate/);
      assert.match(warning.remedy, /Callback API/);
      const ru = await hub.request("GET", `/v1/channels/${res.body.id}`, {
        headers: { "accept-language": "ru" },
      });
      assert.match(ru.body.warnings[0].message, /дублирования/);
    });

    it("refuses at VK's limit of 10 servers (2000) with the remedy and the servers named, leaving nothing behind", async () => {
      const shop = community();
      const call = api(shop.tokens[0]?.value);
      for (let n = 0; n < 10; n += 1)
        await call("groups.addCallbackServer", {
          group_id: shop.id,
          url: `http://127.0.0.1:9/${n}`,
          title: `Bot ${n}`,
        });
      const before = await channelIds();
      const res = await connect({ group_id: shop.id, tokens: tokensOf(shop) });
      assertError(res, 409, "vk_callback_servers_limit");
      assert.equal(res.body.error.upstream_code, "2000");
      assert.match(res.body.error.remedy, /delete the extra and unused servers/);
      assert.equal(res.body.error.details.length, 10);
      assert.match(res.body.error.details[0].detail, /Bot 0/);
      assert.deepEqual(await channelIds(), before, "no channel is left");
      assert.equal(servers(shop.id).length, 10);

      // One of them is the hub's own leftover: removing it makes the place.
      await call("groups.deleteCallbackServer", {
        group_id: shop.id,
        server_id: servers(shop.id)[0]?.id ?? 0,
      });
      await call("groups.addCallbackServer", {
        group_id: shop.id,
        url: `${hub.url}/hooks/vk/${randomUUID()}`,
        title: "Switchboard",
      });
      assertStatus(await connect({ group_id: shop.id, tokens: tokensOf(shop) }), 201);
      assert.equal(servers(shop.id).length, 10);
    });

    it("refuses tokens VK rejects (5, 27), of another community, or without the rights, naming the token", async () => {
      const shop = community();
      const other = community();
      const good = tokensOf(shop)[0] as string;
      const revoked = vk.control.addToken(shop.id).value;
      vk.control.revokeToken(revoked);
      const noMessages = vk.control.addToken(shop.id, ["photos", "docs", "wall", "manage"]).value;
      const noManage = vk.control.addToken(shop.id, ["messages", "photos", "docs", "wall"]).value;
      const refused = async (tokens: string[], status: number, code: ErrorCode, path: string) => {
        const res = await connect({ group_id: shop.id, tokens });
        assertError(res, status, code);
        assert.ok(
          res.body.error.details.some(
            (d: { path: string; code: string }) => d.path === path && d.code === code,
          ),
          JSON.stringify(res.body),
        );
        for (const token of tokens) assert.ok(!JSON.stringify(res.body).includes(token));
        return res;
      };
      const invalid = await refused([good, "vk1.a.invalid"], 424, "vk_auth_failed", "tokens.1");
      assert.equal(invalid.body.error.upstream_code, "5");
      assert.match(invalid.body.error.remedy, /Access tokens/);
      assert.equal(
        (await refused([revoked], 424, "vk_group_auth_failed", "tokens.0")).body.error.upstream_code,
        "27",
      );
      const foreign = await refused(
        [good, tokensOf(other)[0] as string],
        422,
        "vk_token_wrong_community",
        "tokens.1",
      );
      assert.match(
        foreign.body.error.message,
        new RegExp(`community ${other.id}, not to community ${shop.id}`),
      );
      const rights = await refused([noMessages], 422, "vk_token_rights_missing", "tokens.0");
      assert.match(rights.body.error.message, /messages/);
      assertError(await connect({ group_id: shop.id, tokens: [noManage] }), 422, "vk_manage_right_missing");
      assert.deepEqual(servers(shop.id), [], "nothing was set up in VK");
      assert.ok(
        !(await listChannelAccounts(store.db, hub.admin.workspaceId, {}, { limit: 1000 })).items.some(
          (c) => c.externalId === String(shop.id),
        ),
      );
    });

    it("refuses a community with messages off (15) or bot features off (912), with the settings to change", async () => {
      const shop = community({ messagesEnabled: false });
      const off = await connect({ group_id: shop.id, tokens: tokensOf(shop) });
      assertError(off, 422, "vk_access_denied");
      assert.equal(off.body.error.upstream_code, "15");
      assert.match(off.body.error.remedy, /Manage → Messages/);
      vk.control.updateCommunity(shop.id, { messagesEnabled: true, botFeatures: false });
      const bot = await connect({ group_id: shop.id, tokens: tokensOf(shop) }, hub);
      assertError(bot, 422, "vk_bot_features_disabled");
      assert.equal(bot.body.error.upstream_code, "912");
      assert.match(bot.body.error.remedy, /Bot features/);
      const ru = await hub.request("POST", "/v1/channels", {
        body: { kind: "vk", group_id: shop.id, tokens: tokensOf(shop), api_base_url: vk.apiBaseUrl },
        headers: { "accept-language": "ru" },
      });
      assert.match(ru.body.error.remedy, /Возможности ботов/);
      assert.deepEqual(servers(shop.id), []);
      vk.control.updateCommunity(shop.id, { botFeatures: true });
      assertStatus(await connect({ group_id: shop.id, tokens: tokensOf(shop) }), 201);
    });

    it("warns, without refusing, about a single token and tokens without photos, docs or wall", async () => {
      const shop = community({ tokens: [{ scopes: ["messages", "manage"] }] });
      const res = await connect({ group_id: shop.id, tokens: tokensOf(shop) });
      assertStatus(res, 201);
      assert.deepEqual(codes(res), ["vk_single_token", "vk_token_rights_limited"]);
      const single = res.body.warnings.find((w: { code: string }) => w.code === "vk_single_token");
      assert.match(single.message, /single access token/);
      assert.match(single.remedy, /more tokens/);
      assert.match(
        res.body.warnings.find((w: { code: string }) => w.code === "vk_token_rights_limited").message,
        /photos, docs, wall/,
      );
    });

    it("refuses callback mode on a hub without a public address, and defaults such a hub to long poll", async () => {
      const local = await createTestHub(store);
      const shop = community();
      assertError(
        await connect({ group_id: shop.id, tokens: tokensOf(shop), mode: "callback" }, local),
        422,
        "vk_public_url_missing",
      );
      const res = await connect({ group_id: shop.id, tokens: tokensOf(shop) }, local);
      assertStatus(res, 201);
      assert.equal(res.body.mode, "long_poll");
      assert.equal(vk.control.community(shop.id).longPoll.enabled, true);
    });

    it("answers `failing` with the remedy when VK cannot reach the hub's public address", async () => {
      const unreachable = await createTestHub(store, { publicUrl: "http://127.0.0.1:9" });
      const shop = community();
      const res = await connect({ group_id: shop.id, tokens: tokensOf(shop) }, unreachable);
      assertStatus(res, 201);
      assert.equal(res.body.state, "failing");
      assert.equal(res.body.state_code, "vk_callback_server_failed");
      assert.match(res.body.state_reason, /127\.0\.0\.1:9\/hooks\/vk\//);
      assert.match(res.body.state_remedy, /publicUrl/);
      assert.equal(servers(shop.id)[0]?.status, "failed");
    });

    it("notices a failed server, reports `failing`, and is `online` again once VK confirms it anew", async () => {
      const shop = community();
      const user = vk.control.createUser({ firstName: "Boris" });
      const res = await connect({ group_id: shop.id, tokens: tokensOf(shop) });
      assertStatus(res, 201);
      const id = res.body.id as string;
      const serverId = servers(shop.id)[0]?.id as number;
      // VK gave up on the server, and its handshake now expects another code: re-confirming fails.
      vk.control.updateServer(shop.id, serverId, { status: "failed", confirmationCode: "deadbeef" });
      const failing = await waitFor("the channel failing", async () => {
        const c = await channel(id);
        return c.state === "failing" ? c : undefined;
      });
      assert.equal(failing.state_code, "vk_callback_server_failed");
      assert.match(failing.state_remedy, /reach/);
      await waitFor("a repair attempt", () =>
        vk.control
          .deliveries({ groupId: shop.id })
          .some((d) => d.type === "confirmation" && d.outcome === "refused"),
      );
      vk.control.updateServer(shop.id, serverId, { confirmationCode: null });
      await waitFor("the channel online again", async () => (await channel(id)).state === "online");
      assert.equal((await channel(id)).state_code, null);
      vk.control.writeMessage(shop.id, { userId: user.id, text: "back again" });
      await waitFor("the message", async () => (await channelMessages(hub, id)).includes("back again"));
    });

    it("renames without calling VK, and checks new tokens again (PATCH)", async () => {
      const shop = community();
      const res = await connect({ group_id: shop.id, tokens: tokensOf(shop) });
      const id = res.body.id as string;
      // Background checks of the callback server may call VK meanwhile; a connect starts with these.
      const connectCalls = () =>
        vk.control.requests({ method: "groups.getTokenPermissions" }).length +
        vk.control.requests({ method: "groups.setCallbackSettings" }).length;
      const calls = connectCalls();
      assert.ok(calls > 0, "the connect itself made these calls");
      const renamed = await hub.request("PATCH", `/v1/channels/${id}`, {
        body: { name: "Renamed", text_limit: 2000 },
      });
      assertStatus(renamed, 200);
      assert.equal(renamed.body.name, "Renamed");
      assert.equal(renamed.body.settings.textLimit, 2000);
      assert.equal(connectCalls(), calls, "no connect steps for a rename");

      const bad = await hub.request("PATCH", `/v1/channels/${id}`, { body: { tokens: ["vk1.a.nope"] } });
      assertError(bad, 424, "vk_auth_failed");
      const unchanged = await channel(id);
      assert.equal(unchanged.state, "online", "a refused change leaves the channel as it was");

      const fresh = vk.control.addToken(shop.id).value;
      const changed = await hub.request("PATCH", `/v1/channels/${id}`, { body: { tokens: [fresh] } });
      assertStatus(changed, 200);
      assert.equal(changed.body.state, "online");
      assert.deepEqual(codes(changed), ["vk_single_token"]);
      assert.equal(servers(shop.id).length, 1);
    });

    it("switches mode both ways (PATCH), answering VK's confirmation with a code stored a moment ago", async () => {
      const shop = community();
      const user = vk.control.createUser({ firstName: "Gleb" });
      const res = await connect({ group_id: shop.id, tokens: tokensOf(shop) });
      const id = res.body.id as string;
      // A delivery puts the channel, with its current code, in the hook's 5-second cache.
      vk.control.writeMessage(shop.id, { userId: user.id, text: "warm the cache" });
      await waitFor("the message", async () => (await channelMessages(hub, id)).includes("warm the cache"));

      const polling = await hub.request("PATCH", `/v1/channels/${id}`, { body: { mode: "long_poll" } });
      assertStatus(polling, 200);
      assert.deepEqual(
        [polling.body.mode, polling.body.state, polling.body.webhook_url],
        ["long_poll", "online", null],
      );
      assert.deepEqual(servers(shop.id), [], "the hub's server is gone");
      assert.equal(vk.control.community(shop.id).longPoll.enabled, true);
      vk.control.writeMessage(shop.id, { userId: user.id, text: "via long poll" });
      await waitFor("the message", async () => (await channelMessages(hub, id)).includes("via long poll"));

      // VK's code changes; the new server's confirmation must get the new one, cache or not.
      vk.control.setConfirmationCode(shop.id, "c0ffee01");
      const back = await hub.request("PATCH", `/v1/channels/${id}`, { body: { mode: "callback" } });
      assertStatus(back, 200);
      assert.equal(back.body.state, "online", JSON.stringify(back.body));
      assert.equal(back.body.settings.confirmationCode, "c0ffee01");
      assert.equal(vk.control.community(shop.id).longPoll.enabled, false, "Long Poll switched off again");
      assert.equal(servers(shop.id).length, 1);
      vk.control.writeMessage(shop.id, { userId: user.id, text: "via callback again" });
      await waitFor("the message", async () =>
        (await channelMessages(hub, id)).includes("via callback again"),
      );
      const texts = await channelMessages(hub, id);
      assert.equal(texts.filter((t) => t === "via long poll").length, 1, "each message once");
    });

    it("disconnects (DELETE): the hub's server is removed, the tokens forgotten, the history kept; connecting again reuses it", async () => {
      const shop = community();
      const user = vk.control.createUser({ firstName: "Vera" });
      const res = await connect({ group_id: shop.id, tokens: tokensOf(shop) });
      const id = res.body.id as string;
      vk.control.writeMessage(shop.id, { userId: user.id, text: "before disconnecting" });
      await waitFor("the message", async () =>
        (await channelMessages(hub, id)).includes("before disconnecting"),
      );

      const gone = await hub.request("DELETE", `/v1/channels/${id}`);
      assertStatus(gone, 200);
      assert.equal(gone.body.state, "disabled");
      assert.equal(gone.body.has_credentials, false);
      assert.equal(gone.body.webhook_url, null);
      assert.deepEqual(gone.body.warnings, []);
      assert.deepEqual(servers(shop.id), []);
      assert.deepEqual(await channelMessages(hub, id), ["before disconnecting"]);

      // A reconnect VK refuses (its limit of 10 servers) leaves the channel as it was.
      const call = api(shop.tokens[0]?.value);
      for (let n = 0; n < 10; n += 1)
        await call("groups.addCallbackServer", {
          group_id: shop.id,
          url: `http://127.0.0.1:9/${n}`,
          title: `${n}`,
        });
      assertError(
        await connect({ group_id: shop.id, tokens: tokensOf(shop) }),
        409,
        "vk_callback_servers_limit",
      );
      const refused = await hub.request("GET", `/v1/channels/${id}`);
      assert.deepEqual([refused.body.state, refused.body.has_credentials], ["disabled", false]);
      for (const server of servers(shop.id))
        await call("groups.deleteCallbackServer", { group_id: shop.id, server_id: server.id });

      const back = await connect({ group_id: shop.id, tokens: tokensOf(shop) });
      assertStatus(back, 200);
      assert.equal(back.body.id, id);
      assert.equal(back.body.state, "online");
      assert.equal(servers(shop.id).length, 1);
      // Every change is an event, for a CRM that shows the channel's state.
      assert.deepEqual(await channelStateChanges(hub, id), [
        ["connecting", "online"],
        ["online", "disabled"],
        ["disabled", "connecting"],
        ["connecting", "disabled"],
        ["disabled", "connecting"],
        ["connecting", "online"],
      ]);
    });
  });
}
