import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { and, eq, inArray } from "drizzle-orm";
import pino from "pino";
import { VkClients } from "../../channels/vk/channel.ts";
import { createChannelAccount } from "../../store/repositories/channel-accounts.ts";
import { webhookEvent } from "../../store/schema.ts";
import { storeKinds } from "../../testing/stores.ts";
import { vkEnvelope, vkMessageMaker } from "../../testing/vk-events.ts";
import { vkTestbed } from "../../testing/vk-world.ts";
import type { ContactJson } from "../objects.ts";
import { profileFollowUp } from "./profiles.ts";
import { IntakeWorker } from "./worker.ts";

const silent = pino({ level: "silent" });

for (const kind of storeKinds) {
  describe(`naming new VK clients on ${kind.name}`, () => {
    const bed = vkTestbed(kind);

    /** A community connected as a channel, and a worker that names new clients. */
    const connect = async (name: string) => {
      const community = bed.vk.control.createCommunity({ name });
      const channel = await createChannelAccount(bed.store.db, bed.hub.box, {
        workspaceId: bed.hub.admin.workspaceId,
        kind: "vk",
        externalId: String(community.id),
        name,
        credentials: { tokens: community.tokens.map((t) => t.value), callbackSecret: "s" },
        settings: { apiBaseUrl: bed.vk.apiBaseUrl },
      });
      const clients = new VkClients(bed.hub.box);
      const worker = new IntakeWorker(bed.store, silent, {
        followUp: profileFollowUp(bed.store.db, clients),
      });
      const nextMessage = vkMessageMaker(community.id * 1000);
      return {
        /** A VK user's message reaching the hub's callback. */
        async write(userId: number, text: string) {
          const message = nextMessage({ from_id: userId, peer_id: userId, text });
          const envelope = vkEnvelope(community.id, "s", "message_new", { message });
          const res = await bed.hub.request("POST", `/hooks/vk/${channel.id}`, { key: null, body: envelope });
          assert.equal(res.body, "ok");
        },
        /** Applies what was written, in one batch, and waits for the naming. */
        async process() {
          while ((await worker.runOnce()) > 0) {}
          await worker.settle();
        },
        close: () => clients.close(),
      };
    };
    const contactOf = async (userId: number) =>
      (await bed.hub.request("GET", `/v1/contacts?channel_kind=vk&external_id=${userId}`)).body.items[0];
    const lookUps = () => bed.vk.control.requests({ method: "users.get" }).length;

    it("asks VK for a new client's name once and names the contact with it", async () => {
      const shop = await connect("Shop");
      const user = bed.vk.control.createUser({ firstName: "Анна", lastName: "Клиентова" });
      const asked = lookUps();
      try {
        await shop.write(user.id, "Здравствуйте");
        await shop.process();
        await shop.write(user.id, "Есть розы?");
        await shop.process();
        const found = await contactOf(user.id);
        assert.deepEqual(
          [found.name, found.identities[0].display_name],
          ["Анна Клиентова", "Анна Клиентова"],
        );
        assert.equal(lookUps(), asked + 1, "asked once");
      } finally {
        shop.close();
      }
    });

    it("names a batch's new clients with one look-up, keeping names people gave and skipping deleted users", async () => {
      const florist = await connect("Florist");
      const newcomer = bed.vk.control.createUser({ firstName: "Борис", lastName: "Новиков" });
      const regular = bed.vk.control.createUser({ firstName: "Вера", lastName: "Постоянная" });
      const deleted = bed.vk.control.createUser({ firstName: "Глеб", deactivated: "deleted" });
      // An operator already knew this client, by another name.
      const known = await bed.hub.request("POST", "/v1/contacts", {
        body: {
          name: "Вера из салона",
          identities: [{ channel_kind: "vk", external_id: String(regular.id) }],
        },
      });
      assert.equal(known.status, 201);
      const asked = lookUps();
      try {
        for (const user of [newcomer, regular, deleted]) await florist.write(user.id, "Добрый день");
        await florist.process();
        assert.equal(lookUps(), asked + 1, "one look-up for the batch");
        const [a, b, c] = await Promise.all([newcomer, regular, deleted].map((u) => contactOf(u.id)));
        assert.deepEqual([a.name, a.identities[0].display_name], ["Борис Новиков", "Борис Новиков"]);
        assert.deepEqual([b.name, b.identities[0].display_name], ["Вера из салона", "Вера Постоянная"]);
        assert.ok(b.updated_at > known.body.updated_at, "a contact whose identity got a name has changed");
        assert.deepEqual([c.name, c.identities[0].display_name], [null, null]);
        // Their contact.created came without a name: each named contact is announced again.
        const announced = await bed.store.db
          .select({ key: webhookEvent.orderingKey, payload: webhookEvent.payload })
          .from(webhookEvent)
          .where(
            and(
              eq(webhookEvent.type, "contact.updated"),
              inArray(webhookEvent.orderingKey, [a.id, b.id, c.id]),
            ),
          );
        const names = (key: string) =>
          announced
            .filter((event) => event.key === key)
            .map(({ payload }) => {
              const { contact } = (payload as { data: { contact: ContactJson } }).data;
              return [contact.name, contact.identities[0]?.display_name];
            });
        assert.deepEqual(names(a.id), [["Борис Новиков", "Борис Новиков"]]);
        assert.deepEqual(names(b.id), [["Вера из салона", "Вера Постоянная"]]);
        assert.deepEqual(names(c.id), [], "a deleted user's contact did not change");
      } finally {
        florist.close();
      }
    });
  });
}
