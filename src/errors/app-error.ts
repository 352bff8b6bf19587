import { type CatalogueEntry, catalogue, type ErrorCode, type Language } from "./catalogue.ts";

/**
 * Who reads the error: a client of the API, or a person at the `switchboard` command, who gets
 * the entry's `cli` message and remedy where it has them.
 */
export type Audience = "api" | "cli";

/**
 * A parameter in each language, for a part of the text that is the hub's own words (why an address
 * is refused, say) rather than the caller's data: the answer takes the one of its language.
 */
export type Translated = Readonly<Record<Language, string>>;

/**
 * An error's parameters: caller's data (a string, a number), the hub's own words in each language
 * (`Translated`), or a list of values, which reads as alternatives in the answer's language:
 * "`a`, `b` or `c`" (no channel with id `a` or `b`), and as the value alone when it has one.
 */
export type ErrorParams = Record<string, string | number | Translated | readonly string[]>;

/** One failing field of a request, as amoCRM's `validation-errors` list them. */
export interface ErrorDetail {
  path: string;
  code: string;
  detail: string;
}

export interface RenderedError {
  code: ErrorCode;
  message: string;
  remedy: string;
  upstream_code?: string;
  details?: ErrorDetail[];
}

/**
 * The one exception type of the hub. Everything that fails on purpose throws this with a
 * catalogue code; anything else reaching the edge is an `internal_error`.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly params: ErrorParams;
  readonly details: ErrorDetail[];
  /** Seconds the caller should wait before retrying, sent as `Retry-After`. */
  readonly retryAfter: number | undefined;

  constructor(
    code: ErrorCode,
    params: ErrorParams = {},
    options: { details?: ErrorDetail[]; retryAfter?: number; cause?: unknown } = {},
  ) {
    super(fill(catalogue[code].en.message, params, "en"), { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.params = params;
    this.details = options.details ?? [];
    this.retryAfter = options.retryAfter;
  }

  get entry(): CatalogueEntry {
    return catalogue[this.code];
  }

  get status(): number {
    return this.entry.status;
  }

  render(language: Language, audience: Audience = "api"): RenderedError {
    const text = describeError(this.code, language, this.params, audience);
    return {
      code: this.code,
      ...text,
      ...(this.entry.upstream ? { upstream_code: this.entry.upstream } : {}),
      ...(this.details.length > 0 ? { details: this.details } : {}),
    };
  }
}

export function describeError(
  code: ErrorCode,
  language: Language,
  params: ErrorParams = {},
  audience: Audience = "api",
) {
  const entry = catalogue[code];
  const text = audience === "cli" ? { ...entry[language], ...entry.cli?.[language] } : entry[language];
  return { message: fill(text.message, params, language), remedy: fill(text.remedy, params, language) };
}

/** Fills `{name}` placeholders; a list's items each get the backticks around its placeholder. */
function fill(template: string, params: ErrorParams, language: Language): string {
  return template.replace(/(`?)\{(\w+)\}(`?)/g, (whole, open: string, name: string, close: string) => {
    if (!Object.hasOwn(params, name)) return whole;
    const value = params[name] as ErrorParams[string];
    if (isList(value)) {
      const quote = open && close ? "`" : "";
      return quote
        ? alternatives(
            value.map((item) => `${quote}${item}${quote}`),
            language,
          )
        : `${open}${alternatives(value, language)}${close}`;
    }
    return `${open}${typeof value === "object" ? value[language] : String(value)}${close}`;
  });
}

function isList(value: ErrorParams[string]): value is readonly string[] {
  return Array.isArray(value);
}

const or: Translated = { en: "or", ru: "или" };

/** "a", "a or b", "a, b or c" (no serial comma), in `language`. */
function alternatives(items: readonly string[], language: Language): string {
  if (items.length <= 1) return items.join("");
  return `${items.slice(0, -1).join(", ")} ${or[language]} ${items.at(-1)}`;
}
