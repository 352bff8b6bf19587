// Bots Long Poll against the VK emulator over real HTTP: connecting a community on a hub without a
// public address, every kind of event the hub handles, the poll loop (failed 1/2/3, network
// failures, backoff), restarts, dead tokens, and several hub processes on one PostgreSQL database.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { startVkEmulator, type VkEmulator } from "../../../emulators/vk/server.ts";
import type { CommunityInput } from "../../../emulators/vk/state.ts";
import { openStore, type Store } from "../../store/database.ts";
import { migrate } from "../../store/migrations.ts";
import { findChannelAccount } from "../../store/repositories/channel-accounts.ts";
import { SecretBox } from "../../store/secret-box.ts";
import { assertStatus } from "../../testing/http.ts";
import type { TestHub } from "../../testing/hub.ts";
import { createScratchDatabase, serverUrl, storeKinds } from "../../testing/stores.ts";
import { actOutEveryEvent } from "../../testing/vk-every-event.ts";
import {
  channelMessages,
  channelStateChanges,
  type ServedHub,
  serveTestHub,
  waitFor,
} from "../../testing/vk-hub.ts";
import { vkHubEvents } from "./community-setup.ts";
import { backoffDelay } from "./long-poll.ts";

const emulatorOptions = { callback: { retryDelaysMs: [20, 40], timeoutMs: 1_000 } };

describe("Long Poll backoff", () => {
  it("doubles from the base up to the cap, with jitter in the upper half", () => {
    const low = () => 0;
    const high = () => 1;
    assert.deepEqual(
      [1, 2, 3, 4, 10].map((n) => backoffDelay(n, 1000, 60_000, low)),
      [500, 1000, 2000, 4000, 30_000],
    );
    assert.deepEqual(
      [1, 2, 3, 7, 30].map((n) => backoffDelay(n, 1000, 60_000, high)),
      [1000, 2000, 4000, 60_000, 60_000],
    );
  });
});

for (const kind of storeKinds) {
  describe(`VK Bots Long Poll on ${kind.name}`, () => {
    let store: Awaited<ReturnType<typeof kind.open>>;
    let vk: VkEmulator;
    let hub: ServedHub;

    before(async () => {
      store = await kind.open();
      vk = await startVkEmulator(emulatorOptions);
      hub = await serveTestHub(store, { publicUrl: false });
    });
    after(async () => {
      await hub.close();
      await vk.close();
      await store.drop();
    });

    const community = (input: CommunityInput = {}) =>
      vk.control.createCommunity({ name: "Bakery", tokens: [{}, {}], ...input });
    const connect = (body: Record<string, unknown>, via: TestHub = hub) =>
      via.request("POST", "/v1/channels", { body: { kind: "vk", api_base_url: vk.apiBaseUrl, ...body } });
    const channel = async (id: string) => {
      const res = await hub.request("GET", `/v1/channels/${id}`);
      assertStatus(res, 200);
      return res.body;
    };
    const polled = (id: string) =>
      waitFor("the channel's Long Poll loop", () => hub.workers?.vk.active.includes(id));
    /** Connects a fresh community and waits until this hub polls it. */
    const connected = async (input: CommunityInput = {}) => {
      const shop = community(input);
      const user = vk.control.createUser({ firstName: "Ivan" });
      const res = await connect({ group_id: shop.id, tokens: tokensOf(shop) });
      assertStatus(res, 201);
      await polled(res.body.id);
      return { shop, user, id: res.body.id as string, res };
    };
    const delivered = async (id: string, text: string) => {
      await waitFor(`"${text}" in the API`, async () => (await channelMessages(hub, id)).includes(text));
      assert.equal((await channelMessages(hub, id)).filter((t) => t === text).length, 1, `"${text}" once`);
    };
    const lpServerCalls = () => vk.control.requests({ method: "groups.getLongPollServer" }).length;

    it("connects in long poll mode by default on a hub without a public address; a client's message arrives", async () => {
      const { shop, user, id, res } = await connected();
      assert.equal(res.body.mode, "long_poll");
      assert.equal(res.body.state, "online");
      assert.equal(res.body.webhook_url, null);
      assert.deepEqual(res.body.warnings, []);
      assert.match(res.body.settings.longPollTs, /^\d+$/);
      const longPoll = vk.control.community(shop.id).longPoll;
      assert.equal(longPoll.enabled, true);
      assert.equal(longPoll.apiVersion, "5.199");
      assert.deepEqual([...longPoll.events].sort(), [...vkHubEvents].sort());
      assert.deepEqual(vk.control.community(shop.id).servers, [], "no callback server in long poll mode");
      vk.control.writeMessage(shop.id, { userId: user.id, text: "Хлеб свежий?" });
      await delivered(id, "Хлеб свежий?");
      assert.ok((await channel(id)).last_event_at);
    });

    it("carries every kind of event the hub handles: edits, consent, buttons, comments of each kind, leads, membership", async () => {
      const { shop, user, id } = await connected();
      await actOutEveryEvent({ hub, vk, groupId: shop.id, userId: user.id, channelId: id });
    });

    it("goes on after failed 1 (new ts), 2 (new key) and 3 (new key and ts) without losing later messages", async () => {
      const { shop, user, id } = await connected();
      // A forced failure hits the check in progress; with none in progress, the next one, which
      // for failed 1 skips what arrived meanwhile (VK's meaning). A delivered message shows the
      // loop is in its steady state: a check is waiting.
      vk.control.writeMessage(shop.id, { userId: user.id, text: "steady" });
      await delivered(id, "steady");
      for (const failed of [1, 2, 3] as const) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const calls = lpServerCalls();
        vk.control.failLongPoll(shop.id, failed);
        if (failed !== 1) await waitFor(`a new key after failed ${failed}`, () => lpServerCalls() > calls);
        vk.control.writeMessage(shop.id, { userId: user.id, text: `after failed ${failed}` });
        await delivered(id, `after failed ${failed}`);
      }
      assert.equal((await channel(id)).state, "online");
    });

    it("resumes from the stored ts after a restart: what arrived meanwhile is stored, and only once", async () => {
      const { shop, user, id } = await connected();
      vk.control.writeMessage(shop.id, { userId: user.id, text: "before the restart" });
      await delivered(id, "before the restart");
      await hub.stopWorkers();
      const stored = (await findChannelAccount(store.db, id))?.settings.longPollTs;
      vk.control.writeMessage(shop.id, { userId: user.id, text: "while the hub was down" });
      await hub.restartWorkers();
      await delivered(id, "while the hub was down");
      assert.notEqual((await findChannelAccount(store.db, id))?.settings.longPollTs, stored, "ts moved on");
      assert.equal((await channelMessages(hub, id)).filter((t) => t === "before the restart").length, 1);
    });

    it("backs off on network failures and VK errors, reports `failing` with the remedy, and recovers", async () => {
      const { shop, user, id } = await connected();
      const dropped = vk.control.addFault({ target: "lp", groupId: shop.id, drop: true, always: true });
      const vkError = vk.control.addFault({
        target: "groups.getLongPollServer",
        groupId: shop.id,
        error: { code: 10 },
        times: 2,
      });
      const failing = await waitFor("the channel failing", async () => {
        const c = await channel(id);
        return c.state === "failing" ? c : undefined;
      });
      assert.equal(failing.state_code, "vk_long_poll_failing");
      assert.match(failing.state_reason, /Long Poll keeps failing/);
      assert.match(failing.state_remedy, /growing pauses/);
      vk.control.removeFault(dropped.id);
      vk.control.removeFault(vkError.id);
      await waitFor("the channel online again", async () => (await channel(id)).state === "online");
      assert.equal((await channel(id)).state_code, null);
      // Each change is an event (connecting's, then the loop's), recorded with it, for webhooks.
      assert.deepEqual(await channelStateChanges(hub, id), [
        ["connecting", "online"],
        ["online", "failing"],
        ["failing", "online"],
      ]);
      vk.control.writeMessage(shop.id, { userId: user.id, text: "after the outage" });
      await delivered(id, "after the outage");
    });

    it("drops a token VK refuses and polls on with the others; fails with the remedy when none is left; a new token brings it back", async () => {
      const { shop, user, id } = await connected();
      const [first, second] = tokensOf(shop);
      vk.control.revokeToken(first as string);
      // Each failed 2 asks for a new key, with the next token in turn; one of them is the dead one.
      const warned = await waitFor("a dead-token warning", async () => {
        vk.control.failLongPoll(shop.id, 2);
        await new Promise((resolve) => setTimeout(resolve, 100));
        const c = await channel(id);
        return c.warnings.some((w: { code: string }) => w.code === "vk_token_dead") ? c : undefined;
      });
      assert.equal(warned.state, "online", "one live token is enough");
      assert.match(
        warned.warnings.find((w: { code: string }) => w.code === "vk_token_dead").message,
        /token 1 /,
      );
      vk.control.writeMessage(shop.id, { userId: user.id, text: "one token left" });
      await delivered(id, "one token left");

      vk.control.revokeToken(second as string);
      const failing = await waitFor("the channel failing", async () => {
        vk.control.failLongPoll(shop.id, 2);
        await new Promise((resolve) => setTimeout(resolve, 100));
        const c = await channel(id);
        return c.state === "failing" ? c : undefined;
      });
      assert.equal(failing.state_code, "vk_group_auth_failed");
      assert.match(failing.state_remedy, /Create token/);

      const fresh = vk.control.addToken(shop.id).value;
      const back = await connect({ group_id: shop.id, tokens: [fresh] });
      assertStatus(back, 200);
      assert.equal(back.body.state, "online");
      assert.equal(back.body.state_code, null);
      assert.ok(!back.body.warnings.some((w: { code: string }) => w.code === "vk_token_dead"));
      vk.control.writeMessage(shop.id, { userId: user.id, text: "with the new token" });
      await delivered(id, "with the new token");
    });

    it("stops polling a disabled channel and starts again when it is enabled", async () => {
      const { shop, user, id } = await connected();
      assertStatus(await hub.request("POST", `/v1/channels/${id}/disable`), 200);
      await waitFor("the loop stopped", () => !hub.workers?.vk.active.includes(id));
      vk.control.writeMessage(shop.id, { userId: user.id, text: "while disabled" });
      const enabled = await hub.request("POST", `/v1/channels/${id}/enable`);
      assert.equal(enabled.body.state, "connecting");
      await polled(id);
      await waitFor("online after the first poll", async () => (await channel(id)).state === "online");
      await delivered(id, "while disabled");
    });

    it("disconnecting switches Long Poll off and stops polling", async () => {
      const { shop, id } = await connected();
      const res = await hub.request("DELETE", `/v1/channels/${id}`);
      assertStatus(res, 200);
      assert.equal(res.body.state, "disabled");
      assert.equal(vk.control.community(shop.id).longPoll.enabled, false);
      await waitFor("the loop stopped", () => !hub.workers?.vk.active.includes(id));
    });
  });
}

describe("VK Long Poll with two hub processes on one PostgreSQL database", {
  skip: serverUrl ? false : "SWITCHBOARD_TEST_DATABASE_URL is not set",
}, () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let vk: VkEmulator;
  const stores: Store[] = [];
  const hubs: ServedHub[] = [];

  before(async () => {
    scratch = await createScratchDatabase(serverUrl as string);
    vk = await startVkEmulator(emulatorOptions);
    const box = new SecretBox(randomBytes(32));
    for (let n = 0; n < 2; n += 1) {
      const store = await openStore({ mode: "server", databaseUrl: scratch.url, poolSize: 4 });
      await migrate(store);
      stores.push(store);
      hubs.push(await serveTestHub(store, { publicUrl: false, box }));
    }
  });
  after(async () => {
    for (const hub of hubs) await hub.close();
    for (const store of stores) await store.close();
    await vk.close();
    await scratch.drop();
  });

  it("polls each channel in one process only, and the other takes over when that one stops", async () => {
    const [a, b] = hubs as [ServedHub, ServedHub];
    const shop = vk.control.createCommunity({ name: "Shared", tokens: [{}, {}] });
    const user = vk.control.createUser({ firstName: "Olga" });
    const res = await a.request("POST", "/v1/channels", {
      body: { kind: "vk", group_id: shop.id, tokens: tokensOf(shop), api_base_url: vk.apiBaseUrl },
    });
    assertStatus(res, 201);
    const id = res.body.id as string;
    const holders = () => hubs.filter((hub) => hub.workers?.vk.active.includes(id));
    await waitFor("a process polling the channel", () => holders().length > 0);
    // Several rescans later, still one.
    for (let n = 0; n < 6; n += 1) {
      assert.equal(holders().length, 1);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    vk.control.writeMessage(shop.id, { userId: user.id, text: "one poller" });
    await waitFor("the message", async () => (await channelMessages(a, id)).includes("one poller"));
    assert.equal((await channelMessages(a, id)).filter((t) => t === "one poller").length, 1);

    const holder = holders()[0] as ServedHub;
    const other = holder === a ? b : a;
    await holder.stopWorkers();
    await waitFor("the other process taking over", () => other.workers?.vk.active.includes(id));
    vk.control.writeMessage(shop.id, { userId: user.id, text: "after the takeover" });
    // Read through the first hub: the channel is its workspace's.
    await waitFor("the message", async () => (await channelMessages(a, id)).includes("after the takeover"));
    await holder.restartWorkers();
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(holders().length, 1, "the restarted process does not poll it a second time");
  });
});

function tokensOf(c: { tokens: { value: string }[] }) {
  return c.tokens.map((t) => t.value);
}
