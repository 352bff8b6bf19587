import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { and, eq, sql } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { eventSchemaName } from "../../http/resources/webhooks.ts";
import { Egress, withoutCredentials } from "../../net/egress.ts";
import { createApiKey } from "../../store/repositories/api-keys.ts";
import {
  type ChannelAccount,
  createChannelAccount,
  deleteChannelAccount,
} from "../../store/repositories/channel-accounts.ts";
import { type Conversation, createConversation } from "../../store/repositories/conversations.ts";
import { createEndpoint } from "../../store/repositories/webhooks.ts";
import { webhookAttempt, webhookDelivery, webhookEndpoint, workspace } from "../../store/schema.ts";
import { assertError, assertStatus, unique } from "../../testing/http.ts";
import { createTestHub, type TestHub, type TestResponse } from "../../testing/hub.ts";
import { storeKinds } from "../../testing/stores.ts";
import { Receiver, TestClock, testDeliveryWorker } from "../../testing/webhooks.ts";
import {
  conversationEvent,
  enqueueCallbacks,
  eventTypes,
  presentEndpointInEvent,
  recordEvent,
} from "./events.ts";
import { newSigningSecret } from "./signature.ts";
import type { DeliveryOptions } from "./worker.ts";

const second = 1000;
const minute = 60 * second;
const hour = 60 * minute;

for (const kind of storeKinds) {
  describe(`Webhook delivery on ${kind.name}`, () => {
    let store: Awaited<ReturnType<typeof kind.open>>;
    let hub: TestHub;

    before(async () => {
      store = await kind.open();
      hub = await createTestHub(store);
    });
    after(() => store.drop());

    /** A workspace of its own for each test (its endpoints see only its events), gone afterwards. */
    async function space(t: TestContext) {
      const db = store.db;
      const [ws] = await db
        .insert(workspace)
        .values({ name: unique("ws ") })
        .returning();
      const workspaceId = (ws as { id: string }).id;
      t.after(() => db.delete(workspace).where(eq(workspace.id, workspaceId)));
      const { secret: key } = await createApiKey(db, { workspaceId, name: "key" });
      const channel: ChannelAccount = await createChannelAccount(db, hub.box, {
        workspaceId,
        kind: "vk",
        externalId: unique("group-"),
        name: "VK group",
        credentials: { tokens: ["t"] },
      });
      const call = (method: string, path: string, body?: unknown) =>
        hub.request(method, path, { key, ...(body === undefined ? {} : { body }) });
      const clock = new TestClock();
      return {
        workspaceId,
        channel,
        call,
        clock,
        worker: (options: Partial<DeliveryOptions> = {}, egress?: Egress) =>
          testDeliveryWorker({ store, box: hub.box, ...(egress ? { egress } : {}) }, { clock, ...options }),
        async subscribe(url: string, extra: Record<string, unknown> = {}) {
          const res = await call("POST", "/v1/webhooks", { url, ...extra });
          assertStatus(res, 201);
          return res.body as { id: string; secret: string };
        },
        /** A conversation of its own: events keyed by it reach a receiver in order. */
        async conversation(): Promise<Conversation> {
          return createConversation(db, {
            workspaceId,
            channelAccountId: channel.id,
            contactId: null,
            kind: "comments",
            externalRef: unique("wall-"),
          });
        },
        emit: (conversation: Conversation) =>
          recordEvent(db, conversationEvent("conversation.updated", conversation)),
      };
    }

    /** A receiver that answers 500, and a workspace that never retries: every delivery fails at once, for good. */
    async function failingForGood(t: TestContext, s: Awaited<ReturnType<typeof space>>) {
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      assertStatus(await s.call("PATCH", "/v1/webhook-settings", { retry_schedule: [] }), 200);
      receiver.answer = () => ({ status: 500 });
      return receiver;
    }

    const attemptsOf = async (call: (m: string, p: string) => Promise<TestResponse>, path: string) => {
      const res = await call("GET", path);
      assertStatus(res, 200);
      return res.body.items as Record<string, unknown>[];
    };

    it("signs every request per Standard Webhooks, as the reference library verifies", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      const endpoint = await s.subscribe(`${receiver.url}/hooks`, { headers: { "X-Receiver-Token": "abc" } });
      const conversation = await s.conversation();
      const eventId = await s.emit(conversation);
      await s.worker().drain();

      assert.equal(receiver.receipts.length, 1);
      const [receipt] = receiver.receipts;
      assert.ok(receipt);
      const verified = new Webhook(endpoint.secret).verify(
        receipt.body,
        receipt.headers as Record<string, string>,
      );
      assert.deepEqual(verified, JSON.parse(receipt.body));
      const payload = verified as {
        id: string;
        type: string;
        workspace_id: string;
        data: { conversation: { id: string } };
      };
      assert.equal(payload.id, eventId);
      assert.equal(receipt.headers["webhook-id"], eventId);
      assert.equal(receipt.headers["webhook-attempt"], "1");
      assert.equal(receipt.headers["x-receiver-token"], "abc");
      assert.match(String(receipt.headers["content-type"]), /^application\/json/);
      assert.equal(payload.type, "conversation.updated");
      assert.equal(payload.workspace_id, s.workspaceId);
      assert.equal(payload.data.conversation.id, conversation.id);
      // The full object, as the API shows it: no second call needed.
      const api = await s.call("GET", `/v1/conversations/${conversation.id}`);
      assert.deepEqual(payload.data.conversation, api.body);
      assert.throws(
        () =>
          new Webhook(endpoint.secret).verify(
            receipt.body.replace("updated", "created"),
            receipt.headers as Record<string, string>,
          ),
        /signature/i,
      );
    });

    it("signs with both secrets while a rotation overlaps, then with the new one only", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      const old = await s.subscribe(receiver.url);
      const rotated = await s.call("POST", `/v1/webhooks/${old.id}/rotate-secret`);
      assertStatus(rotated, 200);
      const fresh = rotated.body.secret as string;
      assert.notEqual(fresh, old.secret);
      const conversation = await s.conversation();
      const worker = s.worker();
      await s.emit(conversation);
      await worker.drain();
      const during = receiver.receipts[0];
      assert.ok(during);
      assert.equal(String(during.headers["webhook-signature"]).split(" ").length, 2);
      for (const secret of [old.secret, fresh])
        new Webhook(secret).verify(during.body, during.headers as Record<string, string>);

      s.clock.advance(25 * hour);
      await s.emit(conversation);
      await worker.drain();
      const afterwards = receiver.receipts[1];
      assert.ok(afterwards);
      const signatures = String(afterwards.headers["webhook-signature"]).split(" ");
      const id = String(afterwards.headers["webhook-id"]);
      const at = new Date(Number(afterwards.headers["webhook-timestamp"]) * 1000);
      // The timestamp is a day ahead of the real clock, past the library's tolerance: compare signatures.
      assert.deepEqual(signatures, [new Webhook(fresh).sign(id, at, afterwards.body)]);
      assert.ok(!signatures.includes(new Webhook(old.secret).sign(id, at, afterwards.body)));
    });

    it("retries on the schedule with a stable webhook-id, then gives up; every attempt is logged", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      receiver.answer = () => ({ status: 503, body: "x".repeat(3000) });
      const endpoint = await s.subscribe(receiver.url);
      const eventId = await s.emit(await s.conversation());
      const worker = s.worker();
      const schedule = [5, 300, 1800, 7200, 18000, 36000, 36000];
      await worker.drain();
      for (const [i, delay] of schedule.entries()) {
        s.clock.advance(delay * second - second);
        await worker.drain();
        assert.equal(receiver.receipts.length, i + 1, `attempt ${i + 2} waits for its time`);
        s.clock.advance(second);
        await worker.drain();
        assert.equal(receiver.receipts.length, i + 2);
      }
      s.clock.advance(100 * hour);
      await worker.drain();
      assert.equal(receiver.receipts.length, 8, "8 attempts, then no more");
      assert.deepEqual(
        receiver.receipts.map((r) => r.headers["webhook-attempt"]),
        ["1", "2", "3", "4", "5", "6", "7", "8"],
      );
      assert.ok(receiver.receipts.every((r) => r.headers["webhook-id"] === eventId));

      const attempts = await attemptsOf(s.call, `/v1/webhooks/${endpoint.id}/attempts`);
      assert.deepEqual(
        attempts.map((a) => a.attempt),
        [8, 7, 6, 5, 4, 3, 2, 1],
      );
      const first = attempts.at(-1) as Record<string, unknown>;
      assert.equal(first.status, "failed");
      assert.equal(first.response_status, 503);
      assert.equal((first.response_body as string).length, 1024, "the first 1024 bytes of the answer");
      assert.equal(first.error, "the receiver answered 503");
      assert.equal(first.event_id, eventId);
      assert.equal(first.trigger, "scheduled");
      assert.equal(typeof first.duration_ms, "number");
      const times = attempts.map((a) => Date.parse(a.attempted_at as string)).reverse();
      assert.deepEqual(
        times.slice(1).map((time, i) => (time - (times[i] as number)) / second),
        schedule,
      );
      const event = await s.call("GET", `/v1/events/${eventId}`);
      assert.deepEqual(
        event.body.deliveries.map((d: Record<string, unknown>) => [
          d.endpoint_id,
          d.url,
          d.state,
          d.attempts,
        ]),
        [[endpoint.id, receiver.url, "failed", 8]],
      );
    });

    it("honours Retry-After", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      receiver.answer = () =>
        receiver.receipts.length === 1 ? { status: 429, headers: { "Retry-After": "120" } } : { status: 204 };
      await s.subscribe(receiver.url);
      await s.emit(await s.conversation());
      const worker = s.worker();
      await worker.drain();
      s.clock.advance(5 * second);
      await worker.drain();
      assert.equal(receiver.receipts.length, 1, "not at 5 s: the receiver asked for 120");
      s.clock.advance(115 * second);
      await worker.drain();
      assert.equal(receiver.receipts.length, 2);
    });

    it("counts the delay before a retry from the receiver's answer, not from the request", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      // A slow receiver: 20 s pass before it answers 500.
      receiver.answer = () => {
        if (receiver.receipts.length > 1) return { status: 204 };
        s.clock.advance(20 * second);
        return { status: 500 };
      };
      await s.subscribe(receiver.url);
      await s.emit(await s.conversation());
      const worker = s.worker();
      await worker.drain();
      s.clock.advance(4 * second);
      await worker.drain();
      assert.equal(receiver.receipts.length, 1, "the first retry is 5 s after the answer");
      s.clock.advance(1 * second);
      await worker.drain();
      assert.equal(receiver.receipts.length, 2);
    });

    it("disables an endpoint answering 410 at once, and tells the other endpoints", async (t) => {
      const s = await space(t);
      const gone = await Receiver.start();
      const watcher = await Receiver.start();
      t.after(() => Promise.all([gone.down(), watcher.down()]));
      gone.answer = () => ({ status: 410 });
      const endpoint = await s.subscribe(gone.url, { headers: { "X-Crm-Token": "crm-credential" } });
      await s.subscribe(watcher.url, { event_types: ["webhook.endpoint_disabled"] });
      const conversation = await s.conversation();
      const refused = await s.emit(conversation);
      const worker = s.worker();
      await worker.drain();
      const state = await s.call("GET", `/v1/webhooks/${endpoint.id}`);
      assert.equal(state.body.enabled, false);
      assert.match(state.body.disabled_reason, /410/);
      const notices = watcher.events();
      assert.deepEqual(
        notices.map((n) => n.type),
        ["webhook.endpoint_disabled"],
      );
      const told = notices[0]?.data.endpoint as Record<string, unknown>;
      assert.equal(told.id, endpoint.id);
      assert.equal(told.updated_at, state.body.updated_at, "the endpoint as it is once disabled");
      assert.ok(!("headers" in told), "another endpoint never sees this one's credentials");
      assert.doesNotMatch(JSON.stringify(watcher.receipts), /crm-credential/);

      const whileDisabled = await s.emit(conversation);
      s.clock.advance(hour);
      await worker.drain();
      assert.equal(gone.receipts.length, 1, "a disabled endpoint gets nothing more");
      assertError(await s.call("POST", `/v1/webhooks/${endpoint.id}/test`), 409, "webhook_endpoint_disabled");

      // The event that came while it was disabled waited: enabled again, it gets it.
      gone.answer = () => ({ status: 200 });
      assertStatus(await s.call("PATCH", `/v1/webhooks/${endpoint.id}`, { enabled: true }), 200);
      await worker.drain();
      assert.deepEqual(
        gone.events().map((e) => e.id),
        [refused, whileDisabled],
        "not the notice of its own disabling, nor again the event it refused with 410",
      );
    });

    it("keeps the events of a paused endpoint until it is enabled again", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      const endpoint = await s.subscribe(receiver.url);
      assertStatus(await s.call("PATCH", `/v1/webhooks/${endpoint.id}`, { enabled: false }), 200);
      const conversation = await s.conversation();
      const first = await s.emit(conversation);
      await s.emit(conversation);
      const worker = s.worker();
      await worker.drain();
      assert.equal(receiver.receipts.length, 0, "nothing while paused");
      const waiting = (await s.call("GET", `/v1/events/${first}`)).body.deliveries;
      assert.deepEqual(
        waiting.map((d: { state: string; next_attempt_at: string | null }) => [d.state, d.next_attempt_at]),
        [["pending", null]],
        "it waits unscheduled",
      );
      assertStatus(await s.call("PATCH", `/v1/webhooks/${endpoint.id}`, { enabled: true }), 200);
      await worker.drain();
      assert.deepEqual(
        receiver.events().map((e) => e.type),
        ["conversation.updated", "conversation.updated"],
      );
    });

    it("disables an endpoint that failed every attempt for the workspace's period, with a notice", async (t) => {
      const s = await space(t);
      const failing = await Receiver.start();
      const watcher = await Receiver.start();
      t.after(() => Promise.all([failing.down(), watcher.down()]));
      failing.answer = () => ({ status: 500 });
      assertStatus(
        await s.call("PATCH", "/v1/webhook-settings", {
          disable_after_hours: 1,
          retry_schedule: Array(10).fill(600),
        }),
        200,
      );
      const endpoint = await s.subscribe(failing.url);
      await s.subscribe(watcher.url, { event_types: ["webhook.endpoint_disabled"] });
      await s.emit(await s.conversation());
      const worker = s.worker();
      await worker.drain();
      for (let elapsed = 600; elapsed < 3600; elapsed += 600) {
        s.clock.advance(600 * second);
        await worker.drain();
        assert.equal((await s.call("GET", `/v1/webhooks/${endpoint.id}`)).body.enabled, true, `${elapsed} s`);
      }
      s.clock.advance(600 * second);
      await worker.drain();
      const state = await s.call("GET", `/v1/webhooks/${endpoint.id}`);
      assert.equal(state.body.enabled, false);
      assert.match(state.body.disabled_reason, /every attempt failed for 1 hours/);
      assert.equal(failing.receipts.length, 7);
      assert.deepEqual(
        watcher.events().map((e) => [e.type, (e.data.endpoint as { id: string }).id]),
        [["webhook.endpoint_disabled", endpoint.id]],
      );
    });

    it("delivers a conversation's events in order while one is retried; other conversations go on", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      const a = await s.conversation();
      const b = await s.conversation();
      await s.subscribe(receiver.url);
      const a1 = await s.emit(a);
      const a2 = await s.emit(a);
      const b1 = await s.emit(b);
      // a1's first attempt fails; everything else succeeds.
      receiver.answer = (r) =>
        r.headers["webhook-id"] === a1 && r.headers["webhook-attempt"] === "1"
          ? { status: 500 }
          : { status: 200 };
      const worker = s.worker();
      await worker.drain();
      assert.deepEqual(
        receiver.receipts.map((r) => r.headers["webhook-id"]).sort(),
        [a1, b1].sort(),
        "a2 waits for a1; b1 does not",
      );
      s.clock.advance(5 * second);
      await worker.drain();
      assert.deepEqual(
        receiver.receipts.slice(2).map((r) => r.headers["webhook-id"]),
        [a1, a2],
      );
    });

    it("lets order yield after the hold: a later event stops waiting for one that keeps failing", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      const conversation = await s.conversation();
      await s.subscribe(receiver.url);
      const first = await s.emit(conversation);
      const next = await s.emit(conversation);
      receiver.answer = (r) => (r.headers["webhook-id"] === first ? { status: 500 } : { status: 200 });
      const worker = s.worker({ orderHoldAttempts: 2 });
      await worker.drain();
      assert.deepEqual(
        receiver.receipts.map((r) => r.headers["webhook-id"]),
        [first],
      );
      s.clock.advance(5 * second);
      await worker.drain();
      assert.deepEqual(
        receiver.receipts.map((r) => r.headers["webhook-id"]),
        [first, first, next],
      );
    });

    it("delivers every event exactly once, in order per conversation, to a receiver that was down", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      await s.subscribe(receiver.url);
      await receiver.down();
      const conversations = [await s.conversation(), await s.conversation(), await s.conversation()];
      const sent = new Map<string, string[]>();
      for (let round = 0; round < 4; round++) {
        for (const conversation of conversations) {
          const id = await s.emit(conversation);
          sent.set(conversation.id, [...(sent.get(conversation.id) ?? []), id]);
        }
      }
      // Order holds however long the outage; nothing yields to delivery here.
      const worker = s.worker({ orderHoldAttempts: 30 });
      await worker.drain();
      s.clock.advance(5 * second);
      await worker.drain();
      // Back, but flaky at first: some requests arrive and are refused, so it sees repeats.
      await receiver.up();
      let calls = 0;
      receiver.answer = () => (calls++ % 3 === 0 ? { status: 503 } : { status: 200 });
      for (let round = 0; round < 8; round++) {
        s.clock.advance(10 * hour);
        await worker.drain();
      }
      const accepted = new Map<string, string>();
      calls = 0;
      for (const receipt of receiver.receipts) {
        const id = String(receipt.headers["webhook-id"]);
        // The receiver's own view: what it answered 2xx, deduplicated by webhook-id.
        if (calls++ % 3 !== 0 && !accepted.has(id))
          accepted.set(id, JSON.parse(receipt.body).data.conversation.id);
      }
      assert.equal(accepted.size, 12);
      for (const conversation of conversations) {
        assert.deepEqual(
          [...accepted].filter(([, c]) => c === conversation.id).map(([id]) => id),
          sent.get(conversation.id),
        );
      }
      const succeeded = await store.db.$count(
        webhookDelivery,
        and(eq(webhookDelivery.workspaceId, s.workspaceId), eq(webhookDelivery.state, "succeeded")),
      );
      assert.equal(succeeded, 12);
    });

    it("logs refused connections, and filters the attempt log", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      await receiver.down();
      const endpoint = await s.subscribe(receiver.url);
      const eventId = await s.emit(await s.conversation());
      const worker = s.worker();
      await worker.drain();
      await receiver.up();
      t.after(() => receiver.down());
      s.clock.advance(5 * second);
      await worker.drain();
      const log = await attemptsOf(s.call, `/v1/events/${eventId}/attempts`);
      assert.deepEqual(
        log.map((a) => [a.attempt, a.status, a.response_status]),
        [
          [2, "succeeded", 200],
          [1, "failed", null],
        ],
      );
      assert.match(String(log[1]?.error), /ECONNREFUSED/);
      const path = `/v1/webhooks/${endpoint.id}/attempts`;
      assert.deepEqual(
        (await attemptsOf(s.call, `${path}?status=failed`)).map((a) => a.attempt),
        [1],
      );
      assert.equal((await attemptsOf(s.call, `${path}?event_type=contact.created`)).length, 0);
      assert.equal((await attemptsOf(s.call, `${path}?event_type=conversation.updated`)).length, 2);
      const secondAt = encodeURIComponent(String(log[0]?.attempted_at));
      assert.deepEqual(
        (await attemptsOf(s.call, `${path}?since=${secondAt}`)).map((a) => a.attempt),
        [2],
      );
      assert.deepEqual(
        (await attemptsOf(s.call, `${path}?until=${secondAt}`)).map((a) => a.attempt),
        [1],
      );
      const page = await s.call("GET", `${path}?limit=1`);
      const next = await s.call("GET", `${path}?limit=1&cursor=${page.body.next_cursor}`);
      assert.deepEqual(
        [...page.body.items, ...next.body.items].map((a: { attempt: number }) => a.attempt),
        [2, 1],
      );
      assertError(await s.call("GET", `${path}?cursor=nonsense`), 400, "invalid_cursor");
    });

    it("replays one event to one endpoint, and recovers every failed event since a time", async (t) => {
      const s = await space(t);
      const receiver = await failingForGood(t, s);
      const endpoint = await s.subscribe(receiver.url);
      const conversation = await s.conversation();
      const since = new Date().toISOString();
      const ids = [await s.emit(conversation), await s.emit(conversation), await s.emit(conversation)];
      const worker = s.worker();
      await worker.drain();
      assert.equal(receiver.receipts.length, 3, "no retries: each failed for good");
      receiver.answer = () => ({ status: 200 });

      const replay = await s.call("POST", `/v1/events/${ids[0]}/replay`, { endpoint_id: endpoint.id });
      assertStatus(replay, 202);
      await worker.drain();
      assert.deepEqual(
        [receiver.receipts[3]?.headers["webhook-id"], receiver.receipts[3]?.headers["webhook-attempt"]],
        [ids[0], "2"],
      );
      const [replayed] = await attemptsOf(s.call, `/v1/events/${ids[0]}/attempts`);
      assert.deepEqual([replayed?.trigger, replayed?.status], ["manual", "succeeded"]);

      const recovery = await s.call("POST", `/v1/webhooks/${endpoint.id}/recover`, { since });
      assertStatus(recovery, 202);
      assert.deepEqual([recovery.body.total, recovery.body.queued, recovery.body.state], [2, 0, "running"]);
      await worker.drain();
      assert.deepEqual(
        receiver.receipts.slice(4).map((r) => r.headers["webhook-id"]),
        ids.slice(1),
      );
      const progress = await s.call("GET", `/v1/webhook-recoveries/${recovery.body.id}`);
      assert.deepEqual([progress.body.state, progress.body.queued], ["done", 2]);
      assertError(
        await s.call("POST", `/v1/events/${ids[0]}/replay`, { endpoint_id: "nope" }),
        404,
        "webhook_endpoint_not_found",
      );
      // No route lists recoveries: the remedy sends the caller to the answers that carry their ids.
      const unknown = await s.call("GET", `/v1/webhook-recoveries/${crypto.randomUUID()}`);
      assertError(unknown, 404, "webhook_recovery_not_found");
      assert.match(
        unknown.body.error.remedy,
        /answer of .*POST \/v1\/webhooks\/.*\/recover.*POST \/v1\/callbacks\/recover/,
      );
      assert.doesNotMatch(unknown.body.error.remedy, /lists/);
    });

    it("takes a time window of events to the millisecond, in the list and in a recovery", async (t) => {
      const s = await space(t);
      const receiver = await failingForGood(t, s);
      const endpoint = await s.subscribe(receiver.url);
      const conversation = await s.conversation();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        ids.push(await s.emit(conversation));
        await sleep(3);
      }
      const worker = s.worker();
      await worker.drain();
      const listed = await s.call("GET", "/v1/events?limit=3");
      assertStatus(listed, 200);
      const events = (
        listed.body.items as { id: string; timestamp: string; payload: { timestamp: string } }[]
      )
        .slice()
        .reverse();
      assert.deepEqual(
        events.map((e) => e.id),
        ids,
      );
      for (const event of events) assert.equal(event.timestamp, event.payload.timestamp);
      const [, second, third] = events.map((e) => e.timestamp);
      const window = `since=${encodeURIComponent(String(second))}&until=${encodeURIComponent(String(third))}`;

      const windowed = await s.call("GET", `/v1/events?${window}`);
      assert.deepEqual(
        (windowed.body.items as { id: string }[]).map((e) => e.id),
        [ids[1]],
      );
      receiver.answer = () => ({ status: 200 });
      const recovery = await s.call("POST", `/v1/webhooks/${endpoint.id}/recover`, {
        since: second,
        until: third,
      });
      assertStatus(recovery, 202);
      assert.equal(recovery.body.total, 1);
      await worker.drain();
      assert.deepEqual(
        receiver.receipts.slice(3).map((r) => r.headers["webhook-id"]),
        [ids[1]],
      );
    });

    it("replays a status callback to its URL, and recovers every failed callback since a time", async (t) => {
      const s = await space(t);
      const receiver = await failingForGood(t, s);
      await s.subscribe(`${receiver.url}/endpoint`);
      const since = new Date().toISOString();
      const callbacks = await enqueueCallbacks(
        store.db,
        ["m-1", "m-2", "m-3"].map((id) => ({
          workspaceId: s.workspaceId,
          url: `${receiver.url}/status/${id}`,
          body: { message_id: id, status: "sent" },
          orderingKey: id,
        })),
      );
      const eventId = await s.emit(await s.conversation());
      const worker = s.worker();
      await worker.drain();
      assert.equal(receiver.receipts.length, 4, "no retries: each failed for good");
      receiver.answer = () => ({ status: 200 });

      const replay = await s.call("POST", `/v1/events/${callbacks[0]}/replay`, {});
      assertStatus(replay, 202);
      assert.deepEqual(replay.body, { event_id: callbacks[0], endpoint_id: null });
      await worker.drain();
      assert.deepEqual(
        [receiver.receipts[4]?.path, receiver.receipts[4]?.headers["webhook-attempt"]],
        ["/status/m-1", "2"],
      );
      const [replayed] = await attemptsOf(s.call, `/v1/events/${callbacks[0]}/attempts`);
      assert.deepEqual([replayed?.trigger, replayed?.status], ["manual", "succeeded"]);
      assertError(await s.call("POST", `/v1/events/${eventId}/replay`, {}), 400, "replay_endpoint_required");

      // The endpoint's failed delivery is the endpoint's to recover, not the callbacks'.
      const recovery = await s.call("POST", "/v1/callbacks/recover", { since });
      assertStatus(recovery, 202);
      assert.deepEqual(
        [recovery.body.endpoint_id, recovery.body.total, recovery.body.state],
        [null, 2, "running"],
      );
      await worker.drain();
      assert.deepEqual(
        receiver.receipts
          .slice(5)
          .map((r) => r.path)
          .sort(),
        ["/status/m-2", "/status/m-3"],
      );
      const progress = await s.call("GET", `/v1/webhook-recoveries/${recovery.body.id}`);
      assert.deepEqual([progress.body.state, progress.body.queued], ["done", 2]);
      assertError(await s.call("POST", "/v1/callbacks/recover", {}), 400, "validation_failed", ["since"]);
      // A window that ends before it starts would recover nothing, silently.
      const backwards = { since: "2026-11-22T10:00:00Z", until: "2026-11-22T09:00:00+00:00" };
      assertError(await s.call("POST", "/v1/callbacks/recover", backwards), 400, "validation_failed", [
        "until",
      ]);
    });

    it("says what is wrong with an endpoint it refuses", async (t) => {
      const s = await space(t);
      const refusal = async (body: Record<string, unknown>) => {
        const res = await s.call("POST", "/v1/webhooks", body);
        assertError(res, 400, "validation_failed");
        return res.body.error.details as { path: string; detail: string }[];
      };
      assert.deepEqual(await refusal({ url: "ftp://files.example.com/hook" }), [
        { path: "url", code: "custom", detail: "Only http and https URLs are accepted, not ftp:" },
      ]);
      assert.match((await refusal({ url: "crm.example.com/hook" }))[0]?.detail ?? "", /^Not a URL/);
      // Credentials belong in `headers`; a URL carrying them is refused, and not echoed.
      const withCredentials = await s.call("POST", "/v1/webhooks", {
        url: "https://crm:s3cret@crm.example.com/hook",
      });
      assertError(withCredentials, 400, "validation_failed", ["url"]);
      assert.match(withCredentials.body.error.details[0].detail, /user name or password.*`headers`/);
      assert.doesNotMatch(JSON.stringify(withCredentials.body), /s3cret/);
      const endpoint = await s.subscribe("http://127.0.0.1:9/hook");
      const patched = await s.call("PATCH", `/v1/webhooks/${endpoint.id}`, {
        url: "https://crm:s3cret@crm.example.com/",
      });
      assertError(patched, 400, "validation_failed", ["url"]);
      // A header the hub sets itself is named, with why, rather than "Invalid key in record".
      const url = "http://127.0.0.1:9/hook";
      assert.deepEqual(await refusal({ url, headers: { "webhook-signature": "v1,x", "X Token": "t" } }), [
        {
          path: "headers.webhook-signature",
          code: "invalid_key",
          detail:
            '"webhook-signature" is set by the hub on every request (webhook-*, content-*, host and user-agent are its own): choose another name',
        },
        {
          path: "headers.X Token",
          code: "invalid_key",
          detail: '"X Token" is not a header name: use 1 to 100 letters, digits and hyphens',
        },
      ]);
      const [contentType] = await refusal({ url, headers: { "Content-Type": "text/plain" } });
      assert.match(contentType?.detail ?? "", /^"Content-Type" is set by the hub/);
      // A value no HTTP request can carry would fail every delivery before it left the hub.
      const values = await refusal({ url, headers: { "X-Token": "a\r\nX-Evil: 1", "X-Name": "Токен" } });
      assert.deepEqual(
        values.map((d) => d.path),
        ["headers.X-Token", "headers.X-Name"],
      );
      assert.match(values[0]?.detail ?? "", /printable ASCII/);

      // A channel filter naming no channel of the workspace would match nothing, silently.
      const stranger = crypto.randomUUID();
      for (const [method, path] of [
        ["POST", "/v1/webhooks"],
        ["PATCH", `/v1/webhooks/${endpoint.id}`],
      ] as const) {
        const res = await s.call(method, path, { url, channel_ids: [s.channel.id, stranger, "nope"] });
        assertError(res, 404, "channel_not_found", ["channel_ids.1", "channel_ids.2"]);
        assert.equal(
          res.body.error.message,
          `No channel account with id \`${stranger}\` or \`nope\` in this workspace.`,
        );
      }
      const one = await s.call("POST", "/v1/webhooks", { url, channel_ids: ["nope"] });
      assert.equal(one.body.error.message, "No channel account with id `nope` in this workspace.");
      const inRussian = await hub.request("POST", "/v1/webhooks", {
        key: (await createApiKey(store.db, { workspaceId: s.workspaceId, name: "ru" })).secret,
        body: { url, channel_ids: ["one", "two", "three"] },
        headers: { "accept-language": "ru" },
      });
      assert.equal(
        inRussian.body.error.message,
        "В этом рабочем пространстве нет объекта «канал» с идентификатором `one`, `two` или `three`.",
      );
      const filtered = await s.call("PATCH", `/v1/webhooks/${endpoint.id}`, { channel_ids: [s.channel.id] });
      assertStatus(filtered, 200);
      assert.deepEqual(filtered.body.channel_ids, [s.channel.id]);
    });

    it("drops a deleted channel from channel_ids; an endpoint left with none receives nothing, not everything", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      const doomed = await createChannelAccount(store.db, hub.box, {
        workspaceId: s.workspaceId,
        kind: "vk",
        externalId: unique("group-"),
        name: "VK group that failed to connect",
      });
      const both = await s.subscribe(`${receiver.url}/both`, { channel_ids: [s.channel.id, doomed.id] });
      const only = await s.subscribe(`${receiver.url}/only`, { channel_ids: [doomed.id] });
      const every = await s.subscribe(`${receiver.url}/every`);
      await deleteChannelAccount(store.db, doomed.id);
      const channelIds = async (id: string) => (await s.call("GET", `/v1/webhooks/${id}`)).body.channel_ids;
      assert.deepEqual(
        [await channelIds(both.id), await channelIds(only.id), await channelIds(every.id)],
        [[s.channel.id], [], null],
      );
      // An event of another channel, and one of no channel: `[]` lets neither through.
      await s.emit(await s.conversation());
      await recordEvent(store.db, {
        type: "webhook.test",
        workspaceId: s.workspaceId,
        data: { endpoint_id: every.id, message: "of no channel" },
        orderingKey: null,
        channelId: null,
      });
      await s.worker().drain();
      assert.deepEqual(receiver.receipts.map((r) => r.path).sort(), ["/both", "/every", "/every"]);
    });

    it("refuses private addresses, and never follows a redirect", async (t) => {
      const s = await space(t);
      const strict = await createTestHub(store, { egressAllow: [] });
      const { secret: key } = await createApiKey(store.db, { workspaceId: s.workspaceId, name: "strict" });
      for (const url of [
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest",
        "http://localhost:8080/",
        "http://[::1]/",
      ]) {
        const res = await strict.request("POST", "/v1/webhooks", { key, body: { url } });
        assertError(res, 400, "webhook_url_refused", ["url"]);
        assert.match(res.body.error.details[0].detail, /not a public address/);
      }
      // An address is not said to resolve to itself; the reason is in the request's language.
      const refusedIn = (language: string, url: string) =>
        strict.request("POST", "/v1/webhooks", {
          key,
          body: { url },
          headers: { "accept-language": language },
        });
      assert.equal(
        (await refusedIn("en", "http://10.1.2.3/hook")).body.error.message,
        "The hub will not send requests to `http://10.1.2.3/hook`: 10.1.2.3 is not a public address.",
      );
      assert.equal(
        (await refusedIn("ru", "http://[::1]/hook")).body.error.message,
        "Хаб не будет отправлять запросы на `http://[::1]/hook`: ::1 — не публичный адрес.",
      );
      // Nor is a query shown, which may carry a token: only where the hub would not send.
      const tokened = await refusedIn("en", "http://10.1.2.3/hook?token=s3cret#frag");
      assert.match(tokened.body.error.message, /`http:\/\/10\.1\.2\.3\/hook`/);
      assert.doesNotMatch(JSON.stringify(tokened.body), /s3cret/);
      assert.match(
        (await refusedIn("ru", "http://localhost:8080/")).body.error.message,
        /: localhost разрешается в (127\.0\.0\.1|::1), а это не публичный адрес\.$/,
      );
      // Subscribed where loopback was allowed, delivered by a worker that allows it no longer.
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      const endpoint = await s.subscribe(receiver.url);
      await s.emit(await s.conversation());
      await s.worker({}, new Egress({ allow: [] })).drain();
      assert.equal(receiver.receipts.length, 0);
      const [refused] = await attemptsOf(s.call, `/v1/webhooks/${endpoint.id}/attempts`);
      assert.match(String(refused?.error), /127\.0\.0\.1.*not a public address/);

      // `localhost` is allowed by name; its redirect to 127.0.0.1 is not followed.
      // Stored directly: whether `localhost` passes the API's check depends on the machine's resolver.
      const named = await createEndpoint(store.db, s.workspaceId, {
        url: `${receiver.url.replace("127.0.0.1", "localhost")}/hook`,
        eventTypes: ["conversation.created"],
        sealedSecret: hub.box.seal(newSigningSecret()),
      });
      receiver.answer = (r) =>
        r.path === "/hook"
          ? { status: 302, headers: { location: `${receiver.url}/landing` } }
          : { status: 200 };
      await recordEvent(store.db, conversationEvent("conversation.created", await s.conversation()));
      await s.worker({}, new Egress({ allow: ["localhost"] })).drain();
      assert.deepEqual(
        receiver.receipts.map((r) => r.path),
        ["/hook"],
      );
      const [redirected] = await attemptsOf(s.call, `/v1/webhooks/${named.id}/attempts`);
      assert.deepEqual([redirected?.status, redirected?.response_status], ["failed", 302]);
    });

    it("moves callback_secret_rotated_at only when the callback secret is rotated", async (t) => {
      const s = await space(t);
      const first = await s.call("GET", "/v1/webhook-settings");
      assertStatus(first, 200);
      const made = first.body.callback_secret_rotated_at;
      await sleep(5);
      const patched = await s.call("PATCH", "/v1/webhook-settings", { disable_after_hours: 48 });
      assertStatus(patched, 200);
      assert.equal(patched.body.callback_secret_rotated_at, made);
      const rotated = await s.call("POST", "/v1/webhook-settings/callback-secret");
      assertStatus(rotated, 200);
      assert.ok(rotated.body.callback_secret_rotated_at > made, "the rotation's time");
      const after = await s.call("GET", "/v1/webhook-settings");
      assert.equal(after.body.callback_secret_rotated_at, rotated.body.callback_secret_rotated_at);
      assert.equal(after.body.disable_after_hours, 48);
    });

    it("shows the callback secret that signed callbacks before anyone asked for it, and both during a rotation", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      const worker = s.worker();
      const deliverOne = async (messageId: string) => {
        const body = { message_id: messageId, status: "delivered" };
        await enqueueCallbacks(store.db, [
          { workspaceId: s.workspaceId, url: `${receiver.url}/status`, body, orderingKey: messageId },
        ]);
        await worker.drain();
        const delivered = receiver.receipts.at(-1);
        assert.ok(delivered);
        return delivered;
      };
      const verifies = (secret: string, receipt: { body: string; headers: Record<string, unknown> }) => {
        try {
          new Webhook(secret).verify(receipt.body, receipt.headers as Record<string, string>);
          return true;
        } catch {
          return false;
        }
      };
      const early = await deliverOne("m-early");
      const shown = await s.call("GET", "/v1/webhook-settings/callback-secret");
      assertStatus(shown, 200);
      assert.match(shown.body.callback_secret, /^whsec_/);
      assert.equal(shown.body.previous_callback_secret, null);
      assert.ok(
        verifies(shown.body.callback_secret, early),
        "the first callback verifies with the shown secret",
      );
      const rotated = await s.call("POST", "/v1/webhook-settings/callback-secret");
      assertStatus(rotated, 200);
      const during = await s.call("GET", "/v1/webhook-settings/callback-secret");
      assertStatus(during, 200);
      assert.equal(during.body.callback_secret, rotated.body.callback_secret);
      assert.equal(during.body.previous_callback_secret, shown.body.callback_secret);
      assert.equal(
        during.body.previous_callback_secret_expires_at,
        rotated.body.previous_callback_secret_expires_at,
      );
      const late = await deliverOne("m-late");
      assert.ok(verifies(during.body.callback_secret, late), "signed with the new secret");
      assert.ok(verifies(during.body.previous_callback_secret, late), "and with the previous one");
      assert.equal(verifies(during.body.callback_secret, early), false, "the new secret is a new one");
    });

    it("delivers a status callback to an ad hoc URL, signed with the workspace's callback secret", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      const rotated = await s.call("POST", "/v1/webhook-settings/callback-secret");
      assertStatus(rotated, 200);
      receiver.answer = () => (receiver.receipts.length === 1 ? { status: 502 } : { status: 200 });
      const body = { message_id: "m-1", status: "delivered", data: { order: 7 } };
      const [callbackId] = await enqueueCallbacks(store.db, [
        { workspaceId: s.workspaceId, url: `${receiver.url}/status?tag=1`, body, orderingKey: "m-1" },
      ]);
      const worker = s.worker();
      await worker.drain();
      s.clock.advance(5 * second);
      await worker.drain();
      assert.equal(receiver.receipts.length, 2);
      const delivered = receiver.receipts[1];
      assert.ok(delivered);
      assert.equal(delivered.path, "/status?tag=1");
      assert.equal(delivered.headers["webhook-id"], callbackId);
      assert.deepEqual(JSON.parse(delivered.body), body);
      // The signature is checked against the real clock's tolerance; the clock moved 5 s.
      new Webhook(rotated.body.callback_secret).verify(
        delivered.body,
        delivered.headers as Record<string, string>,
      );
      const log = await attemptsOf(s.call, `/v1/events/${callbackId}/attempts`);
      assert.deepEqual(
        log.map((a) => [a.attempt, a.response_status, a.endpoint_id]),
        [
          [2, 200, null],
          [1, 502, null],
        ],
      );
      const listed = await s.call("GET", "/v1/events?type=callback");
      assert.deepEqual(
        listed.body.items.map((e: { id: string }) => e.id),
        [callbackId],
      );
    });

    it("never shows the user name and password of a callback URL, which still sign in", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      const [callbackId] = await enqueueCallbacks(store.db, [
        {
          workspaceId: s.workspaceId,
          url: `${receiver.url.replace("http://", "http://crm:s3cret@")}/status?tag=1`,
          body: { message_id: "m-1", status: "sent" },
          orderingKey: "m-1",
        },
      ]);
      await s.worker().drain();
      const credentials = Buffer.from("crm:s3cret").toString("base64");
      assert.equal(receiver.receipts[0]?.headers.authorization, `Basic ${credentials}`);
      const event = await s.call("GET", `/v1/events/${callbackId}`);
      assertStatus(event, 200);
      const [attempt] = await attemptsOf(s.call, `/v1/events/${callbackId}/attempts`);
      assert.deepEqual(
        [event.body.deliveries[0].url, attempt?.url],
        [`${receiver.url}/status?tag=1`, `${receiver.url}/status?tag=1`],
      );
      // Nor does the log keep them: only the delivery, which sends them.
      const logged = await store.db
        .select({ url: webhookAttempt.url })
        .from(webhookAttempt)
        .where(eq(webhookAttempt.eventId, callbackId as string));
      assert.deepEqual(logged, [{ url: `${receiver.url}/status?tag=1` }]);
    });

    it("takes the user name and password out of the URLs of attempts logged with them (migration 0017)", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      const [callbackId] = await enqueueCallbacks(store.db, [
        {
          workspaceId: s.workspaceId,
          url: `${receiver.url}/status`,
          body: { message_id: "m-1", status: "sent" },
          orderingKey: "m-1",
        },
      ]);
      await s.worker().drain();
      const [attempt] = await store.db
        .select()
        .from(webhookAttempt)
        .where(eq(webhookAttempt.eventId, callbackId as string));
      assert.ok(attempt);
      // Attempts as the hub logged them before: the URL as sent, credentials and all.
      const { id: _id, ...logged } = attempt;
      const strippedTo = {
        "http://crm:s3cret@127.0.0.1:9/status?tag=1": "http://127.0.0.1:9/status?tag=1",
        "https://us%40er:p%3Aa@crm.example.com/hook": "https://crm.example.com/hook",
        "HTTPS://Анна:пароль@crm.example.com/": "HTTPS://crm.example.com/",
        "http://crm@crm.example.com/hook@v2?to=a@b": "http://crm.example.com/hook@v2?to=a@b",
        // An `@` after the host is no credential.
        "http://crm.example.com/hook?from=anna@example.com":
          "http://crm.example.com/hook?from=anna@example.com",
        "http://crm.example.com/a@b": "http://crm.example.com/a@b",
      };
      const rows = await store.db
        .insert(webhookAttempt)
        .values(Object.keys(strippedTo).map((url) => ({ ...logged, url })))
        .returning({ id: webhookAttempt.id, url: webhookAttempt.url });
      const migration = readFileSync("src/store/migrations/0017_strip_attempt_url_credentials.sql", "utf8");
      const migrate = async () => {
        for (const statement of migration.split("--> statement-breakpoint"))
          await store.db.execute(sql.raw(statement));
      };
      const urls = async () =>
        Object.fromEntries(
          await Promise.all(
            rows.map(async ({ id, url }) => {
              const [row] = await store.db
                .select({ url: webhookAttempt.url })
                .from(webhookAttempt)
                .where(eq(webhookAttempt.id, id));
              return [url, row?.url];
            }),
          ),
        );
      await migrate();
      const migrated = await urls();
      assert.deepEqual(migrated, strippedTo);
      // As the API has shown them all along, and the worker now logs them.
      for (const [url, stripped] of Object.entries(strippedTo))
        assert.equal(withoutCredentials(url), stripped);
      await migrate();
      assert.deepEqual(await urls(), migrated, "running it again changes nothing");
      const [untouched] = await store.db
        .select()
        .from(webhookAttempt)
        .where(eq(webhookAttempt.id, attempt.id));
      assert.deepEqual(untouched, attempt);
    });

    it("moves the credentials of endpoints saved with them in the URL into the Authorization header they sent (migration 0016)", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      // Saved before the API refused them: stored directly, as the API accepted them then.
      const saved = async (path: string, userinfo: string, headers: Record<string, string> = {}) =>
        createEndpoint(store.db, s.workspaceId, {
          url: `${receiver.url.replace("http://", `http://${userinfo}@`)}/${path}?tag=1`,
          headers,
          eventTypes: ["conversation.updated"],
          sealedSecret: hub.box.seal(newSigningSecret()),
        });
      const encoded = await saved("encoded", "us%40er:p%3Aa:ss");
      const cyrillic = await saved("cyrillic", "Анна:пароль");
      const nameOnly = await saved("name-only", "crm");
      const own = await saved("own", "crm:s3cret", { authorization: "Bearer own" });
      const broken = await saved("broken", "us%ZZer:s3cret");
      // A disabling notice stored back then told of the endpoint with its URL as it was.
      const notice = await recordEvent(store.db, {
        type: "webhook.endpoint_disabled",
        workspaceId: s.workspaceId,
        data: { endpoint: { ...presentEndpointInEvent(own), url: own.url }, reason: "x" },
        orderingKey: null,
        channelId: null,
      });
      const authorizations = async () => {
        receiver.receipts.length = 0;
        await s.emit(await s.conversation());
        await s.worker().drain();
        return Object.fromEntries(
          receiver.receipts.map((r) => [new URL(r.path, "http://x").pathname, r.headers.authorization]),
        );
      };
      const before = await authorizations();
      // Node could not decode the broken one's credentials: it never reached its receiver.
      assert.deepEqual(Object.keys(before).sort(), ["/cyrillic", "/encoded", "/name-only", "/own"]);
      assert.equal(before["/encoded"], `Basic ${Buffer.from("us@er:p:a:ss").toString("base64")}`);
      assert.equal(before["/own"], "Bearer own");

      const migration = readFileSync("src/store/migrations/0016_endpoint_url_credentials.sql", "utf8");
      const migrate = async () => {
        for (const statement of migration.split("--> statement-breakpoint"))
          await store.db.execute(sql.raw(statement));
      };
      await migrate();
      // The same requests as before, and the broken one now reaches its receiver, without any.
      assert.deepEqual(await authorizations(), { ...before, "/broken": undefined });
      const shown = async (id: string) => {
        const res = await s.call("GET", `/v1/webhooks/${id}`);
        assertStatus(res, 200);
        return [res.body.url, res.body.headers];
      };
      const url = (path: string) => `${receiver.url}/${path}?tag=1`;
      assert.deepEqual(await shown(encoded.id), [url("encoded"), { Authorization: before["/encoded"] }]);
      assert.deepEqual(await shown(cyrillic.id), [url("cyrillic"), { Authorization: before["/cyrillic"] }]);
      assert.deepEqual(await shown(nameOnly.id), [url("name-only"), { Authorization: before["/name-only"] }]);
      assert.deepEqual(await shown(own.id), [url("own"), { authorization: "Bearer own" }]);
      assert.deepEqual(await shown(broken.id), [url("broken"), {}]);
      const event = await s.call("GET", `/v1/events/${notice}`);
      assert.equal(event.body.payload.data.endpoint.url, url("own"));
      // Nothing left to move: running it again changes nothing.
      const rows = () =>
        store.db.select().from(webhookEndpoint).where(eq(webhookEndpoint.workspaceId, s.workspaceId));
      const once = await rows();
      await migrate();
      assert.deepEqual(await rows(), once);
    });

    it("never shows a user name and password an endpoint's URL still holds", async (t) => {
      const s = await space(t);
      // A row an older hub process wrote during a rolling upgrade, after the migration ran.
      const endpoint = await createEndpoint(store.db, s.workspaceId, {
        url: "http://crm:s3cret@127.0.0.1:9/hook",
        sealedSecret: hub.box.seal(newSigningSecret()),
      });
      const one = await s.call("GET", `/v1/webhooks/${endpoint.id}`);
      const list = await s.call("GET", "/v1/webhooks");
      assert.equal(one.body.url, "http://127.0.0.1:9/hook");
      assert.doesNotMatch(JSON.stringify([one.body, list.body]), /s3cret/);
      assert.deepEqual(presentEndpointInEvent(endpoint).url, "http://127.0.0.1:9/hook");
    });

    it("keeps at most the configured requests in flight, per endpoint and in all", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      receiver.answer = () => ({ status: 200, afterMs: 60 });
      await s.subscribe(`${receiver.url}/a`);
      await s.subscribe(`${receiver.url}/b`);
      for (let i = 0; i < 8; i++) await s.emit(await s.conversation());
      // Two per endpoint bind before eight in all do.
      await s.worker({ concurrency: 8, perTarget: 2 }).drain();
      assert.equal(receiver.receipts.length, 16);
      assert.deepEqual(
        [receiver.maxOpenByPath.get("/a"), receiver.maxOpenByPath.get("/b"), receiver.maxOpen],
        [2, 2, 4],
      );
      // Two in all bind before eight per endpoint do.
      for (let i = 0; i < 8; i++) await s.emit(await s.conversation());
      receiver.maxOpen = 0;
      await s.worker({ concurrency: 2, perTarget: 8 }).drain();
      assert.equal(receiver.receipts.length, 32);
      assert.equal(receiver.maxOpen, 2);
    });

    it("lets an endpoint be deleted while a request to it is in flight", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      const doomed = await s.subscribe(`${receiver.url}/doomed`);
      const kept = await s.subscribe(`${receiver.url}/kept`);
      let deleted: Promise<unknown> = Promise.resolve();
      receiver.answer = (r) => {
        if (r.path === "/doomed") deleted = s.call("DELETE", `/v1/webhooks/${doomed.id}`);
        return { status: 200, afterMs: 100 };
      };
      await s.emit(await s.conversation());
      await s.worker().drain();
      assertStatus((await deleted) as TestResponse, 200);
      // The other endpoint's attempt, written in the same batch, is logged.
      const log = await attemptsOf(s.call, `/v1/webhooks/${kept.id}/attempts`);
      assert.deepEqual(
        log.map((a) => a.status),
        ["succeeded"],
      );
    });

    it("leaves a delivery on its way to finish when it is replayed meanwhile: one request, not two", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      const endpoint = await s.subscribe(`${receiver.url}/endpoint`);
      const [callbackId] = await enqueueCallbacks(store.db, [
        {
          workspaceId: s.workspaceId,
          url: `${receiver.url}/status`,
          body: { status: "sent" },
          orderingKey: null,
        },
      ]);
      const eventId = await s.emit(await s.conversation());
      const replays: Promise<TestResponse>[] = [];
      receiver.answer = (r) => {
        replays.push(
          r.path === "/status"
            ? s.call("POST", `/v1/events/${callbackId}/replay`, {})
            : s.call("POST", `/v1/events/${eventId}/replay`, { endpoint_id: endpoint.id }),
        );
        return { status: 200, afterMs: 100 };
      };
      await s.worker().drain();
      for (const replay of await Promise.all(replays)) assertStatus(replay, 202);
      assert.deepEqual(receiver.receipts.map((r) => r.path).sort(), ["/endpoint", "/status"]);
      const deliveries = await store.db
        .select({ state: webhookDelivery.state, attempts: webhookDelivery.attempts })
        .from(webhookDelivery)
        .where(eq(webhookDelivery.workspaceId, s.workspaceId));
      assert.deepEqual(deliveries, [
        { state: "succeeded", attempts: 1 },
        { state: "succeeded", attempts: 1 },
      ]);
    });

    it("sends only the types and channels an endpoint asked for; a test event only to its endpoint", async (t) => {
      const s = await space(t);
      const receiver = await Receiver.start();
      t.after(() => receiver.down());
      const byType = await s.subscribe(`${receiver.url}/type`, { event_types: ["conversation.resolved"] });
      const otherChannel = await createChannelAccount(store.db, hub.box, {
        workspaceId: s.workspaceId,
        kind: "vk",
        externalId: unique("group-"),
        name: "Another VK group",
        credentials: { tokens: ["t"] },
      });
      await s.subscribe(`${receiver.url}/elsewhere`, { channel_ids: [otherChannel.id] });
      const conversation = await s.conversation();
      await s.emit(conversation);
      assertStatus(
        await s.call("PATCH", `/v1/conversations/${conversation.id}`, { status: "resolved" }),
        200,
      );
      const test = await s.call("POST", `/v1/webhooks/${byType.id}/test`);
      assertStatus(test, 202);
      await s.worker().drain();
      assert.deepEqual(
        receiver.receipts.map((r) => [r.path, JSON.parse(r.body).type]),
        [
          ["/type", "conversation.resolved"],
          ["/type", "webhook.test"],
        ],
      );
      const types = (await s.call("GET", "/v1/events?limit=10")).body.items.map(
        (e: { type: string }) => e.type,
      );
      assert.deepEqual(types, [
        "webhook.test",
        "conversation.resolved",
        "conversation.updated",
        "conversation.updated",
      ]);
      // A type no event has is a mistake, not an empty list: the answer names the known ones.
      for (const [path, field] of [
        ["/v1/events?type=nope", "query.type"],
        [`/v1/webhooks/${byType.id}/attempts?event_type=message.recieved`, "query.event_type"],
      ] as const) {
        const unknown = await s.call("GET", path);
        assertError(unknown, 400, "validation_failed", [field]);
        assert.match(
          unknown.body.error.details[0].detail,
          /"callback".*"message\.received".*"webhook\.test"/,
        );
      }
      assertStatus(await s.call("GET", "/v1/events?type=callback"), 200);
    });
  });
}

describe("The event catalogue", () => {
  it("publishes every event type in the OpenAPI document and in docs/webhooks.md", async (t) => {
    const [kind] = storeKinds;
    const store = await (kind as (typeof storeKinds)[number]).open();
    t.after(() => store.drop());
    const hub = await createTestHub(store);
    const doc = (await hub.request("GET", "/openapi.json", { key: null })).body;
    const docs = readFileSync("docs/webhooks.md", "utf8");
    for (const type of eventTypes) {
      const webhook = doc.webhooks?.[type]?.post;
      assert.ok(webhook, `${type} is under webhooks`);
      assert.ok(doc.components.schemas[eventSchemaName(type)], `${type} has a component schema`);
      assert.ok(docs.includes(`| \`${type}\` |`), `${type} is in the catalogue of docs/webhooks.md`);
    }
    assert.deepEqual(Object.keys(doc.webhooks).sort(), [...eventTypes].sort());
  });
});
