/**
 * Retrying passing failures within a deadline: the cross-cutting behaviour that wraps an
 * adapter's calls from outside (adapters never retry). A failure is retried when its catalogue
 * class says a later attempt may succeed (`retryable`, `rate_limited`: VK 6, 9, 10, 29, network
 * errors, failed uploads), after an exponential back-off with jitter or the platform's
 * `retryAfter` when that is longer, and only while the wait still ends before the deadline.
 * Anything else, and anything that is not an AppError (a bug, a crash), is thrown at once.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { AppError } from "../../errors/app-error.ts";

export const retryDefaults = {
  /** The first back-off; it doubles with every attempt. */
  baseDelayMs: 200,
  maxDelayMs: 3_000,
} as const;

export interface RetryClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: RetryClock = {
  now: () => Date.now(),
  sleep: async (ms) => {
    await sleep(ms);
  },
};

/** Worth another attempt through the same channel later. */
export function isPassing(error: unknown): error is AppError {
  return (
    error instanceof AppError && (error.entry.class === "retryable" || error.entry.class === "rate_limited")
  );
}

/** The wait before attempt `attempt + 1` (attempt counts from 1) after `error`. */
export function backoffMs(attempt: number, error: AppError, random: () => number = Math.random): number {
  const exponential = Math.min(retryDefaults.maxDelayMs, retryDefaults.baseDelayMs * 2 ** (attempt - 1));
  const jittered = exponential * (0.8 + 0.4 * random());
  return Math.round(Math.max(jittered, (error.retryAfter ?? 0) * 1000));
}

/**
 * When a message the request gave up on is due again in the queue: after the platform's
 * `retryAfter`, or a few seconds.
 */
export function retryAfterMs(error: AppError): number {
  return Math.max(5_000, (error.retryAfter ?? 0) * 1000);
}

/**
 * Runs `attempt` until it succeeds, fails for good, or the next wait would end after `deadline`
 * (a time in `clock.now()` terms); then the last error is thrown.
 */
export async function retrying<T>(
  attempt: (n: number) => Promise<T>,
  deadline: number,
  clock: RetryClock = realClock,
): Promise<T> {
  for (let n = 1; ; n += 1) {
    try {
      return await attempt(n);
    } catch (error) {
      if (!isPassing(error)) throw error;
      const wait = backoffMs(n, error);
      if (clock.now() + wait > deadline) throw error;
      await clock.sleep(wait);
    }
  }
}
