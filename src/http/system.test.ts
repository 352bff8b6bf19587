// The routes around the API: health, readiness, metrics, the reference page, the OpenAPI document,
// the error catalogue and unknown routes.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { compileErrors, validate } from "@readme/openapi-parser";
import { catalogue, type ErrorCode } from "../errors/catalogue.ts";
import { assertError, assertStatus } from "../testing/http.ts";
import { createTestHub, type TestHub } from "../testing/hub.ts";
import { storeKinds } from "../testing/stores.ts";

for (const kind of storeKinds) {
  describe(`HTTP system routes on ${kind.name}`, () => {
    let store: Awaited<ReturnType<typeof kind.open>>;
    let hub: TestHub;

    before(async () => {
      store = await kind.open();
      hub = await createTestHub(store);
    });
    after(() => store.drop());

    it("lists every catalogue code at GET /v1/errors, without a key", async () => {
      const res = await hub.request("GET", "/v1/errors", { key: null });
      assertStatus(res, 200);
      const codes = res.body.items.map((entry: { code: string }) => entry.code);
      assert.deepEqual(codes, Object.keys(catalogue));
      for (const entry of res.body.items) {
        const known = catalogue[entry.code as ErrorCode];
        assert.deepEqual(entry, {
          code: entry.code,
          status: known.status,
          class: known.class,
          upstream_code: known.upstream ?? null,
          en: known.en,
          ru: known.ru,
        });
      }
      assertStatus(await hub.request("GET", "/v1/errors", { key: "sbk_wrong" }), 200);
    });

    it("answers /healthz", async () => {
      const res = await hub.request("GET", "/healthz", { key: null });
      assertStatus(res, 200);
      assert.deepEqual(res.body, { status: "ok" });
    });

    it("answers /readyz with every migration applied", async () => {
      const res = await hub.request("GET", "/readyz", { key: null });
      assertStatus(res, 200);
      assert.equal(res.body.status, "ready");
      assert.equal(res.body.store, kind.name === "pglite" ? "embedded" : "server");
      assert.ok(res.body.migrations.known > 0);
      assert.equal(res.body.migrations.applied, res.body.migrations.known);
    });

    it("exports Prometheus metrics labelled by route pattern, not raw path", async () => {
      const local = await createTestHub(store);
      const contact = await local.request("POST", "/v1/contacts", { body: { name: "Counted" } });
      await local.request("GET", `/v1/contacts/${contact.body.id}`);
      await local.request("GET", "/no-such-page-4711", { key: null });
      const res = await local.request("GET", "/metrics", { key: null });
      assertStatus(res, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
      const text = String(res.body);
      assert.match(text, /^# TYPE switchboard_http_requests_total counter$/m);
      assert.match(text, /^switchboard_inbound_events_pending 0$/m);
      assert.match(
        text,
        /^switchboard_http_requests_total\{method="POST",route="\/v1\/contacts",status="201"\} 1$/m,
      );
      assert.match(
        text,
        /^switchboard_http_requests_total\{method="GET",route="\/v1\/contacts\/:id",status="200"\} 1$/m,
      );
      assert.match(text, /^switchboard_http_requests_total\{method="GET",route="[^"]*",status="404"\} 1$/m);
      assert.match(
        text,
        /^switchboard_http_request_duration_seconds_count\{method="POST",route="\/v1\/contacts"\} 1$/m,
      );
      assert.match(text, /^switchboard_process_cpu_seconds_total /m);
      assert.ok(!text.includes(contact.body.id), "no raw ids in labels");
      assert.ok(!text.includes("no-such-page-4711"), "no raw paths in labels");
    });

    it("serves the API reference page with local assets only", async () => {
      const res = await hub.request("GET", "/docs", { key: null });
      assertStatus(res, 200);
      assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
      const html = String(res.body);
      assert.doesNotMatch(html, /https?:\/\//i, "no CDN or other remote URL");
      assert.doesNotMatch(html, /(src|href)=["']\/\//i, "no protocol-relative URL");
      const assets = [...html.matchAll(/(?:src|href)=["']([^"']+)["']/g)].map((m) => m[1] as string);
      assert.ok(assets.length >= 2);
      for (const asset of assets) {
        assert.match(asset, /^\/docs\/assets\/[\w.-]+$/);
        const file = await hub.request("GET", asset, { key: null });
        assertStatus(file, 200);
        assert.match(
          file.headers.get("content-type") ?? "",
          /^(text\/css|text\/javascript|image\/png)/,
          asset,
        );
      }
      assert.match(html, /url: "\/openapi\.json"/);
      const missing = await hub.request("GET", "/docs/assets/other.js", { key: null });
      assertError(missing, 404, "route_not_found");
      assert.equal(missing.body.error.message, "There is no `GET /docs/assets/other.js` in this API.");
    });

    it("publishes a valid OpenAPI 3.1 document", async () => {
      const res = await hub.request("GET", "/openapi.json", { key: null });
      assertStatus(res, 200);
      assert.equal(res.body.openapi, "3.1.0");
      const result = await validate(structuredClone(res.body));
      assert.ok(result.valid, result.valid ? "" : compileErrors(result));
      assert.deepEqual(Object.keys(res.body.components.securitySchemes), ["bearer"]);
      for (const [path, operations] of Object.entries(
        res.body.paths as Record<
          string,
          Record<string, { security?: unknown; responses: Record<string, unknown> }>
        >,
      )) {
        for (const [method, operation] of Object.entries(operations)) {
          const keyed = (path.startsWith("/v1/") && path !== "/v1/errors") || path.startsWith("/compat/");
          assert.deepEqual(operation.security, keyed ? [{ bearer: [] }] : undefined, `${method} ${path}`);
          if (keyed)
            assert.ok(
              operation.responses["401"] && operation.responses["429"],
              `${method} ${path} documents 401 and 429`,
            );
        }
      }
    });

    it("answers 404 route_not_found to unknown routes", async () => {
      const res = await hub.request("GET", "/v1/nope");
      assertError(res, 404, "route_not_found");
      assert.equal(res.body.error.message, "There is no `GET /v1/nope` in this API.");
      const method = await hub.request("DELETE", "/v1/contacts");
      assertError(method, 404, "route_not_found");
      assert.equal(method.body.error.message, "There is no `DELETE /v1/contacts` in this API.");
      assertError(await hub.request("GET", "/nope", { key: null }), 404, "route_not_found");
      // Under /v1 the key is checked first, so an anonymous caller learns nothing about routes.
      assertError(await hub.request("GET", "/v1/nope", { key: null }), 401, "auth_missing");
      const ru = await hub.request("POST", "/v1/nope", { headers: { "accept-language": "ru" } });
      assert.equal(ru.body.error.message, "В API нет метода `POST /v1/nope`.");
    });
  });
}
