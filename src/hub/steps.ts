/**
 * The steps of a start or of a command on the store, which a SIGINT or SIGTERM stops between,
 * never inside (src/cli/signals.ts): a new store's creation or a migration is finished, not cut.
 */
import { setImmediate as nextTurn } from "node:timers/promises";

/**
 * Ends a step: goes no further when `signal` has aborted. PGlite works without giving the event
 * loop a turn, so a signal that came during a step is only seen in the loop's next poll for I/O:
 * two turns make sure one has come.
 */
export async function endOfStep(signal: AbortSignal): Promise<void> {
  await nextTurn();
  await nextTurn();
  signal.throwIfAborted();
}

/**
 * For tests of a stop asked during `step`: with SWITCHBOARD_TEST_PAUSE set to its name, says so on
 * standard error and waits for SIGINT or SIGTERM before the step goes on, so that the signal comes
 * during the step for sure instead of within a window the test must hit.
 */
export async function pauseForTest(step: "migrating" | "checking the store"): Promise<void> {
  if (process.env.SWITCHBOARD_TEST_PAUSE !== step) return;
  process.stderr.write(`Paused before ${step} (SWITCHBOARD_TEST_PAUSE); waiting for SIGINT or SIGTERM.\n`);
  await new Promise<void>((resolve) => {
    // Listening for signals keeps no process alive, and nothing else may be under way.
    const alive = setInterval(() => {}, 60_000);
    const resume = () => {
      clearInterval(alive);
      process.off("SIGINT", resume);
      process.off("SIGTERM", resume);
      resolve();
    };
    process.on("SIGINT", resume);
    process.on("SIGTERM", resume);
  });
}
