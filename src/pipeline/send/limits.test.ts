// The account's pace on a simulated clock: never more than N starts in any one-second window,
// a mean close to N, replies outside the notification limit, and the adapter's defaults overridden.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AccountPace, resolveLimits, SlidingWindow } from "./limits.ts";

/** Starts as many messages as the pace admits over `seconds`, with timers late by up to 3 ms. */
function simulate(pace: AccountPace, seconds: number, notification = true): number[] {
  const starts: number[] = [];
  let now = 0;
  let late = 0;
  while (now < seconds * 1000) {
    const wait = pace.waitMs(notification, now);
    if (wait > 0) {
      late = (late + 1.7) % 3;
      now += wait + late;
      continue;
    }
    pace.record(notification, now);
    starts.push(now);
  }
  return starts;
}

function largestInAnySecond(starts: number[]): number {
  let largest = 0;
  for (let lo = 0, hi = 0; hi < starts.length; hi += 1) {
    while ((starts[hi] as number) - (starts[lo] as number) >= 1000) lo += 1;
    largest = Math.max(largest, hi - lo + 1);
  }
  return largest;
}

const limits = {
  perSecond: 1000,
  notificationsPerSecond: 50,
  perRecipientPerDay: 5,
  minIntervalMs: 0,
  jitterMs: 0,
};

describe("sending limits", () => {
  it("admits at most N notifications in any second, evenly, at a mean close to N", () => {
    const starts = simulate(new AccountPace(limits), 60);
    assert.ok(largestInAnySecond(starts) <= 50, `largest ${largestInAnySecond(starts)}`);
    const mean = starts.length / 60;
    assert.ok(mean >= 48 && mean <= 50, `mean ${mean}`);
  });

  it("does not hold replies to the notification limit", () => {
    const starts = simulate(new AccountPace(limits), 2, false);
    assert.ok(starts.length > 500, `${starts.length} replies in 2 s`);
    assert.ok(largestInAnySecond(starts) <= 1000);
  });

  it("paces with a minimum interval plus random jitter when asked", () => {
    const pace = new AccountPace({ ...limits, minIntervalMs: 1000, jitterMs: 500 }, () => 0.5);
    pace.record(true, 0);
    assert.equal(pace.waitMs(true, 0), 1250);
    assert.equal(pace.waitMs(true, 1250), 0);
  });

  it("a sliding window never admits more than its limit, and admits again as the oldest leaves", () => {
    const window = new SlidingWindow(3, 1000);
    for (const at of [0, 10, 20]) {
      assert.equal(window.waitMs(at), 0);
      window.record(at);
    }
    assert.equal(window.waitMs(500), 500);
    assert.equal(window.waitMs(999), 1);
    assert.equal(window.waitMs(1000), 0);
    window.record(1000);
    assert.equal(window.waitMs(1005), 5, "the second start leaves the window at 1010");
  });

  it("takes the account's overrides over the platform's defaults, ignoring what it cannot read", () => {
    assert.deepEqual(resolveLimits(limits, { notifications_per_second: 10, per_recipient_per_day: 0 }), {
      ...limits,
      notificationsPerSecond: 10,
      perRecipientPerDay: 0,
    });
    assert.deepEqual(resolveLimits(limits, { per_second: "fast" }), limits);
  });
});
