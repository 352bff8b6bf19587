// How the API treats a request as such: validation paths, bodies, idempotency keys, the body and
// rate limits, and the language of error texts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { catalogue } from "../errors/catalogue.ts";
import { listContacts } from "../store/repositories/contacts.ts";
import { assertError, assertStatus, freshKey, seedFixture, unique, uniqueVkUserId } from "../testing/http.ts";
import { createTestHub, type TestHub } from "../testing/hub.ts";
import { storeKinds } from "../testing/stores.ts";

for (const kind of storeKinds) {
  describe(`HTTP requests on ${kind.name}`, () => {
    let store: Awaited<ReturnType<typeof kind.open>>;
    let hub: TestHub;
    const contacts = async (workspaceId = hub.admin.workspaceId) =>
      (await listContacts(store.db, workspaceId, {}, { limit: 10_000 })).items.length;

    before(async () => {
      store = await kind.open();
      hub = await createTestHub(store);
    });
    after(() => store.drop());

    describe("validation", () => {
      it("names every failing body field by its path", async () => {
        const res = await hub.request("POST", "/v1/contacts", {
          body: { email: "nope", identities: [{ channel_kind: "fax", external_id: "" }] },
        });
        assertError(res, 400, "validation_failed", [
          "email",
          "identities.0.channel_kind",
          "identities.0.external_id",
        ]);
        const byPath = Object.fromEntries(
          res.body.error.details.map((d: { path: string; code: string }) => [d.path, d.code]),
        );
        assert.deepEqual(byPath, {
          email: "invalid_format",
          "identities.0.channel_kind": "invalid_value",
          "identities.0.external_id": "too_small",
        });
        assert.equal(res.body.error.message, catalogue.validation_failed.en.message);
      });

      it("names nested and later list items", async () => {
        const res = await hub.request("POST", "/v1/contacts", {
          body: {
            name: "x".repeat(501),
            identities: [
              { channel_kind: "vk", external_id: "1" },
              { channel_kind: "vk", external_id: "2", display_name: 7 },
            ],
          },
        });
        assertError(res, 400, "validation_failed", ["name", "identities.1.display_name"]);
      });

      it("names the whole body when it is not an object", async () => {
        for (const rawBody of ["[]", "42", '"text"', "null"]) {
          const res = await hub.request("POST", "/v1/workspaces", {
            rawBody,
            headers: { "content-type": "application/json" },
          });
          assertError(res, 400, "validation_failed", ["body"]);
        }
      });

      it("names query fields with the query. prefix", async () => {
        assertError(await hub.request("GET", "/v1/contacts?limit=0"), 400, "validation_failed", [
          "query.limit",
        ]);
        assertError(await hub.request("GET", "/v1/contacts?limit=2.5"), 400, "validation_failed", [
          "query.limit",
        ]);
        assertError(await hub.request("GET", "/v1/contacts?channel_kind=vk"), 400, "validation_failed", [
          "query.external_id",
        ]);
        assertError(await hub.request("GET", "/v1/contacts?external_id=42"), 400, "validation_failed", [
          "query.channel_kind",
        ]);
        const both = await hub.request("GET", "/v1/contacts?channel_kind=fax&external_id=42");
        assertError(both, 400, "validation_failed", ["query.channel_kind"]);
        assertStatus(await hub.request("GET", "/v1/contacts?limit=200"), 200);
        assertStatus(await hub.request("GET", "/v1/contacts?limit=1"), 200);
      });
    });

    describe("bodies", () => {
      it("answers 400 malformed_json to broken JSON, creating nothing", async () => {
        const before = await contacts();
        for (const rawBody of ["{", '{"name": "a",}', "{name: 'a'}", "\u0000"]) {
          const res = await hub.request("POST", "/v1/contacts", {
            rawBody,
            headers: { "content-type": "application/json" },
          });
          assertError(res, 400, "malformed_json");
        }
        assert.equal(await contacts(), before);
      });

      it("refuses U+0000 in a body's strings and keys and in the query, naming where, storing nothing", async () => {
        const before = await contacts();
        const cases: [string, string, unknown, string][] = [
          ["POST", "/v1/contacts", { name: "a\u0000b" }, "name"],
          ["POST", "/v1/contacts", { custom_fields: { tier: ["gold", "x\u0000"] } }, "custom_fields.tier.1"],
          ["POST", "/v1/contacts", { custom_fields: { "ti\u0000er": 1 } }, "custom_fields.tier"],
          ["GET", "/v1/contacts?q=a%00b", undefined, "query.q"],
        ];
        for (const [method, path, body, where] of cases) {
          const res = await hub.request(method, path, body === undefined ? {} : { body });
          assertError(res, 400, "validation_failed", [where]);
          assert.equal(res.body.error.details[0].code, "nul_character");
        }
        assert.equal(await contacts(), before);
      });

      it("refuses a body nested deeper than any field needs, instead of failing with a 500", async () => {
        const before = await contacts();
        const deep = (levels: number) => `{"custom_fields":{"a":${"[".repeat(levels)}${"]".repeat(levels)}}}`;
        const json = { "content-type": "application/json" };
        const res = await hub.request("POST", "/v1/contacts", { rawBody: deep(5000), headers: json });
        assertError(res, 400, "validation_failed");
        assert.equal(res.body.error.details[0].code, "too_deep");
        assert.match(res.body.error.details[0].path, /^custom_fields\.a\.0\.0\./);
        assert.equal(await contacts(), before);
        // 64 levels pass this check.
        const fits = await hub.request("POST", "/v1/contacts", { rawBody: deep(62), headers: json });
        assert.notEqual(fits.body.error?.details?.[0]?.code, "too_deep");
      });

      it("answers 415 unsupported_media_type to a body that is not JSON", async () => {
        for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/xml"]) {
          const res = await hub.request("POST", "/v1/contacts", {
            rawBody: '{"name":"a"}',
            headers: { "content-type": type },
          });
          assertError(res, 415, "unsupported_media_type");
          assert.equal(res.body.error.message, `The request body must be JSON, got \`${type}\`.`);
        }
      });

      it("takes an action without a body, as Node's server hands such a POST over", async () => {
        // No Content-Length, and an empty body stream: what `curl -X POST` becomes on the server.
        const post = async (path: string, headers: Record<string, string> = {}) => {
          const response = await hub.fetch(
            new Request(`http://hub${path}`, {
              method: "POST",
              headers: { authorization: `Bearer ${hub.admin.key}`, ...headers },
              body: new ReadableStream({ start: (controller) => controller.close() }),
              duplex: "half",
            } as RequestInit),
          );
          return { status: response.status, headers: response.headers, body: await response.json() };
        };
        const endpoint = await hub.request("POST", "/v1/webhooks", {
          body: { url: "http://127.0.0.1:9/hook" },
        });
        assertStatus(endpoint, 201);
        const id = endpoint.body.id;
        for (const headers of [{}, { "content-type": "application/json" }] as Record<string, string>[]) {
          assertStatus(await post("/v1/webhook-settings/callback-secret", headers), 200);
          assertStatus(await post(`/v1/webhooks/${id}/rotate-secret`, headers), 200);
          assertStatus(await post(`/v1/webhooks/${id}/test`, headers), 202);
        }
        // A bare POST reads as `{}`, so a route that needs fields names them, also when the client
        // says `Content-Type: application/json` of every request, a body or not.
        assertError(await post("/v1/webhooks"), 400, "validation_failed", ["url"]);
        assertError(
          await post("/v1/webhooks", { "content-type": "application/json" }),
          400,
          "validation_failed",
          ["url"],
        );
      });

      it("accepts JSON media types with parameters and +json suffixes", async () => {
        for (const type of [
          "application/json; charset=utf-8",
          "Application/JSON",
          "application/merge-patch+json",
        ]) {
          const res = await hub.request("POST", "/v1/contacts", {
            rawBody: '{"name":"Typed"}',
            headers: { "content-type": type },
          });
          assertStatus(res, 201);
          assert.equal(res.body.name, "Typed");
        }
      });

      it("answers 413 body_too_large over the limit, creating nothing, and accepts a body just under it", async () => {
        const small = await createTestHub(store, { bodyLimit: 1024 });
        const before = await contacts(small.admin.workspaceId);
        const over = await small.request("POST", "/v1/contacts", {
          body: { name: "Big", custom_fields: { blob: "x".repeat(2000) } },
        });
        assertError(over, 413, "body_too_large");
        assert.equal(over.body.error.message, "The request body is larger than the limit of 1024 bytes.");
        assert.equal(await contacts(small.admin.workspaceId), before);

        const body = { name: "Fits", custom_fields: { blob: "" } };
        body.custom_fields.blob = "x".repeat(1024 - JSON.stringify(body).length);
        assert.equal(JSON.stringify(body).length, 1024);
        assertStatus(await small.request("POST", "/v1/contacts", { body }), 201);
        body.custom_fields.blob += "x";
        assertError(await small.request("POST", "/v1/contacts", { body }), 413, "body_too_large");
      });
    });

    describe("idempotency", () => {
      const withKey = (key: string, extra: Record<string, string> = {}) => ({
        "idempotency-key": key,
        ...extra,
      });

      it("replays the first answer without creating a second contact", async () => {
        const key = unique("idem-");
        const body = { name: "Once", identities: [{ channel_kind: "vk", external_id: uniqueVkUserId() }] };
        const first = await hub.request("POST", "/v1/contacts", { body, headers: withKey(key) });
        assertStatus(first, 201);
        const count = await contacts();
        for (let i = 0; i < 2; i++) {
          const again = await hub.request("POST", "/v1/contacts", { body, headers: withKey(key) });
          assertStatus(again, 201);
          assert.equal(again.headers.get("idempotent-replayed"), "true");
          assert.deepEqual(again.body, first.body);
        }
        assert.equal(await contacts(), count);
      });

      it("replays the stored answer even after the object changed", async () => {
        const key = unique("idem-");
        const body = { name: "Before" };
        const first = await hub.request("POST", "/v1/contacts", { body, headers: withKey(key) });
        assertStatus(
          await hub.request("PATCH", `/v1/contacts/${first.body.id}`, { body: { name: "After" } }),
          200,
        );
        const again = await hub.request("POST", "/v1/contacts", { body, headers: withKey(key) });
        assert.deepEqual(again.body, first.body);
      });

      it("answers 409 idempotency_key_reused to the same key with another body or path", async () => {
        const key = unique("idem-");
        assertStatus(
          await hub.request("POST", "/v1/contacts", { body: { name: "A" }, headers: withKey(key) }),
          201,
        );
        const count = await contacts();
        const other = await hub.request("POST", "/v1/contacts", {
          body: { name: "B" },
          headers: withKey(key),
        });
        assertError(other, 409, "idempotency_key_reused");
        assert.match(other.body.error.message, new RegExp(key));
        const workspace = await hub.request("POST", "/v1/workspaces", {
          body: { name: "A" },
          headers: withKey(key),
        });
        assertError(workspace, 409, "idempotency_key_reused");
        assert.equal(await contacts(), count);

        const { channel } = await seedFixture(hub, hub.admin.workspaceId);
        const channelKey = unique("idem-");
        assertStatus(
          await hub.request("POST", `/v1/channels/${channel.id}/disable`, { headers: withKey(channelKey) }),
          200,
        );
        const enable = await hub.request("POST", `/v1/channels/${channel.id}/enable`, {
          headers: withKey(channelKey),
        });
        assertError(enable, 409, "idempotency_key_reused");
        assert.equal((await hub.request("GET", `/v1/channels/${channel.id}`)).body.state, "disabled");
      });

      it("stores no error answer: a corrected request may reuse the key", async () => {
        const key = unique("idem-");
        const invalid = await hub.request("POST", "/v1/contacts", {
          body: { email: "nope" },
          headers: withKey(key),
        });
        assertError(invalid, 400, "validation_failed", ["email"]);
        const phone = await hub.request("POST", "/v1/contacts", {
          body: { phone: "123" },
          headers: withKey(key),
        });
        assertError(phone, 400, "invalid_phone", ["phone"]);
        assert.equal(phone.headers.get("idempotent-replayed"), null);

        const externalId = unique();
        await hub.request("POST", "/v1/contacts", {
          body: { identities: [{ channel_kind: "ok", external_id: externalId }] },
        });
        const taken = await hub.request("POST", "/v1/contacts", {
          body: { identities: [{ channel_kind: "ok", external_id: externalId }] },
          headers: withKey(key),
        });
        assertError(taken, 409, "contact_identity_taken");

        const fixed = await hub.request("POST", "/v1/contacts", {
          body: { email: "ok@example.com" },
          headers: withKey(key),
        });
        assertStatus(fixed, 201);
        assert.equal(fixed.headers.get("idempotent-replayed"), null);
        const replay = await hub.request("POST", "/v1/contacts", {
          body: { email: "ok@example.com" },
          headers: withKey(key),
        });
        assert.equal(replay.headers.get("idempotent-replayed"), "true");
        assert.deepEqual(replay.body, fixed.body);
      });

      it("keeps keys per workspace", async () => {
        const key = unique("idem-");
        const body = { name: "Shared key" };
        const mine = await hub.request("POST", "/v1/contacts", { body, headers: withKey(key) });
        const strangerCount = await contacts(hub.stranger.workspaceId);
        const theirs = await hub.request("POST", "/v1/contacts", {
          key: hub.stranger.key,
          body,
          headers: withKey(key),
        });
        assertStatus(theirs, 201);
        assert.equal(theirs.headers.get("idempotent-replayed"), null);
        assert.notEqual(theirs.body.id, mine.body.id);
        assert.equal(await contacts(hub.stranger.workspaceId), strangerCount + 1);
        assertStatus(
          await hub.request("GET", `/v1/contacts/${theirs.body.id}`, { key: hub.stranger.key }),
          200,
        );
        // Another key of the same workspace shares the workspace's keys.
        const colleague = await freshKey(hub, hub.admin.workspaceId);
        const replay = await hub.request("POST", "/v1/contacts", {
          key: colleague.secret,
          body,
          headers: withKey(key),
        });
        assert.equal(replay.headers.get("idempotent-replayed"), "true");
        assert.deepEqual(replay.body, mine.body);
      });

      it("answers 400 invalid_idempotency_key to a key that is too long or not visible ASCII", async () => {
        const count = await contacts();
        for (const key of ["k".repeat(256), "k".repeat(300), "with space", "tab\tkey"]) {
          const res = await hub.request("POST", "/v1/contacts", {
            body: { name: "Bad key" },
            headers: withKey(key),
          });
          assertError(res, 400, "invalid_idempotency_key");
        }
        assert.equal(await contacts(), count);
        assertStatus(
          await hub.request("POST", "/v1/contacts", {
            body: { name: "Max key" },
            headers: withKey("k".repeat(255)),
          }),
          201,
        );
      });

      it("ignores the header on methods other than POST", async () => {
        const key = unique("idem-");
        const created = await hub.request("POST", "/v1/contacts", { body: { name: "Patched" } });
        const path = `/v1/contacts/${created.body.id}`;
        const first = await hub.request("PATCH", path, { body: { name: "One" }, headers: withKey(key) });
        const second = await hub.request("PATCH", path, { body: { name: "Two" }, headers: withKey(key) });
        assert.deepEqual([first.body.name, second.body.name], ["One", "Two"]);
        assert.equal(second.headers.get("idempotent-replayed"), null);
        const get = await hub.request("GET", path, { headers: withKey(key) });
        assert.equal(get.headers.get("idempotent-replayed"), null);
        assert.equal(get.body.name, "Two");
      });
    });

    describe("rate limit", () => {
      it("answers 429 with Retry-After, runs nothing, and lets the key in again once refilled", async () => {
        const limited = await createTestHub(store, { rateLimit: 1, rateLimitBurst: 2 });
        const key = (await freshKey(limited, limited.admin.workspaceId)).secret;
        const request = () => limited.request("POST", "/v1/contacts", { key, body: { name: "Throttled" } });
        assertStatus(await request(), 201);
        assertStatus(await request(), 201);
        const count = await contacts(limited.admin.workspaceId);
        const refused = await limited.request("POST", "/v1/contacts", {
          key,
          body: { name: "Throttled" },
          headers: { "accept-language": "ru" },
        });
        assertError(refused, 429, "rate_limited");
        assert.equal(refused.headers.get("retry-after"), "1");
        assert.equal(refused.headers.get("ratelimit-limit"), "2", "the burst");
        assert.equal(refused.headers.get("ratelimit-remaining"), "0");
        assert.equal(
          refused.body.error.message,
          "Слишком много запросов с этим API-ключом (лимит 1 в секунду).",
        );
        assert.equal(await contacts(limited.admin.workspaceId), count, "the refused request ran nothing");
        // Another key of the same workspace has its own bucket.
        assertStatus(await limited.request("GET", "/v1/contacts", { key: limited.admin.key }), 200);
        // One token a second: slow machines cannot refill it between the requests above.
        await sleep(1_050);
        assertStatus(await request(), 201);
      });

      it("does not limit the public routes", async () => {
        const limited = await createTestHub(store, { rateLimit: 1, rateLimitBurst: 1 });
        for (let i = 0; i < 4; i++) {
          assertStatus(await limited.request("GET", "/v1/errors", { key: null }), 200);
          assertStatus(await limited.request("GET", "/healthz", { key: null }), 200);
        }
      });
    });

    describe("Accept-Language", () => {
      const noKey = (language?: string) =>
        hub.request("GET", "/v1/contacts", {
          key: null,
          headers: language ? { "accept-language": language } : {},
        });

      it("answers in Russian to ru, with the catalogue's message and remedy", async () => {
        for (const language of ["ru", "ru-RU", "en;q=0.5, ru;q=0.9", "de, ru;q=0.8", "RU"]) {
          const res = await noKey(language);
          assertError(res, 401, "auth_missing");
          assert.equal(
            res.body.error.message,
            "В запросе нет API-ключа, который хаб может прочитать: в нём нет заголовка `Authorization`.",
            language,
          );
          assert.equal(res.body.error.remedy, catalogue.auth_missing.ru.remedy, language);
        }
      });

      it("answers in English without the header, to en, and to languages it does not speak", async () => {
        for (const language of [undefined, "en", "en-GB", "ru;q=0.4, en;q=0.6", "de", "*", "ru;q=0"]) {
          const res = await noKey(language);
          assertError(res, 401, "auth_missing");
          assert.equal(
            res.body.error.message,
            "The request carries no API key the hub can read: there is no `Authorization` header.",
            String(language),
          );
          assert.equal(res.body.error.remedy, catalogue.auth_missing.en.remedy, String(language));
        }
      });

      it("says what is wrong with an Authorization header it cannot read, never echoing a key", async () => {
        const key = hub.admin.key;
        const withHeader = (authorization: string, language = "en") =>
          hub.request("GET", "/v1/contacts", {
            key: null,
            headers: { authorization, "accept-language": language },
          });
        const basic = `Basic ${Buffer.from(`${key}:`).toString("base64")}`;
        const cases: [string, string][] = [
          [basic, "the `Authorization` header uses the `Basic` scheme, and API keys go after `Bearer`"],
          [key, "the `Authorization` header has no scheme; write `Bearer` and a space before the key"],
          ["Bearer", "no key follows `Bearer` in the `Authorization` header"],
          [`Bearer ${key} ${key}`, "the key after `Bearer` has spaces in it; a key is one word"],
          [
            `${key} ${key}`,
            "the `Authorization` header does not start with `Bearer`, after which API keys go",
          ],
        ];
        for (const [authorization, reason] of cases) {
          const res = await withHeader(authorization);
          assertError(res, 401, "auth_missing");
          assert.equal(res.body.error.message, `The request carries no API key the hub can read: ${reason}.`);
          assert.ok(!JSON.stringify(res.body).includes(key.slice(4)), `the key is not echoed: ${reason}`);
          assert.ok(!JSON.stringify(res.body).includes(basic.slice(6)), `nor its Basic form: ${reason}`);
        }
        assert.equal(
          (await withHeader(basic, "ru")).body.error.message,
          "В запросе нет API-ключа, который хаб может прочитать: в заголовке `Authorization` схема `Basic`, а API-ключ передаётся после `Bearer`.",
        );
        for (const scheme of ["Bearer", "bearer", "Key"])
          assertStatus(await withHeader(`${scheme} ${key}`), 200);
        assertError(await withHeader("Bearer sbk_unknown"), 401, "auth_invalid");
      });

      it("fills parameters and keeps details in Russian answers", async () => {
        const res = await hub.request("POST", "/v1/contacts", {
          body: { email: "nope" },
          headers: { "accept-language": "ru" },
        });
        assertError(res, 400, "validation_failed", ["email"]);
        assert.equal(res.body.error.message, catalogue.validation_failed.ru.message);
        const missing = await hub.request("GET", "/v1/contacts/not-a-uuid", {
          headers: { "accept-language": "ru" },
        });
        assertError(missing, 404, "contact_not_found");
        assert.equal(
          missing.body.error.message,
          "В этом рабочем пространстве нет объекта «контакт» с идентификатором `not-a-uuid`.",
        );
      });
    });
  });
}
