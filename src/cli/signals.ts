import { reportFailure, say } from "./output.ts";

/** A signal this long after the first means a person asking again: stop without waiting. */
const insistAfterMs = 2_000;

/**
 * Runs a command that keeps running (the hub, the sandbox) and stops it cleanly on SIGTERM (a
 * supervisor, `kill`) or SIGINT (Ctrl+C), whenever the signal comes, then exits 0. While `start`
 * runs, its `signal` aborts: `start` stops after the step it is in (a new store's creation or a
 * migration is finished, never cut), closes what it opened, the data directory's lock included,
 * and rejects with the signal's reason. Once started, `stop` takes down what `start` brought up.
 *
 * The same signal may come twice at once (Ctrl+C reaches both npm and the hub, and npm forwards it
 * too): that is one request. A signal that comes later, while the stop still runs, exits at once
 * with 1. Resolves with what `start` brought up; a start that fails on its own rejects as it did,
 * and leaves the signals to their defaults again.
 */
export async function runUntilSignal<T>(
  start: (signal: AbortSignal) => Promise<T>,
  stop: (running: T) => Promise<void>,
): Promise<T> {
  const abort = new AbortController();
  // Signals are handled between turns of the event loop: none can come before `starting` is set.
  const starting = start(abort.signal);
  let started = false;
  let first: number | undefined;
  const onSignal = async (signal: NodeJS.Signals) => {
    if (first !== undefined) {
      if (Date.now() - first < insistAfterMs) return;
      say(`Received ${signal} again; exiting without waiting for the stop to finish.`);
      process.exit(1);
    }
    first = Date.now();
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
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const stopping = () => new Promise<never>(() => {});
  let running: T;
  try {
    running = await starting;
  } catch (error) {
    // Asked to stop: the handler exits once the start has closed what it opened.
    if (abort.signal.aborted) return stopping();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    throw error;
  }
  started = true;
  // Started as the signal came: the handler stops it; the command must not say it runs.
  if (abort.signal.aborted) return stopping();
  return running;
}
