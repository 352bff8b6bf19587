/**
 * Message templates: plain texts with `{{name}}` placeholders, filled from declared variables.
 *
 * Logic-less and safe by construction: the only syntax is `{{name}}` (spaces inside the braces
 * allowed) and `\{{` for a literal `{{`; there are no sections, helpers, partials or expressions,
 * so a template cannot run anything. Values are inserted as they are, in one pass, and never read
 * again as template text: a value containing `{{other}}` stays those characters. Nothing is
 * HTML-escaped, because every channel's message text is plain text (an e-mail body included).
 *
 * Exact beats silent: a body may only use declared variables (checked when the template is
 * saved), and rendering refuses a missing required variable, a variable the template does not
 * declare, and a value that is not a string, number or boolean, naming each.
 *
 * Pure: no I/O. The kind of a channel is a plain string here (`vk`, `telegram`, ...), and a
 * body's keyboard is passed through untouched (its type is the caller's).
 */
import { AppError, type ErrorDetail } from "../errors/app-error.ts";

export interface TemplateVariable {
  name: string;
  description: string | null;
  /** A required variable must be given; an optional one falls back to `default`. */
  required: boolean;
  /** The value of an optional variable that is not given ("" when null). Never set when required. */
  default: string | null;
}

export interface TemplateBody<K = unknown> {
  text: string;
  /** Sent as written: placeholders are filled in the text only. */
  keyboard: K | null;
}

export interface TemplateDefinition<K = unknown> {
  name: string;
  variables: readonly TemplateVariable[];
  /** A body per channel kind that has its own. */
  bodies: Readonly<Partial<Record<string, TemplateBody<K>>>>;
  /** The body of every kind without its own; null: those kinds cannot use the template. */
  fallback: TemplateBody<K> | null;
}

/** The variables' values of one message, as the API receives them (`data`, Devino's `tmpl_data`). */
export type TemplateData = Readonly<Record<string, unknown>>;

export interface RenderedTemplate<K = unknown> {
  text: string;
  keyboard: K | null;
  /** Whether the kind's own body or the fallback was used. */
  body: "own" | "fallback";
}

export interface RenderOptions {
  /** Where the data sits in the caller's request, for error details (`data.name`). Default `data`. */
  dataPath?: string;
}

/** Letters (any alphabet), digits and `_`, not starting with a digit: `name`, `order_id`, `имя`. */
export const variableNamePattern = /^[\p{L}_][\p{L}\p{N}_]*$/u;
export const maxVariableNameLength = 64;

type Token = { kind: "text"; value: string } | { kind: "variable"; name: string };

interface SyntaxProblem {
  code: "placeholder_unclosed" | "placeholder_malformed";
  detail: string;
}

/**
 * Splits a body's text into literal runs and placeholders. `{{` opens a placeholder that must be
 * closed by the next `}}` and hold one variable name; `\{{` is a literal `{{`. A `}}` outside a
 * placeholder, a single brace and a backslash anywhere else are ordinary characters. Every
 * malformed placeholder is reported, not just the first, so one answer lists all there is to fix.
 */
function tokenize(text: string): { tokens: Token[]; problems: SyntaxProblem[] } {
  const tokens: Token[] = [];
  const problems: SyntaxProblem[] = [];
  let literal = "";
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf("{{", at);
    if (open < 0) {
      literal += text.slice(at);
      break;
    }
    if (text[open - 1] === "\\") {
      literal += `${text.slice(at, open - 1)}{{`;
      at = open + 2;
      continue;
    }
    literal += text.slice(at, open);
    const close = text.indexOf("}}", open + 2);
    if (close < 0) {
      problems.push({
        code: "placeholder_unclosed",
        detail: `the \`{{\` at character ${open + 1} has no closing \`}}\``,
      });
      break;
    }
    const name = text.slice(open + 2, close).trim();
    at = close + 2;
    if (!variableNamePattern.test(name) || name.length > maxVariableNameLength) {
      const shown = text.slice(open, Math.min(close + 2, open + 40));
      problems.push({
        code: "placeholder_malformed",
        detail: `the placeholder at character ${open + 1} (${JSON.stringify(shown)}) must hold one variable name: letters, digits and _`,
      });
      continue;
    }
    if (literal) tokens.push({ kind: "text", value: literal });
    literal = "";
    tokens.push({ kind: "variable", name });
  }
  if (literal) tokens.push({ kind: "text", value: literal });
  return { tokens, problems };
}

/** The variable names a body's text uses, in order of first use; throws `template_invalid` on bad syntax. */
export function placeholdersOf(text: string, path = "text"): string[] {
  const { tokens, problems } = tokenize(text);
  if (problems.length > 0) throw invalid(problems.map((problem) => ({ path, ...problem })));
  return [...new Set(tokens.flatMap((t) => (t.kind === "variable" ? [t.name] : [])))];
}

/** The bodies of a template with their paths in the API (`bodies.vk`, `fallback`). */
function bodiesOf<K>(template: TemplateDefinition<K>): [string, TemplateBody<K>][] {
  const own = Object.entries(template.bodies).flatMap(([kind, body]) =>
    body ? [[`bodies.${kind}`, body] as [string, TemplateBody<K>]] : [],
  );
  return template.fallback ? [...own, ["fallback", template.fallback]] : own;
}

/**
 * Checks a template before it is stored: at least one body; well-formed, unique variable
 * declarations; every placeholder well-formed and declared; no placeholder in a keyboard (they
 * are not filled there). Throws `template_invalid` listing every problem in `details`.
 */
export function validateTemplate(template: TemplateDefinition): void {
  const problems: ErrorDetail[] = [];
  const declared = new Set<string>();
  template.variables.forEach((variable, index) => {
    const path = `variables.${index}`;
    if (!variableNamePattern.test(variable.name) || variable.name.length > maxVariableNameLength) {
      problems.push({
        path: `${path}.name`,
        code: "variable_name_invalid",
        detail: `\`${variable.name}\` is not a variable name: up to ${maxVariableNameLength} letters, digits and _, not starting with a digit`,
      });
    }
    if (declared.has(variable.name)) {
      problems.push({
        path: `${path}.name`,
        code: "variable_duplicate",
        detail: `the variable \`${variable.name}\` is declared twice`,
      });
    }
    declared.add(variable.name);
    if (variable.required && variable.default !== null) {
      problems.push({
        path: `${path}.default`,
        code: "required_with_default",
        detail: `the variable \`${variable.name}\` is required, so a default would never be used`,
      });
    }
  });
  const bodies = bodiesOf(template);
  if (bodies.length === 0) {
    problems.push({
      path: "bodies",
      code: "no_body",
      detail: "the template has no body: give `fallback`, a body for at least one channel kind, or both",
    });
  }
  for (const [path, body] of bodies) {
    const { tokens, problems: syntax } = tokenize(body.text);
    for (const problem of syntax) problems.push({ path: `${path}.text`, ...problem });
    for (const token of tokens) {
      if (token.kind !== "variable" || declared.has(token.name)) continue;
      problems.push({
        path: `${path}.text`,
        code: "placeholder_undeclared",
        detail: undeclared(token.name),
      });
      declared.add(token.name); // report each undeclared name once per template
    }
    for (const where of stringsWithBraces(body.keyboard, `${path}.keyboard`)) {
      problems.push({
        path: where,
        code: "placeholder_in_keyboard",
        detail: "placeholders are filled in the text only; keyboards are sent as written",
      });
    }
  }
  if (problems.length > 0) throw invalid(problems);
}

const undeclared = (name: string) =>
  `the text uses the variable \`${name}\`, which \`variables\` does not declare`;

function stringsWithBraces(value: unknown, path: string): string[] {
  if (typeof value === "string") return value.includes("{{") ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((item, i) => stringsWithBraces(item, `${path}.${i}`));
  if (value !== null && typeof value === "object") {
    return Object.entries(value).flatMap(([key, item]) => stringsWithBraces(item, `${path}.${key}`));
  }
  return [];
}

function invalid(problems: ErrorDetail[]): AppError {
  const first = problems[0] as ErrorDetail;
  return new AppError("template_invalid", { reason: first.detail, path: first.path }, { details: problems });
}

/** The body used for a channel kind: its own, else the fallback; undefined when neither exists. */
export function templateBodyFor<K>(
  template: TemplateDefinition<K>,
  kind: string,
): { body: TemplateBody<K>; source: "own" | "fallback" } | undefined {
  const own = Object.hasOwn(template.bodies, kind) ? template.bodies[kind] : undefined;
  if (own) return { body: own, source: "own" };
  return template.fallback ? { body: template.fallback, source: "fallback" } : undefined;
}

/**
 * Every variable's value as text: given values (strings as they are, numbers and booleans with
 * `String`), defaults for optional variables not given. Throws the first problem's code
 * (`template_variable_unknown`, `template_variable_invalid`, `template_variable_missing`, in that
 * order) with every problem in `details`. Independent of the channel kind, so a batch send can
 * check an item's data once before choosing its route.
 */
export function resolveTemplateData(
  template: TemplateDefinition,
  data: TemplateData | undefined,
  options: RenderOptions = {},
): Map<string, string> {
  const given = data ?? {};
  const declared = new Set(template.variables.map((v) => v.name));
  const values = new Map<string, string>();
  const problems: { code: DataErrorCode; variable: string; type?: string }[] = [];
  for (const [variable, value] of Object.entries(given)) {
    if (value === undefined) continue;
    if (!declared.has(variable)) problems.push({ code: "template_variable_unknown", variable });
    else if (isScalar(value)) values.set(variable, String(value));
    else problems.push({ code: "template_variable_invalid", variable, type: describeType(value) });
  }
  for (const variable of template.variables) {
    if (Object.hasOwn(given, variable.name) && given[variable.name] !== undefined) continue;
    if (variable.required) problems.push({ code: "template_variable_missing", variable: variable.name });
    else values.set(variable.name, variable.default ?? "");
  }
  if (problems.length === 0) return values;

  // Unknown names first (a misspelt key is the likeliest cause of a "missing" one), then bad values.
  problems.sort((a, b) => dataErrorOrder.indexOf(a.code) - dataErrorOrder.indexOf(b.code));
  const prefix = options.dataPath ?? "data";
  const errors = problems.map(
    ({ code, ...params }) => new AppError(code, { template: template.name, ...params }),
  );
  const details = errors.map((error, i) => ({
    path: `${prefix}.${problems[i]?.variable}`,
    code: error.code,
    detail: error.message,
  }));
  const top = errors[0] as AppError;
  throw new AppError(top.code, top.params, { details });
}

const dataErrorOrder = [
  "template_variable_unknown",
  "template_variable_invalid",
  "template_variable_missing",
] as const;
type DataErrorCode = (typeof dataErrorOrder)[number];

function isScalar(value: unknown): value is string | number | boolean {
  return (
    typeof value === "string" ||
    typeof value === "boolean" ||
    (typeof value === "number" && Number.isFinite(value))
  );
}

/** The JSON type of a value that cannot fill a placeholder. */
function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return "non-finite number";
  return typeof value;
}

/**
 * Renders a template for one channel kind: that kind's body or the fallback, its placeholders
 * filled from `data` (see `resolveTemplateData`). Throws `template_no_body` when the template has
 * neither body, and the data's errors otherwise.
 */
export function renderTemplate<K>(
  template: TemplateDefinition<K>,
  kind: string,
  data: TemplateData | undefined,
  options: RenderOptions = {},
): RenderedTemplate<K> {
  const chosen = templateBodyFor(template, kind);
  if (!chosen) throw new AppError("template_no_body", { template: template.name, kind });
  const values = resolveTemplateData(template, data, options);
  const { tokens, problems } = tokenize(chosen.body.text);
  // A stored template was validated when saved; this guards templates built elsewhere.
  if (problems.length > 0) throw invalid(problems.map((problem) => ({ path: "text", ...problem })));
  let text = "";
  for (const token of tokens) {
    if (token.kind === "text") {
      text += token.value;
      continue;
    }
    const value = values.get(token.name);
    if (value === undefined) {
      throw invalid([{ path: "text", code: "placeholder_undeclared", detail: undeclared(token.name) }]);
    }
    text += value;
  }
  return { text, keyboard: chosen.body.keyboard, body: chosen.source };
}
