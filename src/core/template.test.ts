import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AppError } from "../errors/app-error.ts";
import {
  placeholdersOf,
  renderTemplate,
  resolveTemplateData,
  type TemplateDefinition,
  type TemplateVariable,
  templateBodyFor,
  validateTemplate,
} from "./template.ts";

const required = (name: string): TemplateVariable => ({
  name,
  description: null,
  required: true,
  default: null,
});
const optional = (name: string, value: string | null = null): TemplateVariable => ({
  name,
  description: null,
  required: false,
  default: value,
});
const body = (text: string, keyboard: unknown = null) => ({ text, keyboard });

/** Devino's example: `base_template` with `name` and `pizza`. */
const pizza: TemplateDefinition = {
  name: "base_template",
  variables: [required("name"), optional("pizza", "Маргарита"), optional("note")],
  bodies: {
    vk: body("{{name}}, ваша пицца «{{ pizza }}» в пути!{{note}}", { rows: [] }),
    telegram: body("*{{name}}*: {{pizza}}"),
  },
  fallback: body("{{name}}, заказ в пути"),
};

/** Runs `work` and returns the AppError it throws, failing when it throws nothing else. */
function failure(work: () => unknown): AppError {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof AppError, `expected an AppError, got ${error}`);
    return error;
  }
  assert.fail("expected an error");
}

describe("renderTemplate", () => {
  it("fills a kind's own body, with defaults for optional variables left out", () => {
    assert.deepEqual(renderTemplate(pizza, "vk", { name: "Анна" }), {
      text: "Анна, ваша пицца «Маргарита» в пути!",
      keyboard: { rows: [] },
      body: "own",
    });
    assert.equal(
      renderTemplate(pizza, "vk", { name: "Анна", pizza: "Пепперони", note: " Курьер уже рядом." }).text,
      "Анна, ваша пицца «Пепперони» в пути! Курьер уже рядом.",
    );
    assert.deepEqual(renderTemplate(pizza, "telegram", { name: "Anna" }), {
      text: "*Anna*: Маргарита",
      keyboard: null,
      body: "own",
    });
  });

  it("uses the fallback body for kinds without their own, and refuses a kind with neither", () => {
    for (const kind of ["ok", "email", "whatsapp_web", "whatsapp_cloud"]) {
      assert.deepEqual(renderTemplate(pizza, kind, { name: "Anna" }), {
        text: "Anna, заказ в пути",
        keyboard: null,
        body: "fallback",
      });
    }
    const vkOnly = { ...pizza, fallback: null };
    const error = failure(() => renderTemplate(vkOnly, "ok", { name: "Anna" }));
    assert.equal(error.code, "template_no_body");
    assert.deepEqual(error.params, { template: "base_template", kind: "ok" });
    assert.equal(error.status, 422);
    assert.equal(templateBodyFor(vkOnly, "ok"), undefined);
    assert.equal(templateBodyFor(vkOnly, "vk")?.source, "own");
    // Names of Object.prototype are no channel kinds.
    assert.equal(templateBodyFor(vkOnly, "constructor"), undefined);
  });

  it("writes numbers and booleans as text and strings exactly as given", () => {
    const t: TemplateDefinition = {
      name: "t",
      variables: [required("a"), required("b"), required("c"), required("d")],
      bodies: {},
      fallback: body("{{a}}|{{b}}|{{c}}|{{d}}"),
    };
    assert.equal(
      renderTemplate(t, "vk", { a: 42, b: 1.5, c: false, d: "  spaced  " }).text,
      "42|1.5|false|  spaced  ",
    );
    assert.equal(renderTemplate(t, "vk", { a: 0, b: -7, c: true, d: "" }).text, "0|-7|true|");
  });

  it("never reads a value as template text: placeholders, braces and markup in values stay as given", () => {
    const t: TemplateDefinition = {
      name: "t",
      variables: [required("a"), required("b")],
      bodies: {},
      fallback: body("[{{a}}] [{{b}}]"),
    };
    const values = { a: "{{b}}", b: "<script>alert(1)</script> & <%= process.env %> \\{{a}}" };
    assert.equal(
      renderTemplate(t, "email", values).text,
      "[{{b}}] [<script>alert(1)</script> & <%= process.env %> \\{{a}}]",
    );
  });

  it("refuses a missing required variable, naming it", () => {
    const error = failure(() => renderTemplate(pizza, "vk", { pizza: "Пепперони" }));
    assert.equal(error.code, "template_variable_missing");
    assert.deepEqual(error.params, { template: "base_template", variable: "name" });
    assert.match(error.message, /`name`/);
    assert.deepEqual(error.details, [
      { path: "data.name", code: "template_variable_missing", detail: error.message },
    ]);
    // undefined (possible only from code, not JSON) counts as not given.
    assert.equal(
      failure(() => renderTemplate(pizza, "vk", { name: undefined })).code,
      "template_variable_missing",
    );
  });

  it("refuses an undeclared variable rather than dropping it, naming it first when a name is misspelt", () => {
    const extra = failure(() => renderTemplate(pizza, "vk", { name: "Anna", size: "XL" }));
    assert.equal(extra.code, "template_variable_unknown");
    assert.deepEqual(extra.params, { template: "base_template", variable: "size" });
    assert.deepEqual(
      extra.details.map((d) => [d.path, d.code]),
      [["data.size", "template_variable_unknown"]],
    );

    const misspelt = failure(() => renderTemplate(pizza, "vk", { nmae: "Anna" }, { dataPath: "tmpl_data" }));
    assert.equal(misspelt.code, "template_variable_unknown");
    assert.deepEqual(
      misspelt.details.map((d) => [d.path, d.code]),
      [
        ["tmpl_data.nmae", "template_variable_unknown"],
        ["tmpl_data.name", "template_variable_missing"],
      ],
    );
    // Inherited names are not variables.
    const inherited = failure(() => renderTemplate(pizza, "vk", JSON.parse('{"name":"A","__proto__":"x"}')));
    assert.deepEqual(inherited.params, { template: "base_template", variable: "__proto__" });
  });

  it("refuses values that are not strings, numbers or booleans, naming the variable and the type", () => {
    const cases: [unknown, string][] = [
      [null, "null"],
      [{ first: "Anna" }, "object"],
      [["Anna"], "array"],
      [Number.NaN, "non-finite number"],
      [Number.POSITIVE_INFINITY, "non-finite number"],
    ];
    for (const [value, type] of cases) {
      const error = failure(() => renderTemplate(pizza, "vk", { name: value }));
      assert.equal(error.code, "template_variable_invalid", String(value));
      assert.deepEqual(error.params, { template: "base_template", variable: "name", type });
      assert.deepEqual(
        error.details.map((d) => d.path),
        ["data.name"],
      );
    }
  });

  it("checks the data against the declarations whatever the body uses", () => {
    // A required variable is required for every kind, also one whose body does not use it.
    const t: TemplateDefinition = {
      name: "t",
      variables: [required("code")],
      bodies: { vk: body("Код: {{code}}") },
      fallback: body("Ваш код отправлен"),
    };
    assert.equal(failure(() => renderTemplate(t, "ok", {})).code, "template_variable_missing");
    assert.equal(renderTemplate(t, "ok", { code: 1234 }).text, "Ваш код отправлен");
    assert.deepEqual([...resolveTemplateData(t, { code: 1234 })], [["code", "1234"]]);
  });

  it("refuses to fill a placeholder that no declaration covers in a template built without validation", () => {
    const t: TemplateDefinition = { name: "t", variables: [], bodies: {}, fallback: body("Hi {{name}}") };
    const error = failure(() => renderTemplate(t, "vk", {}));
    assert.equal(error.code, "template_invalid");
    assert.equal(error.details[0]?.code, "placeholder_undeclared");
  });
});

describe("template syntax", () => {
  it("reads placeholders with spaces inside the braces, any alphabet, and each name once", () => {
    assert.deepEqual(placeholdersOf("{{a}} {{ b }} {{a}} {{имя}} {{_x1}}"), ["a", "b", "имя", "_x1"]);
    assert.deepEqual(placeholdersOf("no placeholders, {single} braces, }} and \\ alone"), []);
  });

  it("reads \\{{ as a literal {{", () => {
    const t: TemplateDefinition = {
      name: "t",
      variables: [required("a")],
      bodies: {},
      fallback: body("\\{{a}} is written as {{a}}; {{a}}\\{{"),
    };
    validateTemplate(t);
    assert.equal(renderTemplate(t, "vk", { a: "X" }).text, "{{a}} is written as X; X{{");
    assert.deepEqual(placeholdersOf("\\{{not}}"), []);
  });

  it("refuses an unclosed {{ and a placeholder that holds no single name", () => {
    const cases: [string, string, RegExp][] = [
      ["Hi {{name", "placeholder_unclosed", /character 4/],
      ["Hi {{name}, your code", "placeholder_unclosed", /character 4/],
      ["Hi {{}}", "placeholder_malformed", /character 4/],
      ["Hi {{ first name }}", "placeholder_malformed", /first name/],
      ["Hi {{{name}}}", "placeholder_malformed", /character 4/],
      ["Hi {{name|upper}}", "placeholder_malformed", /name\|upper/],
      ["Hi {{#items}}x", "placeholder_malformed", /#items/],
      ["Hi {{1st}}", "placeholder_malformed", /1st/],
      ["Hi {{user.name}}", "placeholder_malformed", /user\.name/],
    ];
    for (const [text, code, detail] of cases) {
      const error = failure(() => placeholdersOf(text, "fallback.text"));
      assert.equal(error.code, "template_invalid", text);
      assert.deepEqual(
        error.details.map((d) => [d.path, d.code]),
        [["fallback.text", code]],
        text,
      );
      assert.match(error.details[0]?.detail ?? "", detail, text);
      assert.equal(error.status, 400);
    }
  });

  it("lists every problem of a template at once: each malformed placeholder and each undeclared name", () => {
    const error = failure(() =>
      validateTemplate({
        name: "t",
        variables: [{ name: "name", description: null, required: false, default: null }],
        bodies: { vk: { text: "{{#if vip}}Hi {{name}}, {{order}}{{/if}}", keyboard: null } },
        fallback: { text: "{{name", keyboard: null },
      }),
    );
    assert.deepEqual(
      error.details.map((d) => [d.path, d.code]),
      [
        ["bodies.vk.text", "placeholder_malformed"],
        ["bodies.vk.text", "placeholder_malformed"],
        ["bodies.vk.text", "placeholder_undeclared"],
        ["fallback.text", "placeholder_unclosed"],
      ],
    );
    assert.match(error.details[2]?.detail ?? "", /order/);
  });
});

describe("validateTemplate", () => {
  it("accepts a template whose every placeholder is declared", () => {
    validateTemplate(pizza);
  });

  it("lists every undeclared placeholder and syntax error of every body, with its path", () => {
    const error = failure(() =>
      validateTemplate({
        name: "t",
        variables: [required("name")],
        bodies: { vk: body("{{name}} {{order}}"), telegram: body("{{name"), ok: body("{{order}} {{sum}}") },
        fallback: body("{{ bad name }}"),
      }),
    );
    assert.equal(error.code, "template_invalid");
    assert.deepEqual(
      error.details.map((d) => [d.path, d.code]),
      [
        ["bodies.vk.text", "placeholder_undeclared"],
        ["bodies.telegram.text", "placeholder_unclosed"],
        ["bodies.ok.text", "placeholder_undeclared"],
        ["fallback.text", "placeholder_malformed"],
      ],
    );
    assert.match(error.details[0]?.detail ?? "", /`order`/);
    assert.match(error.details[2]?.detail ?? "", /`sum`/);
    assert.deepEqual(error.params, { reason: error.details[0]?.detail, path: "bodies.vk.text" });
  });

  it("refuses a template without any body", () => {
    const error = failure(() => validateTemplate({ name: "t", variables: [], bodies: {}, fallback: null }));
    assert.deepEqual(
      error.details.map((d) => [d.path, d.code]),
      [["bodies", "no_body"]],
    );
  });

  it("refuses bad, duplicate and contradictory declarations", () => {
    const error = failure(() =>
      validateTemplate({
        name: "t",
        variables: [required("a"), required("a"), required("a-b"), { ...required("c"), default: "x" }],
        bodies: {},
        fallback: body("{{a}}"),
      }),
    );
    assert.deepEqual(
      error.details.map((d) => [d.path, d.code]),
      [
        ["variables.1.name", "variable_duplicate"],
        ["variables.2.name", "variable_name_invalid"],
        ["variables.3.default", "required_with_default"],
      ],
    );
  });

  it("refuses placeholders in keyboards, which are sent as written", () => {
    const keyboard = {
      rows: [[{ type: "link", label: "Заказ {{order}}", url: "https://shop.example/{{order}}" }]],
    };
    const error = failure(() =>
      validateTemplate({
        name: "t",
        variables: [required("order")],
        bodies: { vk: body("{{order}}", keyboard) },
        fallback: null,
      }),
    );
    assert.deepEqual(
      error.details.map((d) => [d.path, d.code]),
      [
        ["bodies.vk.keyboard.rows.0.0.label", "placeholder_in_keyboard"],
        ["bodies.vk.keyboard.rows.0.0.url", "placeholder_in_keyboard"],
      ],
    );
  });
});
