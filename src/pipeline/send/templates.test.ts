// The templates of the send pipeline: looked up by name in the workspace, rendered per route kind.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AppError } from "../../errors/app-error.ts";
import { createTemplate, type Template } from "../../store/repositories/templates.ts";
import { createWorkspace } from "../../store/repositories/workspaces.ts";
import { storeKinds } from "../../testing/stores.ts";
import { renderForKinds } from "./templates.ts";

const refusal = (code: string, path?: string) => (error: unknown) => {
  assert.ok(error instanceof AppError, String(error));
  assert.equal(error.code, code);
  if (path)
    assert.deepEqual(
      error.details.map((d) => d.path),
      [path],
    );
  return true;
};

for (const kind of storeKinds) {
  describe(`send templates on ${kind.name}`, () => {
    let store: Awaited<ReturnType<typeof kind.open>>;
    let template: Template;

    before(async () => {
      store = await kind.open();
      const workspaceId = (await createWorkspace(store.db, "Templates")).id;
      template = await createTemplate(store.db, workspaceId, {
        name: "base_template",
        variables: [
          { name: "name", description: null, required: true, default: null },
          { name: "pizza", description: null, required: false, default: "Маргарита" },
        ],
        bodies: { vk: { text: "{{name}}: пицца «{{pizza}}» в пути", keyboard: null } },
        fallback: null,
      });
    });
    after(() => store.drop());

    const texts = (data: Record<string, unknown>, kinds: ("vk" | "ok" | "telegram")[]) =>
      Object.fromEntries(Object.entries(renderForKinds(template, data, kinds)).map(([k, r]) => [k, r.text]));

    it("renders the text for each route kind the template has a body for, leaving the others out", () => {
      assert.deepEqual(texts({ name: "Анна", pizza: "Пепперони" }, ["ok", "vk"]), {
        vk: "Анна: пицца «Пепперони» в пути",
      });
      assert.deepEqual(texts({ name: "Анна" }, ["vk"]), { vk: "Анна: пицца «Маргарита» в пути" });
    });

    it("refuses a template no route kind can use", () => {
      assert.throws(() => texts({ name: "A" }, ["ok", "telegram"]), refusal("template_no_body"));
    });

    it("refuses missing, unknown and non-scalar variables, whatever the kinds", () => {
      assert.throws(() => texts({ pizza: "x" }, ["vk"]), refusal("template_variable_missing", "data.name"));
      assert.throws(
        () => texts({ name: "A", size: "XL" }, ["vk"]),
        refusal("template_variable_unknown", "data.size"),
      );
      assert.throws(() => texts({ name: ["A"] }, ["vk"]), refusal("template_variable_invalid", "data.name"));
      assert.throws(() => texts({}, []), refusal("template_variable_missing", "data.name"));
      assert.deepEqual(texts({ name: "A" }, []), {});
    });
  });
}
