import {
  type CatalogueEntry,
  catalogue,
  type ErrorCode,
  errorClasses,
  type Language,
  type LocalizedText,
} from "./catalogue.ts";

const classMeaning: Record<(typeof errorClasses)[number], string> = {
  invalid_input: "the request or setting is wrong; fix it before repeating",
  auth: "a credential is missing, wrong or not allowed to do this: the caller's API key, or a channel's platform token",
  not_found: "the id does not exist in the caller's workspace",
  conflict: "the request clashes with the current state",
  rate_limited: "too many requests; wait for `Retry-After`",
  policy: "a platform or business rule forbids it",
  retryable: "a passing failure; the same request may succeed later",
  terminal: "will not succeed by repeating; something must change first",
};

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

const fromCommand: Record<Language, string> = {
  en: "*From the `switchboard` command:*",
  ru: "*В команде `switchboard`:*",
};

/** The API's text, then the one the `switchboard` command prints instead, if it has its own. */
const textCell = (entry: CatalogueEntry, language: Language, part: keyof LocalizedText) => {
  const own = entry.cli?.[language][part];
  return cell(entry[language][part]) + (own ? ` ${fromCommand[language]} ${cell(own)}` : "");
};

/** docs/errors.md, generated from the catalogue; a test keeps the committed file in sync. */
export function renderCatalogueMarkdown(): string {
  const lines = [
    "# Error catalogue",
    "",
    "<!-- Generated from src/errors/catalogue.ts by `npm run docs`. Do not edit by hand. -->",
    "",
    "Every error the hub returns or prints has a stable `code` from this list. API answers carry it in one shape:",
    "",
    "```json",
    '{"error": {"code": "validation_failed", "message": "…", "remedy": "…", "request_id": "…",',
    '           "details": [{"path": "identities.0.external_id", "code": "too_small", "detail": "…"}]}}',
    "```",
    "",
    "`details` lists each failing field of a request (body fields by their path, others prefixed `query.`, `path.` or `header.`).",
    "`upstream_code` appears when the error mirrors a platform's own code. Send `Accept-Language: ru` for the Russian texts.",
    "`GET /v1/errors` returns this catalogue as JSON.",
    "The `switchboard` command prints failures as `error <code>: <message> Remedy: <remedy>`; where the API's text does not fit the command (a remedy naming routes, a message about the caller's workspace), the command prints its own, shown after the API's.",
    "",
    "## Classes",
    "",
    "| class | meaning |",
    "| --- | --- |",
    ...errorClasses.map((c) => `| \`${c}\` | ${classMeaning[c]} |`),
    "",
    "## Codes",
    "",
    "| code | HTTP | class | upstream | message | remedy |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  const codes = (Object.keys(catalogue) as ErrorCode[]).sort();
  for (const code of codes) {
    const e = catalogue[code];
    lines.push(
      `| \`${code}\` | ${e.status} | ${e.class} | ${e.upstream ?? ""} | ${textCell(e, "en", "message")} | ${textCell(e, "en", "remedy")} |`,
    );
  }
  lines.push("", "## Коды (по-русски)", "", "| код | сообщение | что сделать |", "| --- | --- | --- |");
  for (const code of codes) {
    const e = catalogue[code];
    lines.push(`| \`${code}\` | ${textCell(e, "ru", "message")} | ${textCell(e, "ru", "remedy")} |`);
  }
  return `${lines.join("\n")}\n`;
}
