import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import pino from "pino";
import { startVkEmulator } from "../../../emulators/vk/server.ts";
import { VkClients } from "../../channels/vk/channel.ts";
import { createChannelAccount } from "../../store/repositories/channel-accounts.ts";
import { createTestHub, type TestHub } from "../../testing/hub.ts";
import { storeKinds } from "../../testing/stores.ts";
import { profileFollowUp } from "./profiles.ts";
import { IntakeWorker } from "./worker.ts";

const silent = pino({ level: "silent" });

for (const kind of storeKinds) {
  describe(`naming new VK clients on ${kind.name}`, () => {
    let store: Awaited<ReturnType<typeof kind.open>>;
    let hub: TestHub;
    let vk: Awaited<ReturnType<typeof startVkEmulator>>;

    before(async () => {
      store = await kind.open();
      hub = await createTestHub(store);
      vk = await startVkEmulator();
    });
    after(async () => {
      await vk.close();
      await store.drop();
    });

    it("asks VK for a new client's name once and names the contact with it", async () => {
      const community = vk.control.createCommunity({ name: "Shop" });
      const user = vk.control.createUser({ firstName: "Анна", lastName: "Клиентова" });
      const channel = await createChannelAccount(store.db, hub.box, {
        workspaceId: hub.admin.workspaceId,
        kind: "vk",
        externalId: String(community.id),
        name: "Shop",
        credentials: { tokens: community.tokens.map((t) => t.value), callbackSecret: "s" },
        settings: { apiBaseUrl: vk.apiBaseUrl },
      });
      const clients = new VkClients(hub.box);
      const worker = new IntakeWorker(store, silent, { followUp: profileFollowUp(store.db, clients) });
      const deliver = async (id: number, text: string) => {
        const envelope = {
          type: "message_new",
          group_id: community.id,
          event_id: `e${id}`,
          v: "5.199",
          secret: "s",
          object: {
            message: { id, date: 1_700_000_000 + id, from_id: user.id, peer_id: user.id, out: 0, text },
          },
        };
        const res = await hub.request("POST", `/hooks/vk/${channel.id}`, { key: null, body: envelope });
        assert.equal(res.body, "ok");
        while ((await worker.runOnce()) > 0) {}
        await worker.settle();
      };
      try {
        await deliver(1, "Здравствуйте");
        await deliver(2, "Есть розы?");
        const found = await hub.request("GET", `/v1/contacts?channel_kind=vk&external_id=${user.id}`);
        assert.equal(found.body.items[0].name, "Анна Клиентова");
        assert.equal(found.body.items[0].identities[0].display_name, "Анна Клиентова");
        assert.equal(vk.control.requests({ method: "users.get" }).length, 1, "asked once");
      } finally {
        clients.close();
      }
    });

    it("names a batch's new clients with one look-up, keeping names people gave and skipping deleted users", async () => {
      const community = vk.control.createCommunity({ name: "Florist" });
      const newcomer = vk.control.createUser({ firstName: "Борис", lastName: "Новиков" });
      const regular = vk.control.createUser({ firstName: "Вера", lastName: "Постоянная" });
      const deleted = vk.control.createUser({ firstName: "Глеб", deactivated: "deleted" });
      const channel = await createChannelAccount(store.db, hub.box, {
        workspaceId: hub.admin.workspaceId,
        kind: "vk",
        externalId: String(community.id),
        name: "Florist",
        credentials: { tokens: community.tokens.map((t) => t.value), callbackSecret: "s" },
        settings: { apiBaseUrl: vk.apiBaseUrl },
      });
      // An operator already knew this client, by another name.
      const known = await hub.request("POST", "/v1/contacts", {
        body: {
          name: "Вера из салона",
          identities: [{ channel_kind: "vk", external_id: String(regular.id) }],
        },
      });
      assert.equal(known.status, 201);
      const clients = new VkClients(hub.box);
      const worker = new IntakeWorker(store, silent, { followUp: profileFollowUp(store.db, clients) });
      const asked = vk.control.requests({ method: "users.get" }).length;
      try {
        for (const [i, from] of [newcomer, regular, deleted].entries()) {
          const envelope = {
            type: "message_new",
            group_id: community.id,
            event_id: `batch${i}`,
            v: "5.199",
            secret: "s",
            object: {
              message: {
                id: 100 + i,
                date: 1_700_000_100 + i,
                from_id: from.id,
                peer_id: from.id,
                out: 0,
                text: "Добрый день",
              },
            },
          };
          const res = await hub.request("POST", `/hooks/vk/${channel.id}`, { key: null, body: envelope });
          assert.equal(res.body, "ok");
        }
        while ((await worker.runOnce()) > 0) {}
        await worker.settle();
        assert.equal(
          vk.control.requests({ method: "users.get" }).length,
          asked + 1,
          "one look-up for the batch",
        );
        const contactOf = async (id: number) =>
          (await hub.request("GET", `/v1/contacts?channel_kind=vk&external_id=${id}`)).body.items[0];
        const [a, b, c] = await Promise.all([newcomer, regular, deleted].map((u) => contactOf(u.id)));
        assert.deepEqual([a.name, a.identities[0].display_name], ["Борис Новиков", "Борис Новиков"]);
        assert.deepEqual([b.name, b.identities[0].display_name], ["Вера из салона", "Вера Постоянная"]);
        assert.deepEqual([c.name, c.identities[0].display_name], [null, null]);
      } finally {
        clients.close();
      }
    });
  });
}
