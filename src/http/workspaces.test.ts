// Workspaces, API keys and channels through the HTTP API.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createApiKey, findActiveKey, listApiKeys, revokeApiKey } from "../store/repositories/api-keys.ts";
import { createChannelAccount, transitionChannelState } from "../store/repositories/channel-accounts.ts";
import { connectionStates } from "../store/schema.ts";
import { assertError, assertStatus, unique } from "../testing/http.ts";
import { createTestHub, type TestHub } from "../testing/hub.ts";
import { storeKinds } from "../testing/stores.ts";

const ids = (res: { body: { items: { id: string }[] } }) => res.body.items.map((item) => item.id);
const newestFirst = (list: string[]) => [...list].sort().reverse();

for (const kind of storeKinds) {
  describe(`HTTP workspaces, API keys and channels on ${kind.name}`, () => {
    let store: Awaited<ReturnType<typeof kind.open>>;
    let hub: TestHub;

    before(async () => {
      store = await kind.open();
      hub = await createTestHub(store);
    });
    after(() => store.drop());

    describe("workspaces", () => {
      it("lists every workspace to an admin key, newest first, page by page", async () => {
        const all = await hub.request("GET", "/v1/workspaces?limit=200");
        assertStatus(all, 200);
        assert.ok(ids(all).includes(hub.admin.workspaceId) && ids(all).includes(hub.stranger.workspaceId));
        assert.deepEqual(ids(all), newestFirst(ids(all)));
        assert.equal(all.body.next_cursor, null);

        const first = await hub.request("GET", "/v1/workspaces?limit=1");
        assert.deepEqual(ids(first), ids(all).slice(0, 1));
        const second = await hub.request("GET", `/v1/workspaces?limit=1&cursor=${first.body.next_cursor}`);
        assert.deepEqual(ids(second), ids(all).slice(1, 2));
      });

      it("creates a workspace with a working first key that sees only its own workspace", async () => {
        const res = await hub.request("POST", "/v1/workspaces", { body: { name: "  Acme  " } });
        assertStatus(res, 201);
        const { workspace, api_key: key } = res.body;
        assert.equal(workspace.name, "Acme", "the name is trimmed");
        assert.deepEqual(Object.keys(workspace).sort(), [
          "created_at",
          "id",
          "name",
          "route_order",
          "updated_at",
        ]);
        assert.deepEqual(workspace.route_order, [
          "whatsapp_cloud",
          "whatsapp_web",
          "telegram",
          "vk",
          "ok",
          "email",
        ]);
        assert.equal(key.workspace_id, workspace.id);
        assert.equal(key.admin, false);
        assert.ok(key.key.startsWith(key.prefix));

        const own = await hub.request("GET", `/v1/workspaces/${workspace.id}`, { key: key.key });
        assertStatus(own, 200);
        assert.deepEqual(own.body, workspace);
        assertError(
          await hub.request("GET", `/v1/workspaces/${hub.admin.workspaceId}`, { key: key.key }),
          404,
          "workspace_not_found",
        );
        assertError(await hub.request("GET", "/v1/workspaces", { key: key.key }), 403, "admin_required");
        const keys = await hub.request("GET", "/v1/api-keys", { key: key.key });
        assert.deepEqual(ids(keys), [key.id]);
      });

      it("lets a plain key read its own workspace, and an admin key any workspace", async () => {
        const own = await hub.request("GET", `/v1/workspaces/${hub.stranger.workspaceId}`, {
          key: hub.stranger.key,
        });
        assertStatus(own, 200);
        assert.equal(own.body.name, "Second");
        const byAdmin = await hub.request("GET", `/v1/workspaces/${hub.stranger.workspaceId}`);
        assert.deepEqual(byAdmin.body, own.body);
        const other = await hub.request("GET", `/v1/workspaces/${hub.admin.workspaceId}`, {
          key: hub.stranger.key,
        });
        assertError(other, 404, "workspace_not_found");
        assert.match(other.body.error.message, new RegExp(hub.admin.workspaceId));
        // A workspace is not looked for "in this workspace".
        assert.doesNotMatch(other.body.error.message, /in this workspace/);
        const russian = await hub.request("GET", `/v1/workspaces/${hub.admin.workspaceId}`, {
          key: hub.stranger.key,
          headers: { "accept-language": "ru" },
        });
        assert.doesNotMatch(russian.body.error.message, /в этом рабочем пространстве/i);
      });

      it("renames a workspace", async () => {
        const created = (await hub.request("POST", "/v1/workspaces", { body: { name: "Old name" } })).body
          .workspace;
        const res = await hub.request("PATCH", `/v1/workspaces/${created.id}`, {
          body: { name: "New name" },
        });
        assertStatus(res, 200);
        assert.equal(res.body.name, "New name");
        assert.equal(res.body.created_at, created.created_at);
        assert.ok(res.body.updated_at >= created.updated_at);
        assert.equal((await hub.request("GET", `/v1/workspaces/${created.id}`)).body.name, "New name");
      });

      it("refuses plain keys on the admin routes, changing nothing", async () => {
        const key = { key: hub.stranger.key };
        assertError(await hub.request("GET", "/v1/workspaces", key), 403, "admin_required");
        const before = await hub.request("GET", "/v1/workspaces?limit=200");
        assertError(
          await hub.request("POST", "/v1/workspaces", { ...key, body: { name: "Nope" } }),
          403,
          "admin_required",
        );
        const rename = { ...key, body: { name: "Hijacked" } };
        assertError(
          await hub.request("PATCH", `/v1/workspaces/${hub.stranger.workspaceId}`, rename),
          403,
          "admin_required",
        );
        assert.deepEqual((await hub.request("GET", "/v1/workspaces?limit=200")).body, before.body);
      });
    });

    describe("API keys", () => {
      it("lists the workspace's keys newest first, without secrets", async () => {
        const created = await hub.request("POST", "/v1/api-keys", { body: { name: "listing" } });
        assertStatus(created, 201);
        const res = await hub.request("GET", "/v1/api-keys");
        assertStatus(res, 200);
        assert.equal(ids(res)[0], created.body.id);
        assert.deepEqual(ids(res), newestFirst(ids(res)));
        for (const item of res.body.items) {
          assert.equal(item.workspace_id, hub.admin.workspaceId);
          assert.deepEqual(Object.keys(item).sort(), [
            "admin",
            "created_at",
            "id",
            "last_used_at",
            "name",
            "prefix",
            "revoked_at",
            "workspace_id",
          ]);
        }
        assert.ok(!JSON.stringify(res.body).includes(created.body.key));
        const theirs = await hub.request("GET", "/v1/api-keys", { key: hub.stranger.key });
        assert.ok(
          theirs.body.items.every(
            (k: { workspace_id: string }) => k.workspace_id === hub.stranger.workspaceId,
          ),
        );
        assert.ok(!ids(theirs).includes(created.body.id));
      });

      it("creates a key that works at once and stops working when revoked", async () => {
        const created = await hub.request("POST", "/v1/api-keys", {
          key: hub.stranger.key,
          body: { name: "worker" },
        });
        assertStatus(created, 201);
        assert.deepEqual(
          [created.body.name, created.body.admin, created.body.revoked_at],
          ["worker", false, null],
        );
        const key = created.body.key;
        assert.match(key, /^sbk_[\w-]{43}$/);

        const used = await hub.request("GET", "/v1/contacts", { key });
        assertStatus(used, 200);
        const listed = await hub.request("GET", "/v1/api-keys", { key });
        const self = listed.body.items.find((k: { id: string }) => k.id === created.body.id);
        assert.ok(self.last_used_at, "last_used_at is set once the key is used");

        const revoked = await hub.request("DELETE", `/v1/api-keys/${created.body.id}`, {
          key: hub.stranger.key,
        });
        assertStatus(revoked, 200);
        assert.ok(revoked.body.revoked_at);
        const refused = await hub.request("GET", "/v1/contacts", { key });
        assertError(refused, 401, "auth_invalid");
        // Right for any hub: how to get a key, and no one hub's data directory.
        assert.match(refused.body.error.remedy, /`switchboard keys create`/);
        assert.doesNotMatch(refused.body.error.remedy, /data-sandbox/);
        const again = await hub.request("DELETE", `/v1/api-keys/${created.body.id}`, {
          key: hub.stranger.key,
        });
        assertStatus(again, 200);
        assert.equal(again.body.revoked_at, revoked.body.revoked_at, "revoking twice keeps the first time");
      });

      it("lets only an admin key revoke an admin key", async () => {
        const plain = await hub.request("POST", "/v1/api-keys", { body: { name: "plain" } });
        assertStatus(plain, 201);
        const admin = await hub.request("POST", "/v1/api-keys", {
          body: { name: "second admin", admin: true },
        });
        assertStatus(admin, 201);
        const refused = await hub.request("DELETE", `/v1/api-keys/${admin.body.id}`, { key: plain.body.key });
        assertError(refused, 403, "admin_required");
        assertStatus(await hub.request("GET", "/v1/contacts", { key: admin.body.key }), 200);
        assertStatus(await hub.request("DELETE", `/v1/api-keys/${admin.body.id}`), 200);
      });

      it("lets only an admin key create an admin key", async () => {
        const plain = await hub.request("POST", "/v1/api-keys", {
          key: hub.stranger.key,
          body: { name: "boss", admin: true },
        });
        assertError(plain, 403, "admin_required");
        const before = await listApiKeys(store.db, hub.stranger.workspaceId, { limit: 1000 });
        assert.ok(before.items.every((k) => !k.admin));

        const res = await hub.request("POST", "/v1/api-keys", {
          body: { name: "second admin", admin: true },
        });
        assertStatus(res, 201);
        assert.equal(res.body.admin, true);
        assertStatus(await hub.request("GET", "/v1/workspaces", { key: res.body.key }), 200);
      });

      it("keeps a workspace's last active key, then revokes it once another exists", async () => {
        const { body } = await hub.request("POST", "/v1/workspaces", { body: { name: "Careful" } });
        const first = body.api_key;
        const refused = await hub.request("DELETE", `/v1/api-keys/${first.id}`, { key: first.key });
        assertError(refused, 409, "last_workspace_key");
        assert.match(refused.body.error.remedy, /POST \/v1\/workspaces\/\{id\}\/api-keys/);
        assertStatus(await hub.request("GET", "/v1/api-keys", { key: first.key }), 200);

        const second = await hub.request("POST", "/v1/api-keys", {
          key: first.key,
          body: { name: "second" },
        });
        assertStatus(second, 201);
        assertStatus(await hub.request("DELETE", `/v1/api-keys/${first.id}`, { key: second.body.key }), 200);
        assertError(
          await hub.request("DELETE", `/v1/api-keys/${second.body.id}`, { key: second.body.key }),
          409,
          "last_workspace_key",
        );
        assertError(
          await hub.request("DELETE", `/v1/workspaces/${body.workspace.id}/api-keys/${second.body.id}`),
          409,
          "last_workspace_key",
        );
      });

      it("lets an admin key list, create and revoke the keys of another workspace", async () => {
        const { body } = await hub.request("POST", "/v1/workspaces", { body: { name: "Lost keys" } });
        const path = `/v1/workspaces/${body.workspace.id}/api-keys`;
        const listed = await hub.request("GET", path);
        assertStatus(listed, 200);
        assert.deepEqual(ids(listed), [body.api_key.id]);

        const created = await hub.request("POST", path, { body: { name: "recovered" } });
        assertStatus(created, 201);
        assert.deepEqual([created.body.workspace_id, created.body.admin], [body.workspace.id, false]);
        const own = await hub.request("GET", "/v1/api-keys", { key: created.body.key });
        assert.deepEqual(ids(own), [created.body.id, body.api_key.id], "the key works in its workspace");

        assertStatus(await hub.request("GET", "/v1/contacts", { key: body.api_key.key }), 200);
        const revoked = await hub.request("DELETE", `${path}/${body.api_key.id}`);
        assertStatus(revoked, 200);
        assert.ok(revoked.body.revoked_at);
        assertError(await hub.request("GET", "/v1/contacts", { key: body.api_key.key }), 401, "auth_invalid");

        const plain = { key: created.body.key };
        assertError(await hub.request("GET", path, plain), 403, "admin_required");
        assertError(
          await hub.request("POST", path, { ...plain, body: { name: "x" } }),
          403,
          "admin_required",
        );
        assertError(await hub.request("DELETE", `${path}/${created.body.id}`, plain), 403, "admin_required");

        const nowhere = "/v1/workspaces/0193a5b0-7c1e-7d2a-9f00-1b2c3d4e5f60/api-keys";
        assertError(await hub.request("GET", nowhere), 404, "workspace_not_found");
        assertError(await hub.request("POST", nowhere, { body: { name: "x" } }), 404, "workspace_not_found");
        const strangers = await hub.request("GET", "/v1/api-keys", { key: hub.stranger.key });
        assertError(
          await hub.request("DELETE", `${path}/${strangers.body.items[0].id}`),
          404,
          "api_key_not_found",
        );
        assertError(await hub.request("POST", path, { body: { name: "" } }), 400, "validation_failed");
      });

      it("keeps the last active admin key, then revokes it once another exists", async () => {
        const local = await createTestHub(store);
        const self = await findActiveKey(store.db, local.admin.key);
        assert.ok(self);
        // Every other admin key of the store goes, so that this hub's admin is the last one; a
        // plain key takes its place, since a workspace keeps its last key.
        const all = await listApiKeys(store.db, undefined, { limit: 10_000 });
        for (const key of all.items)
          if (key.admin && !key.revokedAt && key.id !== self.id) {
            await createApiKey(store.db, { workspaceId: key.workspaceId, name: "stand-in" });
            await revokeApiKey(store.db, key.id, { admin: true });
          }

        const refused = await local.request("DELETE", `/v1/api-keys/${self.id}`);
        assertError(refused, 409, "last_admin_key");
        assertStatus(await local.request("GET", "/v1/workspaces"), 200);

        const next = await local.request("POST", "/v1/api-keys", {
          body: { name: "successor", admin: true },
        });
        assertStatus(next, 201);
        assertStatus(await local.request("DELETE", `/v1/api-keys/${self.id}`, { key: next.body.key }), 200);
        assertError(await local.request("GET", "/v1/workspaces"), 401, "auth_invalid");
        assertError(
          await local.request("DELETE", `/v1/api-keys/${next.body.id}`, { key: next.body.key }),
          409,
          "last_admin_key",
        );
        // Later suites of this store need admin keys again.
        hub = await createTestHub(store);
      });
    });

    describe("channels", () => {
      it("lets only an admin key point a channel's API address away from VK", async () => {
        const body = {
          kind: "vk",
          group_id: 1,
          tokens: ["vk1.a.token"],
          api_base_url: "http://127.0.0.1:1/method",
        };
        assertError(
          await hub.request("POST", "/v1/channels", { key: hub.stranger.key, body }),
          403,
          "admin_required",
          ["api_base_url"],
        );
      });

      let workspaceId: string;
      let key: string;
      const channels: Record<string, string> = {};
      const secrets: string[] = [];

      before(async () => {
        const created = (await hub.request("POST", "/v1/workspaces", { body: { name: "Channels" } })).body;
        workspaceId = created.workspace.id;
        key = created.api_key.key;
        for (const [kind, state] of [
          ["vk", "online"],
          ["telegram", "connecting"],
          ["email", "disabled"],
          ["vk", "failing"],
        ] as const) {
          const secret = unique("secret-token-");
          secrets.push(secret);
          const account = await createChannelAccount(store.db, hub.box, {
            workspaceId,
            kind,
            externalId: unique(),
            name: `${kind} ${state}`,
            credentials: kind === "email" ? undefined : { token: secret, password: secret },
            settings: { greeting: "hi" },
          });
          if (state !== "connecting")
            await transitionChannelState(store.db, account.id, {
              state,
              reason: `${state} for the test`,
              problem: null,
              from: connectionStates,
            });
          channels[`${kind}:${state}`] = account.id;
        }
      });

      it("lists the workspace's channels newest first, filtered by kind and state", async () => {
        const all = await hub.request("GET", "/v1/channels", { key });
        assertStatus(all, 200);
        assert.deepEqual(ids(all), newestFirst(Object.values(channels)));
        const vk = await hub.request("GET", "/v1/channels?kind=vk", { key });
        assert.deepEqual(ids(vk).sort(), [channels["vk:online"], channels["vk:failing"]].sort());
        const disabled = await hub.request("GET", "/v1/channels?state=disabled", { key });
        assert.deepEqual(ids(disabled), [channels["email:disabled"]]);
        const both = await hub.request("GET", "/v1/channels?kind=vk&state=failing", { key });
        assert.deepEqual(ids(both), [channels["vk:failing"]]);
        const none = await hub.request("GET", "/v1/channels?kind=ok", { key });
        assert.deepEqual(none.body, { items: [], next_cursor: null });
        const theirs = await hub.request("GET", "/v1/channels", { key: hub.stranger.key });
        assert.ok(ids(theirs).every((id) => !Object.values(channels).includes(id)));
      });

      it("pages through channels with a cursor", async () => {
        const first = await hub.request("GET", "/v1/channels?limit=3", { key });
        assert.equal(first.body.items.length, 3);
        assert.ok(first.body.next_cursor);
        const second = await hub.request("GET", `/v1/channels?limit=3&cursor=${first.body.next_cursor}`, {
          key,
        });
        assert.equal(second.body.next_cursor, null);
        assert.deepEqual([...ids(first), ...ids(second)], newestFirst(Object.values(channels)));
      });

      it("gets a channel without its credentials", async () => {
        const res = await hub.request("GET", `/v1/channels/${channels["vk:online"]}`, { key });
        assertStatus(res, 200);
        assert.equal(res.body.kind, "vk");
        assert.equal(res.body.state, "online");
        assert.equal(res.body.state_reason, "online for the test");
        assert.equal(res.body.has_credentials, true);
        assert.deepEqual(res.body.settings, { greeting: "hi" });
        assert.equal("credentials" in res.body, false);
        const email = await hub.request("GET", `/v1/channels/${channels["email:disabled"]}`, { key });
        assert.equal(email.body.has_credentials, false);
      });

      it("disables and enables a channel", async () => {
        const id = channels["vk:online"];
        const disabled = await hub.request("POST", `/v1/channels/${id}/disable`, { key });
        assertStatus(disabled, 200);
        assert.equal(disabled.body.state, "disabled");
        assert.match(disabled.body.state_reason, /disabled through the API by key sbk_/);
        assert.deepEqual(
          ids(await hub.request("GET", "/v1/channels?state=disabled", { key })).sort(),
          [id, channels["email:disabled"]].sort(),
        );

        const enabled = await hub.request("POST", `/v1/channels/${id}/enable`, { key });
        assertStatus(enabled, 200);
        assert.equal(enabled.body.state, "connecting");
        assert.equal(enabled.body.state_reason, null);
        assert.ok(enabled.body.state_changed_at >= disabled.body.state_changed_at);
        assert.equal((await hub.request("GET", `/v1/channels/${id}`, { key })).body.state, "connecting");
      });

      it("never shows a credential in any channel answer", async () => {
        const answers = [
          await hub.request("GET", "/v1/channels?limit=200", { key }),
          ...(await Promise.all(
            Object.values(channels).map((id) => hub.request("GET", `/v1/channels/${id}`, { key })),
          )),
          await hub.request("POST", `/v1/channels/${channels["vk:failing"]}/disable`, { key }),
          await hub.request("POST", `/v1/channels/${channels["vk:failing"]}/enable`, { key }),
        ];
        for (const res of answers) {
          assertStatus(res, 200);
          const text = JSON.stringify(res.body);
          for (const secret of secrets) assert.ok(!text.includes(secret), `a credential leaked in ${text}`);
          assert.ok(!text.includes('"credentials"'), "no credentials field");
        }
      });

      it("keeps another workspace's key away from the channels", async () => {
        const id = channels["telegram:connecting"];
        const stranger = { key: hub.stranger.key };
        assertError(await hub.request("GET", `/v1/channels/${id}`, stranger), 404, "channel_not_found");
        assertError(
          await hub.request("POST", `/v1/channels/${id}/disable`, stranger),
          404,
          "channel_not_found",
        );
        assert.equal((await hub.request("GET", `/v1/channels/${id}`, { key })).body.state, "connecting");
      });
    });
  });
}
