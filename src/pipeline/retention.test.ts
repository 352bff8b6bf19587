import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { eq, inArray } from "drizzle-orm";
import pino from "pino";
import { v7 as uuidv7 } from "uuid";
import { idFloor } from "../store/id-time.ts";
import { createContact } from "../store/repositories/contacts.ts";
import {
  contactEvent,
  type deliveryStates,
  inboundEvent,
  webhookAttempt,
  webhookDelivery,
  webhookEndpoint,
  webhookEvent,
} from "../store/schema.ts";
import { assertError, assertStatus } from "../testing/http.ts";
import { createTestHub, type TestHub } from "../testing/hub.ts";
import { storeKinds } from "../testing/stores.ts";
import { vkTestChannel } from "../testing/vk-world.ts";
import { RetentionWorker } from "./retention.ts";

const silent = pino({ level: "silent" });
const day = 24 * 60 * 60 * 1000;
/** The time the passes run at; rows are made "days ago" from it. */
const now = new Date("2031-03-15T12:00:00.000Z");
const daysAgo = (days: number) => new Date(now.getTime() - days * day);
const idAt = (at: Date) => uuidv7({ msecs: at.getTime() });

describe("idFloor", () => {
  it("is below every id made at that time and above every id made before", () => {
    const at = new Date("2026-11-21T10:00:00.000Z");
    const floor = idFloor(at);
    for (let i = 0; i < 50; i++) {
      assert.ok(idAt(at) > floor);
      assert.ok(idAt(new Date(at.getTime() - 1)) < floor);
    }
  });
});

for (const kind of storeKinds) {
  describe(`retention on ${kind.name}`, () => {
    let store: Awaited<ReturnType<typeof kind.open>>;
    let hub: TestHub;
    let channelId: string;

    before(async () => {
      store = await kind.open();
      hub = await createTestHub(store);
      channelId = (await vkTestChannel(hub, 100_000 + Math.floor(Math.random() * 900_000), "s")).id;
    });
    after(() => store.drop());

    const worker = (options: Partial<ConstructorParameters<typeof RetentionWorker>[2]> = {}) =>
      new RetentionWorker(store, silent, { inboundEventDays: 14, webhookEventDays: 30, ...options });

    async function storeInbound(at: Date, processed: boolean) {
      const id = idAt(at);
      await store.db.insert(inboundEvent).values({
        id,
        channelAccountId: channelId,
        externalEventId: randomBytes(8).toString("hex"),
        eventType: "message_new",
        payload: { type: "message_new" },
        receivedAt: at,
        ...(processed ? { processedAt: at, outcome: "applied" as const } : {}),
      });
      return id;
    }

    const remaining = async (table: typeof inboundEvent | typeof webhookEvent, ids: string[]) =>
      (await store.db.select({ id: table.id }).from(table).where(inArray(table.id, ids)))
        .map((row) => row.id)
        .sort();

    describe("platform events", () => {
      it("deletes processed events older than the retention, batch after batch, and keeps the rest", async () => {
        const old = [];
        for (let i = 0; i < 7; i++) old.push(await storeInbound(daysAgo(20 + i / 100), true));
        const pending = await storeInbound(daysAgo(20.5), false);
        const recent = await storeInbound(daysAgo(13), true);

        const report = await worker({ batchSize: 3 }).runOnce(now);

        assert.equal(report?.inboundEvents, 7);
        assert.deepEqual(await remaining(inboundEvent, [...old, pending, recent]), [pending, recent].sort());
      });

      it("keeps what was made from an event: its contact event only loses the link", async () => {
        const eventId = await storeInbound(daysAgo(30), true);
        const contact = await createContact(store.db, hub.admin.workspaceId, { name: "Joined" });
        await store.db.insert(contactEvent).values({
          workspaceId: hub.admin.workspaceId,
          channelAccountId: channelId,
          contactId: contact.id,
          kind: "joined_community",
          inboundEventId: eventId,
        });

        await worker().runOnce(now);

        const [kept] = await store.db
          .select()
          .from(contactEvent)
          .where(eq(contactEvent.contactId, contact.id));
        assert.equal(kept?.kind, "joined_community");
        assert.equal(kept?.inboundEventId, null);
      });

      it("keeps every event when the retention is 0", async () => {
        const id = await storeInbound(daysAgo(3000), true);
        const report = await worker({ inboundEventDays: 0 }).runOnce(now);
        assert.equal(report?.inboundEvents, 0);
        assert.deepEqual(await remaining(inboundEvent, [id]), [id]);
      });
    });

    describe("webhook events", () => {
      let endpointId: string;

      before(async () => {
        const [endpoint] = await store.db
          .insert(webhookEndpoint)
          .values({
            workspaceId: hub.admin.workspaceId,
            url: "https://crm.example.com/hook",
            secret: "sealed-secret",
          })
          .returning();
        endpointId = endpoint?.id as string;
      });

      /** An event with a delivery in `state` and, when it was tried, one attempt. */
      async function storeWebhookEvent(at: Date, state: (typeof deliveryStates)[number] | null) {
        const id = idAt(at);
        const workspaceId = hub.admin.workspaceId;
        await store.db
          .insert(webhookEvent)
          .values({ id, workspaceId, type: "message.received", payload: {} });
        if (state === null) return id;
        const [delivery] = await store.db
          .insert(webhookDelivery)
          .values({ workspaceId, eventId: id, endpointId, target: endpointId, state })
          .returning();
        await store.db.insert(webhookAttempt).values({
          workspaceId,
          deliveryId: delivery?.id as string,
          eventId: id,
          eventType: "message.received",
          endpointId,
          url: "https://crm.example.com/hook",
          attempt: 1,
          trigger: "scheduled",
          outcome: state === "succeeded" ? "succeeded" : "failed",
          durationMs: 5,
          attemptedAt: at,
        });
        return id;
      }

      it("deletes delivered and failed events with their deliveries and attempts; due ones stay", async () => {
        const gone = [
          await storeWebhookEvent(daysAgo(40), "succeeded"),
          await storeWebhookEvent(daysAgo(40), "failed"),
          await storeWebhookEvent(daysAgo(40), null),
        ];
        // Among the old ones, in id order, so that batches have to step over them.
        const due = [
          await storeWebhookEvent(daysAgo(39), "pending"),
          await storeWebhookEvent(daysAgo(39), "sending"),
        ];
        gone.push(await storeWebhookEvent(daysAgo(38), "succeeded"));
        const recent = await storeWebhookEvent(daysAgo(29), "succeeded");

        const report = await worker({ batchSize: 2 }).runOnce(now);

        assert.equal(report?.webhookEvents, 4);
        assert.deepEqual(await remaining(webhookEvent, [...gone, ...due, recent]), [...due, recent].sort());
        const attempts = await store.db
          .select({ eventId: webhookAttempt.eventId })
          .from(webhookAttempt)
          .where(inArray(webhookAttempt.eventId, gone));
        assert.deepEqual(attempts, []);
        const deliveries = await store.db
          .select({ eventId: webhookDelivery.eventId })
          .from(webhookDelivery)
          .where(inArray(webhookDelivery.eventId, [...gone, ...due]));
        assert.deepEqual(deliveries.map((d) => d.eventId).sort(), [...due].sort());
      });

      it("answers 404 for a deleted event", async () => {
        const id = await storeWebhookEvent(daysAgo(31), "succeeded");
        assertStatus(await hub.request("GET", `/v1/events/${id}`), 200);
        await worker().runOnce(now);
        assertError(await hub.request("GET", `/v1/events/${id}`), 404, "webhook_event_not_found");
      });
    });

    describe("idempotency keys", () => {
      it("forgets a key's answer after its day, so the key may be used for another request", async () => {
        const key = `retention-${randomBytes(6).toString("hex")}`;
        const headers = { "idempotency-key": key };
        assertStatus(await hub.request("POST", "/v1/contacts", { body: { name: "First" }, headers }), 201);
        const other = { body: { name: "Second" }, headers };
        assertError(await hub.request("POST", "/v1/contacts", other), 409, "idempotency_key_reused");

        const withinTheDay = await worker().runOnce(new Date(Date.now() + day - 60_000));
        assert.equal(withinTheDay?.idempotencyKeys, 0);
        assertError(await hub.request("POST", "/v1/contacts", other), 409, "idempotency_key_reused");

        const report = await worker().runOnce(new Date(Date.now() + day + 60_000));
        assert.ok((report?.idempotencyKeys ?? 0) >= 1);
        const again = await hub.request("POST", "/v1/contacts", other);
        assertStatus(again, 201);
        assert.equal(again.body.name, "Second");
      });
    });

    describe("passes", () => {
      it("makes none while another process holds the pass", async () => {
        const id = await storeInbound(daysAgo(60), true);
        const held = await store.tryLock("retention");
        try {
          assert.equal(await worker().runOnce(now), undefined);
          assert.deepEqual(await remaining(inboundEvent, [id]), [id]);
        } finally {
          await held?.release();
        }
        assert.equal((await worker().runOnce(now))?.inboundEvents, 1);
      });

      it("runs by itself once started, and stops at once while it waits", async () => {
        const id = await storeInbound(new Date(Date.now() - 15 * day), true);
        const running = worker({ firstPassMs: 10, intervalMs: 60 * 60 * 1000 });
        running.start();
        try {
          for (let i = 0; i < 200 && (await remaining(inboundEvent, [id])).length > 0; i++)
            await new Promise((done) => setTimeout(done, 10));
          assert.deepEqual(await remaining(inboundEvent, [id]), []);
        } finally {
          const stopping = performance.now();
          await running.stop();
          assert.ok(performance.now() - stopping < 1_000, "stop waited for the next pass");
        }
      });
    });
  });
}
