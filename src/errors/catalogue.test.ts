import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AppError, describeError } from "./app-error.ts";
import {
  catalogue,
  type ErrorCode,
  errorClasses,
  type Language,
  type LocalizedText,
  languages,
} from "./catalogue.ts";
import { renderCatalogueMarkdown } from "./catalogue-doc.ts";

const codes = Object.keys(catalogue) as ErrorCode[];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") ? [path] : [];
  });
}

describe("error catalogue", () => {
  const sources = sourceFiles("src")
    .filter((path) => !path.endsWith(join("errors", "catalogue.ts")))
    .map((path) => ({ path, text: readFileSync(path, "utf8") }));

  it("has a well-formed entry for every code", () => {
    for (const code of codes) {
      const entry = catalogue[code];
      assert.match(code, /^[a-z][a-z0-9_]*$/, code);
      assert.ok(entry.status >= 400 && entry.status < 600, `${code} status`);
      assert.ok(errorClasses.includes(entry.class), `${code} class`);
      for (const language of ["en", "ru"] as const) {
        assert.ok(entry[language].message.length > 10, `${code} ${language} message`);
        assert.ok(entry[language].remedy.length > 10, `${code} ${language} remedy`);
      }
      assert.match(entry.ru.message + entry.ru.remedy, /[а-яё]/i, `${code} has Russian text`);
      // Both languages must take the same parameters.
      const params = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      assert.deepEqual(params(entry.ru.message), params(entry.en.message), `${code} message params`);
      if (entry.cli) {
        const { cli } = entry;
        const parts = (language: Language) => Object.keys(cli[language]).sort() as (keyof LocalizedText)[];
        assert.ok(parts("en").length > 0, `${code} has a CLI text`);
        assert.deepEqual(parts("ru"), parts("en"), `${code} has the same CLI texts in both languages`);
        assert.match(Object.values(cli.ru).join(" "), /[а-яё]/i, `${code} has Russian CLI text`);
        // The command's text is filled from the same parameters as the rest of the entry.
        const given = new Set(params(entry.en.message + entry.en.remedy));
        for (const language of languages) {
          for (const part of parts(language)) {
            const text = cli[language][part] as string;
            assert.ok(text.length > 10, `${code} ${language} CLI ${part}`);
            assert.notEqual(text, entry[language][part], `${code} ${language} CLI ${part} differs`);
            for (const name of params(text))
              assert.ok(
                given.has(name),
                `${code} ${language} CLI ${part} takes {${name}}, which the entry has not`,
              );
          }
        }
      }
    }
  });

  it("gives the switchboard command its own remedy where an entry has one, and the API's everywhere else", () => {
    const error = new AppError("workspace_not_found", { id: "xyz" });
    const api = error.render("en");
    const cli = error.render("en", "cli");
    assert.equal(cli.message, api.message);
    assert.match(api.remedy, /GET \/v1\/workspaces/);
    assert.match(cli.remedy, /^Check the id: `switchboard keys list`/);
    assert.doesNotMatch(cli.remedy, /\/v1\//);
    assert.match(error.render("ru", "cli").remedy, /^Проверьте идентификатор: `switchboard keys list`/);
    assert.deepEqual(describeError("workspace_not_found", "en", { id: "xyz" }, "cli"), {
      message: cli.message,
      remedy: cli.remedy,
    });
    // Without one of its own, the command prints the entry's remedy.
    const locked = new AppError("data_dir_locked", { path: "/d", pid: 1 });
    assert.deepEqual(locked.render("en", "cli"), locked.render("en"));
  });

  it("gives the switchboard command its own message where the API's speaks of the caller's workspace", () => {
    const unknownKey = new AppError("api_key_not_found", { id: "k1" });
    assert.equal(unknownKey.render("en").message, "No API key with id `k1` in this workspace.");
    assert.deepEqual(unknownKey.render("en", "cli"), {
      code: "api_key_not_found",
      message: "There is no API key with id `k1`.",
      remedy: "Check the id: `switchboard keys list` begins each key's line with its id.",
    });
    assert.equal(unknownKey.render("ru", "cli").message, "API-ключа с идентификатором `k1` нет.");
    // The error's own message, as logs show it, stays the API's.
    assert.equal(unknownKey.message, "No API key with id `k1` in this workspace.");
    // A command has no request to repeat and no request id to report.
    const crashed = describeError("internal_error", "en", {}, "cli");
    assert.equal(crashed.message, "The command failed unexpectedly.");
    assert.match(crashed.remedy, /SWITCHBOARD_DEBUG=1/);
    assert.doesNotMatch(crashed.remedy, /Idempotency-Key|request_id/);
  });

  it("names no API route and no caller's workspace in what the switchboard command prints for the codes it shares with the API", () => {
    for (const code of ["workspace_not_found", "api_key_not_found", "last_workspace_key"] as const) {
      for (const language of languages) {
        const { message, remedy } = describeError(code, language, { id: "x" }, "cli");
        assert.doesNotMatch(
          `${message} ${remedy}`,
          /\/v1\/|this workspace|этом рабочем пространстве/,
          `${code} ${language}`,
        );
      }
    }
  });

  it("knows every code the source raises", () => {
    const raised = new Set<string>();
    for (const { text } of sources) {
      for (const match of text.matchAll(/(?:new AppError|describeError)\(\s*"(\w+)"/g))
        raised.add(match[1] as string);
    }
    assert.ok(raised.size > 10);
    for (const code of raised)
      assert.ok(Object.hasOwn(catalogue, code), `${code} is raised but not catalogued`);
  });

  it("has no code that the source never uses", () => {
    const text = sources.map((s) => s.text).join("\n");
    const unused = codes.filter((code) => !text.includes(`"${code}"`));
    assert.deepEqual(unused, [], "catalogued but never used");
  });

  it("fills parameters and keeps unknown placeholders visible", () => {
    const error = new AppError("port_in_use", { port: 8080, host: "127.0.0.1" });
    assert.equal(error.render("en").message, "Port 8080 on 127.0.0.1 is already in use.");
    assert.equal(error.render("ru").message, "Порт 8080 на 127.0.0.1 уже занят.");
    assert.match(describeError("port_in_use", "en").message, /\{port\}/);
  });

  it("fills a parameter given in every language with the one of the answer", () => {
    const reason = { en: "10.0.0.5 is not a public address", ru: "10.0.0.5 — не публичный адрес" };
    const error = new AppError("webhook_url_refused", { url: "http://10.0.0.5/", reason });
    assert.equal(
      error.message,
      "The hub will not send requests to `http://10.0.0.5/`: 10.0.0.5 is not a public address.",
    );
    assert.equal(
      error.render("ru").message,
      "Хаб не будет отправлять запросы на `http://10.0.0.5/`: 10.0.0.5 — не публичный адрес.",
    );
  });

  it("reads a list parameter as alternatives in the answer's language, each value quoted", () => {
    const render = (ids: string[], language: "en" | "ru") =>
      new AppError("channel_not_found", { id: ids }).render(language).message;
    assert.equal(render(["a"], "en"), "No channel account with id `a` in this workspace.");
    assert.equal(render(["a", "b"], "en"), "No channel account with id `a` or `b` in this workspace.");
    assert.equal(
      render(["a", "b", "c"], "en"),
      "No channel account with id `a`, `b` or `c` in this workspace.",
    );
    assert.equal(
      render(["a"], "ru"),
      "В этом рабочем пространстве нет объекта «канал» с идентификатором `a`.",
    );
    assert.equal(
      render(["a", "b", "c"], "ru"),
      "В этом рабочем пространстве нет объекта «канал» с идентификатором `a`, `b` или `c`.",
    );
    // A single value is filled as before, and a list whose placeholder is not quoted is not quoted.
    assert.equal(
      new AppError("channel_not_found", { id: "a" }).message,
      "No channel account with id `a` in this workspace.",
    );
    assert.equal(
      new AppError("channel_kind_unsupported", { kind: ["vk", "ok"] }).message,
      "The hub cannot receive webhooks for vk or ok channels yet.",
    );
    // A channel named by its name (Devino's `service`) is told as a name, not as an id.
    const unnamed = new AppError("channel_name_not_found", { name: "Пиццерия", kind: ["vk", "ok"] });
    assert.equal(unnamed.message, "No vk or ok channel named `Пиццерия` in this workspace.");
    assert.equal(
      unnamed.render("ru").message,
      "В этом рабочем пространстве нет канала vk или ok с названием `Пиццерия`.",
    );
  });

  it("is documented in docs/errors.md exactly as generated (run `npm run docs`)", () => {
    assert.equal(readFileSync("docs/errors.md", "utf8"), renderCatalogueMarkdown());
  });
});
