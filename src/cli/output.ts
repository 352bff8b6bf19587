import { constants } from "node:os";
import { AppError, describeError } from "../errors/app-error.ts";
import type { ErrorCode } from "../errors/catalogue.ts";

const configurationCodes = new Set<ErrorCode>([
  "config_invalid",
  "config_file_unreadable",
  "secret_key_missing",
  "secret_key_file_unreadable",
  "previous_secret_key_missing",
  "store_secret_key_mismatch",
  "store_not_found",
  "store_newer_than_version",
]);

/**
 * Settings problems exit with 2, like a usage error; a command a signal stopped with 128 + the
 * signal's number, as a shell reports a command that a signal ended; everything else with 1.
 */
function exitCodeOf(error: AppError): number {
  if (error.code === "stopped_by_signal")
    return 128 + constants.signals[error.params.signal as NodeJS.Signals];
  return configurationCodes.has(error.code) ? 2 : 1;
}

export const say = (line: string) => process.stderr.write(`${line}\n`);

/** Ends a message with a full stop, so that " Remedy:" after it starts a sentence of its own. */
const sentence = (text: string) => (/[.!?…]$/.test(text) ? text : `${text}.`);

export function printJson(value: unknown) {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Prints a failure as one line with its code and remedy (never a stack trace, unless
 * SWITCHBOARD_DEBUG is set) and returns the exit code.
 */
export function reportFailure(error: unknown, json: boolean): number {
  if (error instanceof AppError) {
    const rendered = error.render("en", "cli");
    if (json) printJson({ error: rendered });
    else say(`error ${rendered.code}: ${sentence(rendered.message)} Remedy: ${rendered.remedy}`);
    return exitCodeOf(error);
  }
  const { message, remedy } = describeError("internal_error", "en", {}, "cli");
  const detail = error instanceof Error ? error.message : String(error);
  if (json) printJson({ error: { code: "internal_error", message, remedy, detail } });
  // What failed says more than "failed unexpectedly" to a person reading one line.
  else say(`error internal_error: ${sentence(detail)} Remedy: ${remedy}`);
  if (process.env.SWITCHBOARD_DEBUG) console.error(error);
  return 1;
}

/** Runs a command's body and turns any failure into a clean exit. */
export function action<A extends unknown[]>(body: (...args: A) => Promise<void>) {
  return async (...args: A) => {
    const options = args.findLast((arg) => typeof arg === "object" && arg !== null && !Array.isArray(arg)) as
      | { json?: boolean; opts?: () => Record<string, unknown> }
      | undefined;
    const json = Boolean(typeof options?.opts === "function" ? options.opts().json : options?.json);
    try {
      await body(...args);
    } catch (error) {
      process.exitCode = reportFailure(error, json);
    }
  };
}
