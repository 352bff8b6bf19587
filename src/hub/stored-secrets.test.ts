import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { and, eq } from "drizzle-orm";
import { startVkEmulator, type VkEmulator } from "../../emulators/vk/server.ts";
import { AppError } from "../errors/app-error.ts";
import { getChannelAccount } from "../store/repositories/channel-accounts.ts";
import { webhookEndpoint, webhookEvent } from "../store/schema.ts";
import { SecretBox } from "../store/secret-box.ts";
import { assertStatus } from "../testing/http.ts";
import { createTestHub } from "../testing/hub.ts";
import { storeKinds } from "../testing/stores.ts";
import {
  describeUnreadable,
  forgetUnreadableSecrets,
  rekeySecrets,
  surveySecrets,
} from "./stored-secrets.ts";

for (const kind of storeKinds) {
  describe(`stored secrets on ${kind.name}`, () => {
    let store: Awaited<ReturnType<typeof kind.open>>;
    let vk: VkEmulator;
    before(async () => {
      store = await kind.open();
      vk = await startVkEmulator();
    });
    after(async () => {
      await vk.close();
      await store.drop();
    });

    it("forgets what a lost key sealed, leaves the rest, and the channels and endpoints come back", async () => {
      // The hub that stored everything, with a key that is then lost.
      const before = await createTestHub(store);
      const community = vk.control.createCommunity({ name: "Shop", tokens: [{}, {}] });
      const tokens = community.tokens.map((t) => t.value);
      const connectBody = { kind: "vk", group_id: community.id, tokens, api_base_url: vk.apiBaseUrl };
      const connected = await before.request("POST", "/v1/channels", { body: connectBody });
      assertStatus(connected, 201);
      const channelId = connected.body.id as string;
      const endpoint = async () => {
        const res = await before.request("POST", "/v1/webhooks", {
          body: { url: "http://127.0.0.1:9/hook" },
        });
        assertStatus(res, 201);
        return res.body.id as string;
      };
      const [rotated, disabled, watcher] = [await endpoint(), await endpoint(), await endpoint()];
      assertStatus(await before.request("POST", `/v1/webhooks/${rotated}/rotate-secret`), 200);
      assertStatus(
        await before.request("PATCH", `/v1/webhooks/${disabled}`, { body: { enabled: false } }),
        200,
      );
      assertStatus(await before.request("GET", "/v1/webhook-settings"), 200);
      await store.db
        .update(webhookEndpoint)
        .set({ url: "http://user:pw@127.0.0.1:9/hook" })
        .where(eq(webhookEndpoint.id, disabled));

      // The hub started again with a new key, which sealed what came after: the stranger's endpoint.
      const box = new SecretBox(randomBytes(32));
      const after = await createTestHub(store, {}, { box });
      const as = { key: before.admin.key };
      const kept = await after.request("POST", "/v1/webhooks", {
        key: before.stranger.key,
        body: { url: "http://127.0.0.1:9/kept" },
      });
      assertStatus(kept, 201);
      const mine = (secrets: Awaited<ReturnType<typeof surveySecrets>>) =>
        secrets.filter((s) =>
          [before.admin.workspaceId, before.stranger.workspaceId].includes(s.workspaceId),
        );

      const lost = mine(await surveySecrets(store.db, box));
      assert.equal(lost.filter((s) => s.readable).length, 1, "the stranger's new endpoint opens");
      assert.deepEqual(describeUnreadable(lost), {
        en: "channel tokens: 1 of 1; webhook signing secrets: 3 of 4; webhook signing secrets before a rotation: 1 of 1; status callback secrets: 1 of 1",
        ru: "токены каналов: 1 из 1; секреты подписи вебхуков: 3 из 4; секреты подписи вебхуков до смены: 1 из 1; секреты подписи обратных вызовов статуса: 1 из 1",
      });
      assert.ok(lost.some((s) => s.label === 'vk channel "Shop"' && s.id === channelId));
      assert.ok(lost.some((s) => s.label === "webhook endpoint http://127.0.0.1:9/hook" && s.id === rotated));
      assert.ok(
        lost.some((s) => s.label === "webhook endpoint http://127.0.0.1:9/hook" && s.id === disabled),
        "a URL with a password (an older hub's) is shown without it",
      );
      assert.ok(!JSON.stringify(lost.map((s) => s.label)).includes("pw"));

      const surveyed = await forgetUnreadableSecrets(store.db, box);
      assert.deepEqual(
        mine(surveyed).map((s) => [s.kind, s.id, s.readable]),
        lost.map((s) => [s.kind, s.id, s.readable]),
        "it forgot what the survey found",
      );
      assert.ok(
        mine(await surveySecrets(store.db, box)).every((s) => s.readable),
        "everything left opens with the key in use",
      );
      const again = mine(await forgetUnreadableSecrets(store.db, box));
      assert.ok(
        again.every((s) => s.readable),
        "a second run finds nothing to forget",
      );

      // The channel: no tokens, failing with the remedy, told to webhooks; then connected again.
      const failing = await after.request("GET", `/v1/channels/${channelId}`, as);
      assertStatus(failing, 200);
      assert.equal(failing.body.state, "failing");
      assert.equal(failing.body.has_credentials, false);
      assert.equal(failing.body.state_code, "channel_credentials_lost");
      assert.match(failing.body.state_remedy, /POST \/v1\/channels/);
      /** The data of the events of `type` recorded in the first workspace. */
      const recorded = async <T>(type: string) =>
        (
          await store.db
            .select()
            .from(webhookEvent)
            .where(and(eq(webhookEvent.type, type), eq(webhookEvent.workspaceId, before.admin.workspaceId)))
        ).map((e) => (e.payload as { data: T }).data);
      assert.ok(
        (await recorded<{ channel: { state: string } }>("channel.status_changed")).some(
          (data) => data.channel.state === "failing",
        ),
        "channel.status_changed to failing is recorded",
      );
      const reconnected = await after.request("POST", "/v1/channels", { ...as, body: connectBody });
      assertStatus(reconnected, 200);
      assert.equal(reconnected.body.id, channelId, "the same channel, with its conversations");
      assert.equal(reconnected.body.state, "online");
      const row = await getChannelAccount(store.db, before.admin.workspaceId, channelId);
      assert.ok(row?.credentials && box.open(row.credentials).includes(tokens[0] as string));

      // Endpoints: a new secret nobody knows, disabled until rotated; the disabled one says why now.
      for (const id of [rotated, disabled]) {
        const res = await after.request("GET", `/v1/webhooks/${id}`, as);
        assert.equal(res.body.enabled, false);
        assert.match(res.body.disabled_reason, /`switchboard secrets forget` replaced it: rotate it/);
        assert.ok(res.body.disabled_reason.includes(`/v1/webhooks/${id}/rotate-secret`));
        assert.equal(res.body.previous_secret_expires_at, null);
      }
      const told = await recorded<{ endpoint: { id: string } }>("webhook.endpoint_disabled");
      assert.deepEqual(
        told.map((data) => data.endpoint.id).sort(),
        [rotated, watcher].sort(),
        "each endpoint that was enabled is disabled once, told to the others",
      );
      const fresh = await after.request("POST", `/v1/webhooks/${rotated}/rotate-secret`, as);
      assertStatus(fresh, 200);
      assert.match(fresh.body.secret, /^whsec_/);
      assertStatus(
        await after.request("PATCH", `/v1/webhooks/${rotated}`, { ...as, body: { enabled: true } }),
        200,
      );

      const keptNow = await after.request("GET", `/v1/webhooks/${kept.body.id}`, {
        key: before.stranger.key,
      });
      assert.equal(keptNow.body.enabled, true, "an endpoint the key opens is left alone");
    });

    it("reseals every secret with a new key, runs again harmlessly, and changes nothing when one opens with neither", async (t) => {
      // A store of its own: every secret in it is this test's.
      const store = await kind.open();
      t.after(() => store.drop());
      const old = new SecretBox(randomBytes(32));
      const hub = await createTestHub(store, {}, { box: old });
      const community = vk.control.createCommunity({ name: "Bakery", tokens: [{}] });
      const token = community.tokens[0]?.value as string;
      const connected = await hub.request("POST", "/v1/channels", {
        body: { kind: "vk", group_id: community.id, tokens: [token], api_base_url: vk.apiBaseUrl },
      });
      assertStatus(connected, 201);
      const endpoint = await hub.request("POST", "/v1/webhooks", {
        body: { url: "http://127.0.0.1:9/rekey" },
      });
      assertStatus(endpoint, 201);
      assertStatus(await hub.request("POST", `/v1/webhooks/${endpoint.body.id}/rotate-secret`), 200);
      assertStatus(await hub.request("GET", "/v1/webhook-settings"), 200);
      const sealedWithOld = await surveySecrets(store.db, old);
      assert.deepEqual(
        sealedWithOld.map((s) => [s.kind, s.readable]),
        [
          ["channel_credentials", true],
          ["endpoint_secret", true],
          ["endpoint_previous_secret", true],
          ["callback_secret", true],
        ],
      );

      // A secret sealed with a third key: refused, and nothing is resealed.
      const stray = await hub.request("POST", "/v1/webhooks", { body: { url: "http://127.0.0.1:9/stray" } });
      await store.db
        .update(webhookEndpoint)
        .set({ secret: new SecretBox(randomBytes(32)).seal("whsec_stray") })
        .where(eq(webhookEndpoint.id, stray.body.id));
      const fresh = new SecretBox(randomBytes(32));
      await assert.rejects(rekeySecrets(store.db, old, fresh), (error: unknown) => {
        assert.ok(error instanceof AppError && error.code === "secrets_unopenable", String(error));
        assert.match(error.message, /\(webhook signing secrets: 1 of 2\)\. Nothing was resealed\.$/);
        return true;
      });
      const untouched = (await surveySecrets(store.db, old)).filter((s) => s.id !== stray.body.id);
      assert.ok(
        untouched.every((s) => s.readable),
        "nothing was resealed",
      );
      await store.db.delete(webhookEndpoint).where(eq(webhookEndpoint.id, stray.body.id));

      const { resealed } = await rekeySecrets(store.db, old, fresh);
      assert.deepEqual(
        resealed.map((s) => s.kind),
        sealedWithOld.map((s) => s.kind),
      );
      assert.ok(
        (await surveySecrets(store.db, fresh)).every((s) => s.readable),
        "all open with the new key",
      );
      assert.ok(
        (await surveySecrets(store.db, old)).every((s) => !s.readable),
        "none with the old one",
      );
      const again = await rekeySecrets(store.db, old, fresh);
      assert.equal(again.resealed.length, 0, "a second run has nothing to do");
      assert.equal(again.kept, sealedWithOld.length);

      // A hub with the new key reads the tokens.
      const row = await getChannelAccount(store.db, hub.admin.workspaceId, connected.body.id);
      assert.ok(row?.credentials && fresh.open(row.credentials).includes(token));
    });
  });
}
