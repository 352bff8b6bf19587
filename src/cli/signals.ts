import { reportFailure, say } from "./output.ts";

/** A signal this long after the first means a person asking again: stop without waiting. */
const insistAfterMs = 2_000;

/**
 * Stops a running command cleanly on SIGTERM (a supervisor, `kill`) or SIGINT (Ctrl+C), then
 * exits. The same signal may come twice at once (Ctrl+C reaches both npm and the hub, and npm
 * forwards it too): that is one request. A signal that comes later, while the stop still runs,
 * exits at once.
 */
export function stopOnSignals(stop: () => Promise<void>) {
  let first: number | undefined;
  const onSignal = async (signal: NodeJS.Signals) => {
    if (first !== undefined) {
      if (Date.now() - first < insistAfterMs) return;
      say(`Received ${signal} again; exiting without waiting for the stop to finish.`);
      process.exit(1);
    }
    first = Date.now();
    say(`Received ${signal}; stopping…`);
    try {
      await stop();
      process.exit(0);
    } catch (error) {
      process.exit(reportFailure(error, false));
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}
