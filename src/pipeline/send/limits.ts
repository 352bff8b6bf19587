/**
 * How fast the dispatcher may send through one channel account. Three limits, each the answer to
 * a platform rule (defaults from the adapter, overrides in the account's `limits`):
 *
 * - `perSecond`: platform messages per second, every priority together (VK: 20 requests per
 *   token per second, so 20 × the community's tokens);
 * - `notificationsPerSecond`: of those, `notification` and `bulk` ones (VK: 50 per community);
 * - `perRecipientPerDay`: notifications and bulk to one client in any 24 hours (VK: 5; 0 = none);
 *   checked against the store, since it spans restarts;
 * - `minIntervalMs` + `jitterMs`: a pause between two sends, lengthened at random, for platforms
 *   that ban accounts sending in regular bursts (WhatsApp Web).
 *
 * Per-second limits are sliding windows over the start times of the last sends, not token
 * buckets: a bucket of N refills while it drains and lets almost 2N through some one-second
 * window, and the platform counts windows. A window never admits more than N in any second, and
 * admits the next send the moment the oldest leaves it, so utilisation stays close to N.
 */
import { z } from "zod";
import type { SendLimits } from "../../channels/adapter.ts";

/** The overrides an account may store in `limits`, by name as the API spells them. */
export const sendLimitFields = {
  per_second: z.number().int().min(1).max(100_000),
  notifications_per_second: z.number().int().min(1).max(100_000),
  per_recipient_per_day: z.number().int().min(0).max(100_000),
  min_interval_ms: z.number().int().min(0).max(3_600_000),
  jitter_ms: z.number().int().min(0).max(3_600_000),
};

const sendLimitsSchema = z.object(sendLimitFields).partial().strict();

/** The adapter's defaults with the account's overrides (as stored in `channel_account.limits`). */
export function resolveLimits(defaults: SendLimits, stored: Record<string, unknown>): SendLimits {
  const parsed = sendLimitsSchema.safeParse(stored);
  const override = parsed.success ? parsed.data : {};
  return {
    perSecond: override.per_second ?? defaults.perSecond,
    notificationsPerSecond: override.notifications_per_second ?? defaults.notificationsPerSecond,
    perRecipientPerDay: override.per_recipient_per_day ?? defaults.perRecipientPerDay,
    minIntervalMs: override.min_interval_ms ?? defaults.minIntervalMs,
    jitterMs: override.jitter_ms ?? defaults.jitterMs,
  };
}

/**
 * At most `limit` events in any window of `windowMs`. The window is a little longer than a
 * second by default: the platform counts arrivals, and a send that started inside one window
 * may arrive a few milliseconds into the next.
 */
export class SlidingWindow {
  readonly #starts: number[] = [];
  #head = 0;

  constructor(
    readonly limit: number,
    readonly windowMs = 1_000 + windowMarginMs,
  ) {}

  /** Milliseconds until one more event fits (0: now). */
  waitMs(now: number): number {
    this.#forget(now);
    if (this.#count() < this.limit) return 0;
    const oldest = this.#starts[this.#head] as number;
    return Math.max(1, oldest + this.windowMs - now);
  }

  record(now: number): void {
    this.#starts.push(now);
  }

  #count() {
    return this.#starts.length - this.#head;
  }

  #forget(now: number) {
    while (this.#head < this.#starts.length && (this.#starts[this.#head] as number) <= now - this.windowMs)
      this.#head += 1;
    // Compact now and then instead of shifting on every event.
    if (this.#head > 1024 && this.#head * 2 > this.#starts.length) {
      this.#starts.splice(0, this.#head);
      this.#head = 0;
    }
  }
}

/** How much longer than a second the per-second windows are (see SlidingWindow). */
const windowMarginMs = 20;

/** How early a start may come on its grid slot (see `AccountPace.record`). */
const slotTolerance = 5;

/** The per-second limits and pacing of one account, in the dispatcher's memory. */
export class AccountPace {
  readonly #all: SlidingWindow;
  readonly #notifications: SlidingWindow;
  #nextAllowedAt = 0;
  #nextAt = 0;
  #nextNotificationAt = 0;

  constructor(
    readonly limits: SendLimits,
    readonly random: () => number = Math.random,
  ) {
    this.#all = new SlidingWindow(limits.perSecond);
    this.#notifications = new SlidingWindow(limits.notificationsPerSecond);
  }

  /** Milliseconds until a message of this kind may start (0: now). */
  waitMs(notification: boolean, now: number): number {
    return Math.max(
      this.#all.waitMs(now),
      notification ? this.#notifications.waitMs(now) : 0,
      this.#nextAllowedAt - now,
      (notification ? this.#nextNotificationAt : 0) - now - slotTolerance,
      this.#nextAt - now - slotTolerance,
    );
  }

  /**
   * Counts a message that starts now. Besides the windows, starts are spread evenly on a grid of
   * one per 1/N s (a cell-rate schedule): a window alone admits N at once, and a burst that meets
   * network jitter on the way can land more than N in some second at the platform. A start a
   * little late keeps the grid, so timer delays do not pull the mean rate down.
   */
  record(notification: boolean, now: number): void {
    this.#all.record(now);
    this.#nextAt = Math.max(this.#nextAt, now) + 1000 / this.limits.perSecond;
    if (notification) {
      this.#notifications.record(now);
      this.#nextNotificationAt =
        Math.max(this.#nextNotificationAt, now) + 1000 / this.limits.notificationsPerSecond;
    }
    if (this.limits.minIntervalMs > 0 || this.limits.jitterMs > 0)
      this.#nextAllowedAt =
        now + this.limits.minIntervalMs + Math.round(this.random() * this.limits.jitterMs);
  }

  /**
   * How many messages the account can start within `ms` at its slowest rate (at least one): what
   * a dispatcher may take from the queue at once without making a reply queued behind them wait
   * longer than that.
   */
  admits(ms: number): number {
    const rate = Math.min(this.limits.perSecond, this.limits.notificationsPerSecond);
    return Math.max(1, Math.ceil((rate * ms) / 1000));
  }
}
