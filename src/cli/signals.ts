import { AppError } from "../errors/app-error.ts";
import { reportFailure, say } from "./output.ts";

/** A signal this long after the first means a person asking again: stop without waiting. */
const insistAfterMs = 2_000;

type StopSignal = "SIGINT" | "SIGTERM";

/**
 * What each SIGINT or SIGTERM asks, by when it comes: the first, to stop cleanly; the same again
 * within 2 s is that one request (Ctrl+C reaches both npm and the command, and npm forwards it
 * too); one later is a person insisting, who is not kept waiting.
 */
export function stopRequests(now: () => number = Date.now): () => "stop" | "repeat" | "insist" {
  let first: number | undefined;
  return () => {
    if (first === undefined) {
      first = now();
      return "stop";
    }
    return now() - first < insistAfterMs ? "repeat" : "insist";
  };
}

/**
 * Calls `stop` on the first SIGINT or SIGTERM, and exits at once with 1 when a person insists (the
 * data directory's lock file is removed even then, see store/data-dir-lock.ts). Returns what gives
 * the signals their defaults back.
 */
function onStopSignals(stop: (signal: StopSignal) => void): () => void {
  const request = stopRequests();
  const handle = (signal: StopSignal) => {
    const asked = request();
    if (asked === "repeat") return;
    if (asked === "insist") {
      say(`Received ${signal} again; exiting without waiting for the stop to finish.`);
      process.exit(1);
    }
    stop(signal);
  };
  process.on("SIGINT", handle);
  process.on("SIGTERM", handle);
  return () => {
    process.off("SIGINT", handle);
    process.off("SIGTERM", handle);
  };
}

/**
 * Runs a command that keeps running (the hub, the sandbox) and stops it cleanly on SIGTERM (a
 * supervisor, `kill`) or SIGINT (Ctrl+C), whenever the signal comes, then exits 0. While `start`
 * runs, its `signal` aborts: `start` stops after the step it is in (a new store's creation or a
 * migration is finished, never cut), closes what it opened, the data directory's lock included,
 * and rejects with the signal's reason. Once started, `stop` takes down what `start` brought up.
 * Resolves with what `start` brought up; a start that fails on its own rejects as it did, and
 * leaves the signals to their defaults again.
 */
export async function runUntilSignal<T>(
  start: (signal: AbortSignal) => Promise<T>,
  stop: (running: T) => Promise<void>,
): Promise<T> {
  const abort = new AbortController();
  // Signals are handled between turns of the event loop: none can come before `starting` is set.
  const starting = start(abort.signal);
  let started = false;
  const signalsBack = onStopSignals(async (signal) => {
    say(
      started
        ? `Received ${signal}; stopping…`
        : `Received ${signal} while starting; stopping after the current step…`,
    );
    abort.abort(new Error(`asked by ${signal} to stop while starting`));
    try {
      const outcome = await starting.then(
        (running) => ({ running }),
        (error: unknown) => ({ error }),
      );
      if (!("error" in outcome)) await stop(outcome.running);
      // A start that failed on its own, not because it was asked to stop, says why.
      else if (outcome.error !== abort.signal.reason) process.exit(reportFailure(outcome.error, false));
      process.exit(0);
    } catch (error) {
      process.exit(reportFailure(error, false));
    }
  });
  const stopping = () => new Promise<never>(() => {});
  let running: T;
  try {
    running = await starting;
  } catch (error) {
    // Asked to stop: the handler exits once the start has closed what it opened.
    if (abort.signal.aborted) return stopping();
    signalsBack();
    throw error;
  }
  started = true;
  // Started as the signal came: the handler stops it; the command must not say it runs.
  if (abort.signal.aborted) return stopping();
  return running;
}

/**
 * Runs a command that ends by itself (migrate, keys, secrets, doctor) so that SIGTERM or SIGINT
 * stops it cleanly, where being killed could leave the data directory's lock behind or cut a
 * migration.
 * `work`'s signal aborts on the first: `work` finishes the step it is in, goes no further
 * (`endOfStep` between its steps, src/hub/steps.ts) and closes what it opened as it unwinds; it
 * then rejects with `stopped_by_signal`, which the command exits with 128 + the signal's number,
 * as a shell reports a command a signal ended (130 for SIGINT, 143 for SIGTERM). A signal during
 * its last step lets that step finish, and the command ends as it would have. A wait for another
 * process's migration is no step of its own: it ends at once (see migrateStore).
 */
export async function runStoppable<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const signalsBack = onStopSignals((signal) => {
    say(`Received ${signal}; stopping after the current step…`);
    abort.abort(new AppError("stopped_by_signal", { signal }));
  });
  try {
    return await work(abort.signal);
  } finally {
    signalsBack();
  }
}
