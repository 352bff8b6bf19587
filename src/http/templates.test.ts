// Message templates through the HTTP API: CRUD, names, validation, pagination, isolation, preview;
// and the repository lookups by name that sends use.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { renderTemplate } from "../core/template.ts";
import {
  findTemplateByName,
  findTemplatesByName,
  requireTemplateByName,
} from "../store/repositories/templates.ts";
import { assertError, assertStatus, randomId, unique } from "../testing/http.ts";
import { createTestHub, type TestHub, type TestResponse } from "../testing/hub.ts";
import { storeKinds } from "../testing/stores.ts";

const ids = (res: TestResponse): string[] => res.body.items.map((item: { id: string }) => item.id);

/** Devino's example template (seed 002): `base_template` with `name` and `pizza`. */
const pizza = (name = "base_template") => ({
  name,
  description: "Order on its way",
  variables: [
    { name: "name", description: "The client's first name" },
    { name: "pizza", default: "Маргарита" },
    { name: "note", required: false },
  ],
  bodies: {
    vk: {
      text: "{{name}}, ваша пицца «{{pizza}}» уже в пути!{{note}}",
      keyboard: {
        inline: true,
        rows: [[{ type: "callback", label: "Где курьер?", payload: { q: "where" } }]],
      },
    },
    telegram: { text: "{{ name }}, пицца «{{ pizza }}» в пути" },
  },
  fallback: { text: "{{name}}, заказ в пути" },
});

for (const kind of storeKinds) {
  describe(`HTTP templates on ${kind.name}`, () => {
    let store: Awaited<ReturnType<typeof kind.open>>;
    let hub: TestHub;
    /** A workspace of its own, so that lists hold only what these tests put there. */
    let ws: { id: string; key: string };

    before(async () => {
      store = await kind.open();
      hub = await createTestHub(store);
      const res = await hub.request("POST", "/v1/workspaces", { body: { name: unique("ws-") } });
      assertStatus(res, 201);
      ws = { id: res.body.workspace.id, key: res.body.api_key.key };
    });
    after(() => store.drop());

    const call = (method: string, path: string, body?: unknown, key = ws.key) =>
      hub.request(method, path, { body, key });
    const create = async (body: unknown) => {
      const res = await call("POST", "/v1/templates", body);
      assertStatus(res, 201);
      return res.body;
    };

    describe("CRUD", () => {
      it("creates a template, with variables' defaults made explicit, and reads it back", async () => {
        const res = await call("POST", "/v1/templates", pizza(unique("pizza-")));
        assertStatus(res, 201);
        const t = res.body;
        assert.match(t.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7/, "a UUIDv7");
        assert.equal(t.description, "Order on its way");
        assert.deepEqual(t.variables, [
          { name: "name", description: "The client's first name", required: true, default: null },
          { name: "pizza", description: null, required: false, default: "Маргарита" },
          { name: "note", description: null, required: false, default: null },
        ]);
        assert.deepEqual(t.bodies, {
          vk: {
            text: "{{name}}, ваша пицца «{{pizza}}» уже в пути!{{note}}",
            keyboard: {
              inline: true,
              one_time: false,
              rows: [[{ type: "callback", label: "Где курьер?", payload: { q: "where" } }]],
            },
          },
          telegram: { text: "{{ name }}, пицца «{{ pizza }}» в пути", keyboard: null },
        });
        assert.deepEqual(t.fallback, { text: "{{name}}, заказ в пути", keyboard: null });
        assert.equal(t.created_at, t.updated_at);

        const got = await call("GET", `/v1/templates/${t.id}`);
        assertStatus(got, 200);
        assert.deepEqual(got.body, t);
      });

      it("keeps a body's text exactly, spaces and line breaks included", async () => {
        const text = "  Здравствуйте, {{name}}!\n\nВаш код: {{code}}  ";
        const t = await create({
          name: unique("exact-"),
          variables: [{ name: "name" }, { name: "code" }],
          fallback: { text },
        });
        assert.equal(t.fallback.text, text);
        assert.deepEqual(t.bodies, {});
      });

      it("changes a template: fields left out are kept, bodies merge kind by kind, null removes", async () => {
        const t = await create(pizza(unique("patch-")));
        await new Promise((resolve) => setTimeout(resolve, 5));
        const res = await call("PATCH", `/v1/templates/${t.id}`, {
          description: null,
          bodies: { telegram: null, ok: { text: "{{name}}: заказ едет" } },
        });
        assertStatus(res, 200);
        assert.equal(res.body.name, t.name);
        assert.equal(res.body.description, null);
        assert.deepEqual(res.body.variables, t.variables);
        assert.deepEqual(Object.keys(res.body.bodies).sort(), ["ok", "vk"]);
        assert.deepEqual(res.body.bodies.vk, t.bodies.vk);
        assert.deepEqual(res.body.fallback, t.fallback);
        assert.equal(res.body.created_at, t.created_at);
        assert.ok(res.body.updated_at > t.updated_at, "updated_at moves");

        const renamed = await call("PATCH", `/v1/templates/${t.id}`, {
          name: `${t.name}-v2`,
          variables: [{ name: "name" }],
          bodies: { vk: { text: "{{name}}, заказ в пути" }, ok: null },
          fallback: null,
        });
        assertStatus(renamed, 200);
        assert.equal(renamed.body.name, `${t.name}-v2`);
        assert.deepEqual(renamed.body.bodies, { vk: { text: "{{name}}, заказ в пути", keyboard: null } });
        assert.equal(renamed.body.fallback, null);
        assert.deepEqual((await call("GET", `/v1/templates/${t.id}`)).body, renamed.body);
      });

      it("deletes a template, answering it, after which its id is unknown and its name free", async () => {
        const t = await create(pizza(unique("gone-")));
        const res = await call("DELETE", `/v1/templates/${t.id}`);
        assertStatus(res, 200);
        assert.deepEqual(res.body, t);
        assertError(await call("GET", `/v1/templates/${t.id}`), 404, "template_not_found");
        assertError(await call("DELETE", `/v1/templates/${t.id}`), 404, "template_not_found");
        assertError(
          await call("POST", `/v1/templates/${t.id}/preview`, { data: { name: "A" } }),
          404,
          "template_not_found",
        );
        const again = await create(pizza(t.name));
        assert.notEqual(again.id, t.id);
      });

      it("answers 404 template_not_found to unknown and non-UUID ids, naming the id", async () => {
        const id = randomId();
        for (const [method, body] of [
          ["GET", undefined],
          ["PATCH", { description: "x" }],
          ["DELETE", undefined],
        ] as const) {
          const res = await call(method, `/v1/templates/${id}`, body);
          assertError(res, 404, "template_not_found");
          assert.match(res.body.error.message, new RegExp(id));
          assertError(await call(method, "/v1/templates/not-a-uuid", body), 404, "template_not_found");
        }
        assertError(await call("POST", `/v1/templates/${id}/preview`, {}), 404, "template_not_found");
      });
    });

    describe("names", () => {
      it("refuses a second template with a taken name, naming the holder, and allows other cases", async () => {
        const first = await create(pizza(unique("dup-")));
        const res = await call("POST", "/v1/templates", pizza(first.name));
        assertError(res, 409, "template_name_taken");
        assert.match(res.body.error.message, new RegExp(first.id));
        assert.match(res.body.error.remedy, new RegExp(`PATCH /v1/templates/${first.id}`));
        // Names are exact: another case is another name, surrounding spaces are trimmed.
        await create(pizza(first.name.toUpperCase()));
        assertError(
          await call("POST", "/v1/templates", pizza(` ${first.name} `)),
          409,
          "template_name_taken",
        );
      });

      it("refuses renaming a template to a taken name, and leaves both as they were", async () => {
        const a = await create(pizza(unique("a-")));
        const b = await create(pizza(unique("b-")));
        const res = await call("PATCH", `/v1/templates/${b.id}`, { name: a.name, description: "changed" });
        assertError(res, 409, "template_name_taken");
        assert.deepEqual((await call("GET", `/v1/templates/${b.id}`)).body, b);
        // Its own name is no conflict.
        assertStatus(await call("PATCH", `/v1/templates/${b.id}`, { name: b.name }), 200);
      });

      it("lets exactly one of several simultaneous creates with one name win", async () => {
        const name = unique("race-");
        const results = await Promise.all(
          Array.from({ length: 5 }, () => call("POST", "/v1/templates", pizza(name))),
        );
        assert.deepEqual(results.map((r) => r.status).sort(), [201, 409, 409, 409, 409]);
        const winner = results.find((r) => r.status === 201)?.body;
        for (const res of results.filter((r) => r.status === 409)) {
          assertError(res, 409, "template_name_taken");
          assert.match(res.body.error.message, new RegExp(winner.id));
        }
      });

      it("keeps both of two simultaneous changes to different bodies", async () => {
        const t = await create(pizza(unique("both-")));
        const [ok, email] = await Promise.all([
          call("PATCH", `/v1/templates/${t.id}`, { bodies: { ok: { text: "OK {{name}}" } } }),
          call("PATCH", `/v1/templates/${t.id}`, { bodies: { email: { text: "Mail {{name}}" } } }),
        ]);
        assertStatus(ok, 200);
        assertStatus(email, 200);
        const now = await call("GET", `/v1/templates/${t.id}`);
        assert.deepEqual(Object.keys(now.body.bodies).sort(), ["email", "ok", "telegram", "vk"]);
      });

      it("lets two workspaces use the same name", async () => {
        const name = unique("shared-");
        const mine = await create(pizza(name));
        const theirs = await call("POST", "/v1/templates", pizza(name), hub.stranger.key);
        assertStatus(theirs, 201);
        assert.notEqual(theirs.body.id, mine.id);
      });

      it("answers Russian texts to Accept-Language: ru", async () => {
        const t = await create(pizza(unique("ru-")));
        const res = await hub.request("POST", "/v1/templates", {
          key: ws.key,
          body: pizza(t.name),
          headers: { "accept-language": "ru" },
        });
        assertError(res, 409, "template_name_taken");
        assert.match(res.body.error.message, /уже есть/);
      });
    });

    describe("validation when saving", () => {
      it("refuses a placeholder of an undeclared variable, naming it and its body", async () => {
        const res = await call("POST", "/v1/templates", {
          name: unique("undeclared-"),
          variables: [{ name: "name" }],
          bodies: { vk: { text: "{{name}}, ваш заказ {{order}} готов" } },
          fallback: { text: "{{ order }}" },
        });
        assertError(res, 400, "template_invalid", ["bodies.vk.text"]);
        assert.deepEqual(
          res.body.error.details.map((d: { code: string }) => d.code),
          ["placeholder_undeclared"],
        );
        assert.match(res.body.error.message, /`order`/);
        assert.match(res.body.error.message, /bodies\.vk\.text/);
      });

      it("refuses malformed placeholders: an unclosed {{, an empty one, an expression, triple braces", async () => {
        const cases: [string, string][] = [
          ["Привет, {{name", "placeholder_unclosed"],
          ["Привет, {{name}, как дела?", "placeholder_unclosed"],
          ["Привет, {{}}", "placeholder_malformed"],
          ["Привет, {{ name.first }}", "placeholder_malformed"],
          ["Привет, {{name | upper}}", "placeholder_malformed"],
          ["{{#if vip}}VIP", "placeholder_malformed"],
        ];
        for (const [text, code] of cases) {
          const res = await call("POST", "/v1/templates", {
            name: unique("bad-"),
            variables: [{ name: "name" }],
            bodies: { telegram: { text } },
          });
          assertError(res, 400, "template_invalid", ["bodies.telegram.text"]);
          assert.equal(res.body.error.details[0].code, code, text);
        }
        // Triple braces name no variable either (the message quotes them, so check it apart).
        const triple = await call("POST", "/v1/templates", {
          name: unique("bad-"),
          variables: [{ name: "name" }],
          fallback: { text: "{{{name}}}" },
        });
        assert.equal(triple.status, 400);
        assert.equal(triple.body.error.code, "template_invalid");
        assert.equal(triple.body.error.details[0].path, "fallback.text");
      });

      it("accepts \\{{ as a literal {{, and single braces and }} as plain text", async () => {
        const t = await create({
          name: unique("literal-"),
          variables: [{ name: "x" }],
          fallback: { text: "\\{{x}} → {{x}}; {json: 1}}" },
        });
        const res = await call("POST", `/v1/templates/${t.id}/preview`, {
          data: { x: 5 },
          channel_kind: "vk",
        });
        assertStatus(res, 200);
        assert.equal(res.body.renders[0].text, "{{x}} → 5; {json: 1}}");
      });

      it("refuses a template without a body, and a change that would leave none", async () => {
        assertError(
          await call("POST", "/v1/templates", { name: unique("empty-"), variables: [] }),
          400,
          "template_invalid",
          ["bodies"],
        );
        const t = await create({ name: unique("one-"), bodies: { vk: { text: "Hi" } } });
        assertError(
          await call("PATCH", `/v1/templates/${t.id}`, { bodies: { vk: null } }),
          400,
          "template_invalid",
          ["bodies"],
        );
        assert.deepEqual((await call("GET", `/v1/templates/${t.id}`)).body, t);
      });

      it("refuses removing a variable that a body still uses, and changes nothing", async () => {
        const t = await create(pizza(unique("keep-")));
        const res = await call("PATCH", `/v1/templates/${t.id}`, {
          variables: [{ name: "name" }, { name: "note", required: false }],
        });
        assertError(res, 400, "template_invalid", ["bodies.vk.text"]);
        assert.match(res.body.error.message, /`pizza`/);
        assert.deepEqual((await call("GET", `/v1/templates/${t.id}`)).body, t);
      });

      it("refuses placeholders in keyboards, which are sent as written", async () => {
        const res = await call("POST", "/v1/templates", {
          name: unique("kb-"),
          variables: [{ name: "order" }],
          bodies: {
            vk: {
              text: "Заказ {{order}}",
              keyboard: { rows: [[{ type: "text", label: "Заказ {{order}}" }]] },
            },
          },
        });
        assertError(res, 400, "template_invalid", ["bodies.vk.keyboard.rows.0.0.label"]);
      });

      it("refuses bad declarations and unknown channel kinds as validation_failed, naming each field", async () => {
        const res = await call("POST", "/v1/templates", {
          name: "   ",
          variables: [
            { name: "ok_name" },
            { name: "with space" },
            { name: "x", required: true, default: "y" },
            { name: "n", default: 5 },
          ],
          bodies: { sms: { text: "Hi" }, vk: { text: "" } },
          fallback: { keyboard: { rows: [] } },
        });
        assertError(res, 400, "validation_failed", [
          "name",
          "variables.1.name",
          "variables.2.default",
          "variables.3.default",
          "bodies.sms",
          "bodies.vk.text",
          "fallback.text",
        ]);
        const twice = await call("POST", "/v1/templates", {
          name: unique("twice-"),
          variables: [{ name: "a" }, { name: "b" }, { name: "a", required: false }],
          fallback: { text: "{{a}}{{b}}" },
        });
        assertError(twice, 400, "validation_failed", ["variables.2.name"]);
      });

      it("accepts variable names in any alphabet", async () => {
        const t = await create({
          name: unique("ru-vars-"),
          variables: [{ name: "имя" }, { name: "номер_заказа" }],
          fallback: { text: "{{имя}}, заказ №{{номер_заказа}} готов" },
        });
        const res = await call("POST", `/v1/templates/${t.id}/preview`, {
          data: { имя: "Анна", номер_заказа: 42 },
          channel_kind: "ok",
        });
        assertStatus(res, 200);
        assert.equal(res.body.renders[0].text, "Анна, заказ №42 готов");
      });
    });

    describe("preview", () => {
      let t: { id: string; name: string };
      before(async () => {
        t = await create(pizza(unique("preview-")));
      });
      const preview = (body: unknown) => call("POST", `/v1/templates/${t.id}/preview`, body);

      it("renders every kind: its own body where it has one, the fallback elsewhere", async () => {
        const res = await preview({ data: { name: "Анна", pizza: "Пепперони" } });
        assertStatus(res, 200);
        assert.deepEqual([res.body.template_id, res.body.name], [t.id, t.name]);
        assert.deepEqual(
          res.body.renders.map((r: { channel_kind: string; body: string; text: string }) => [
            r.channel_kind,
            r.body,
            r.text,
          ]),
          [
            ["vk", "own", "Анна, ваша пицца «Пепперони» уже в пути!"],
            ["telegram", "own", "Анна, пицца «Пепперони» в пути"],
            ["whatsapp_web", "fallback", "Анна, заказ в пути"],
            ["whatsapp_cloud", "fallback", "Анна, заказ в пути"],
            ["ok", "fallback", "Анна, заказ в пути"],
            ["email", "fallback", "Анна, заказ в пути"],
          ],
        );
        assert.deepEqual(res.body.renders[0].keyboard, {
          inline: true,
          one_time: false,
          rows: [[{ type: "callback", label: "Где курьер?", payload: { q: "where" } }]],
        });
        assert.equal(res.body.renders[1].keyboard, null);
      });

      it("renders one kind when asked, with defaults for optional variables left out", async () => {
        const res = await preview({ data: { name: "Anna", note: " Курьер рядом." }, channel_kind: "vk" });
        assertStatus(res, 200);
        assert.deepEqual(
          res.body.renders.map((r: { channel_kind: string; text: string }) => [r.channel_kind, r.text]),
          [["vk", "Anna, ваша пицца «Маргарита» уже в пути! Курьер рядом."]],
        );
      });

      it("renders only the kinds with a body when there is no fallback, and refuses the others", async () => {
        const vkOnly = await create({
          name: unique("vk-only-"),
          variables: [{ name: "name" }],
          bodies: { vk: { text: "Hi {{name}}" } },
        });
        const all = await call("POST", `/v1/templates/${vkOnly.id}/preview`, { data: { name: "A" } });
        assertStatus(all, 200);
        assert.deepEqual(
          all.body.renders.map((r: { channel_kind: string }) => r.channel_kind),
          ["vk"],
        );
        const ok = await call("POST", `/v1/templates/${vkOnly.id}/preview`, {
          data: { name: "A" },
          channel_kind: "ok",
        });
        assertError(ok, 422, "template_no_body");
        assert.match(ok.body.error.message, /ok channels/);
      });

      it("refuses a missing required variable, naming it", async () => {
        const res = await preview({ data: { pizza: "Пепперони" } });
        assertError(res, 422, "template_variable_missing", ["data.name"]);
        assert.match(res.body.error.message, /`name`/);
        assertError(await preview({}), 422, "template_variable_missing", ["data.name"]);
      });

      it("refuses an undeclared variable rather than dropping it, listing every problem", async () => {
        const res = await preview({ data: { name: "Anna", size: "XL" } });
        assertError(res, 422, "template_variable_unknown", ["data.size"]);
        assert.match(res.body.error.message, /`size`/);
        const misspelt = await preview({ data: { nmae: "Anna" } });
        assertError(misspelt, 422, "template_variable_unknown", ["data.nmae", "data.name"]);
        assert.deepEqual(
          misspelt.body.error.details.map((d: { code: string }) => d.code),
          ["template_variable_unknown", "template_variable_missing"],
        );
      });

      it("refuses values that are not strings, numbers or booleans", async () => {
        for (const [value, type] of [
          [{ first: "Anna" }, "object"],
          [["Anna"], "array"],
          [null, "null"],
        ] as const) {
          const res = await preview({ data: { name: value } });
          assertError(res, 422, "template_variable_invalid", ["data.name"]);
          assert.match(res.body.error.message, new RegExp(`\`${type}\``));
        }
        const scalars = await preview({ data: { name: 7, pizza: true, note: "" }, channel_kind: "telegram" });
        assertStatus(scalars, 200);
        assert.equal(scalars.body.renders[0].text, "7, пицца «true» в пути");
      });

      it("inserts values as plain text: no escaping, and no placeholder inside a value is filled", async () => {
        const res = await preview({
          data: { name: "<b>{{pizza}}</b> & \\{{note}}", pizza: "{{name}}" },
          channel_kind: "email",
        });
        assertStatus(res, 200);
        assert.equal(res.body.renders[0].text, "<b>{{pizza}}</b> & \\{{note}}, заказ в пути");
      });

      it("answers 400 validation_failed to data that is not an object, and malformed_json to broken JSON", async () => {
        assertError(await preview({ data: "name=Anna" }), 400, "validation_failed", ["data"]);
        assertError(await preview({ channel_kind: "sms" }), 400, "validation_failed", ["channel_kind"]);
        const broken = await hub.request("POST", `/v1/templates/${t.id}/preview`, {
          key: ws.key,
          rawBody: '{"data": {"name": "Anna"',
          headers: { "content-type": "application/json" },
        });
        assertError(broken, 400, "malformed_json");
      });
    });

    describe("lists and workspaces", () => {
      it("pages through the workspace's templates newest first, and finds one by exact name", async () => {
        const own = await hub.request("POST", "/v1/workspaces", { body: { name: unique("list-") } });
        const key = own.body.api_key.key as string;
        const created: string[] = [];
        for (let i = 0; i < 5; i++) {
          const res = await call("POST", "/v1/templates", pizza(`list-${i}`), key);
          assertStatus(res, 201);
          created.push(res.body.id);
        }
        const pages: string[][] = [];
        let cursor: string | null = null;
        do {
          const res: TestResponse = await call(
            "GET",
            `/v1/templates?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
            undefined,
            key,
          );
          assertStatus(res, 200);
          pages.push(ids(res));
          cursor = res.body.next_cursor;
        } while (cursor);
        assert.deepEqual(
          pages.map((p) => p.length),
          [2, 2, 1],
        );
        assert.deepEqual(pages.flat(), [...created].reverse());

        const byName = await call("GET", "/v1/templates?name=list-3", undefined, key);
        assertStatus(byName, 200);
        assert.deepEqual(ids(byName), [created[3]]);
        assert.deepEqual(ids(await call("GET", "/v1/templates?name=LIST-3", undefined, key)), []);

        const contactsCursor = Buffer.from(JSON.stringify(["contacts", randomId()])).toString("base64url");
        assertError(
          await call("GET", `/v1/templates?cursor=${contactsCursor}`, undefined, key),
          400,
          "invalid_cursor",
          ["query.cursor"],
        );
      });

      it("keeps each workspace's templates to itself: 404 to another workspace's ids, absent from its lists", async () => {
        const theirs = await call("POST", "/v1/templates", pizza(unique("theirs-")), hub.stranger.key);
        assertStatus(theirs, 201);
        const id = theirs.body.id;
        assertError(await call("GET", `/v1/templates/${id}`), 404, "template_not_found");
        assertError(
          await call("PATCH", `/v1/templates/${id}`, { description: "mine now" }),
          404,
          "template_not_found",
        );
        assertError(await call("DELETE", `/v1/templates/${id}`), 404, "template_not_found");
        assertError(
          await call("POST", `/v1/templates/${id}/preview`, { data: { name: "A" } }),
          404,
          "template_not_found",
        );
        assert.ok(!ids(await call("GET", "/v1/templates?limit=200")).includes(id));
        assert.deepEqual(ids(await call("GET", `/v1/templates?name=${theirs.body.name}`)), []);
        const still = await call("GET", `/v1/templates/${id}`, undefined, hub.stranger.key);
        assert.deepEqual(still.body, theirs.body);
      });
    });

    describe("lookups by name (for sends)", () => {
      it("finds a workspace's templates by exact name, one or many in one query, and renders them", async () => {
        const a = await create(pizza(unique("lookup-a-")));
        const b = await create(pizza(unique("lookup-b-")));
        const db = store.db;
        assert.equal((await findTemplateByName(db, ws.id, a.name))?.id, a.id);
        assert.equal(await findTemplateByName(db, ws.id, a.name.toUpperCase()), undefined);
        assert.equal(await findTemplateByName(db, hub.stranger.workspaceId, a.name), undefined);
        const found = await findTemplatesByName(db, ws.id, [a.name, b.name, a.name, "no-such-template"]);
        assert.deepEqual([...found.keys()].sort(), [a.name, b.name].sort());
        assert.deepEqual(await findTemplatesByName(db, ws.id, []), new Map());

        const template = await requireTemplateByName(db, ws.id, a.name);
        assert.deepEqual(renderTemplate(template, "ok", { name: "Anna" }, { dataPath: "tmpl_data" }), {
          text: "Anna, заказ в пути",
          keyboard: null,
          body: "fallback",
        });
        await assert.rejects(requireTemplateByName(db, ws.id, "no-such-template"), (error: Error) => {
          assert.equal((error as { code?: string }).code, "template_not_found");
          assert.match(error.message, /no-such-template/);
          return true;
        });
      });
    });
  });
}
