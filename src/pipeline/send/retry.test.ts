import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AppError } from "../../errors/app-error.ts";
import { backoffMs, isPassing, type RetryClock, retrying } from "./retry.ts";

/** A clock that jumps instead of waiting, recording each wait. */
function fakeClock() {
  let now = 0;
  const waits: number[] = [];
  const clock: RetryClock = {
    now: () => now,
    sleep: async (ms) => {
      waits.push(ms);
      now += ms;
    },
  };
  return { clock, waits };
}

const vk = (
  code: "vk_internal_error" | "vk_flood_control" | "vk_too_many_requests" | "vk_messages_not_allowed",
) => new AppError(code, { vkCode: 0, vkMessage: "" }, code === "vk_flood_control" ? { retryAfter: 30 } : {});

describe("retrying passing failures", () => {
  it("tells passing failures from final ones", () => {
    assert.equal(isPassing(vk("vk_internal_error")), true);
    assert.equal(isPassing(new AppError("vk_captcha_needed", { vkCode: 14, vkMessage: "" })), true);
    assert.equal(isPassing(vk("vk_messages_not_allowed")), false);
    assert.equal(isPassing(new Error("boom")), false);
  });

  it("backs off exponentially with jitter, never below the platform's retryAfter", () => {
    const error = vk("vk_internal_error");
    assert.equal(
      backoffMs(1, error, () => 0.5),
      200,
    );
    assert.equal(
      backoffMs(2, error, () => 0.5),
      400,
    );
    assert.equal(
      backoffMs(10, error, () => 0.5),
      3_000,
    );
    assert.equal(
      backoffMs(1, error, () => 0),
      160,
    );
    assert.equal(
      backoffMs(1, new AppError("vk_too_many_requests", {}, { retryAfter: 1 }), () => 0.5),
      1_000,
    );
  });

  it("retries until success within the deadline", async () => {
    const { clock, waits } = fakeClock();
    let calls = 0;
    const result = await retrying(
      async () => {
        calls += 1;
        if (calls < 3) throw vk("vk_internal_error");
        return "sent";
      },
      15_000,
      clock,
    );
    assert.equal(result, "sent");
    assert.equal(waits.length, 2);
  });

  it("gives up with the last error when the next wait would pass the deadline", async () => {
    const { clock, waits } = fakeClock();
    let calls = 0;
    await assert.rejects(
      retrying(
        async () => {
          calls += 1;
          throw vk("vk_internal_error");
        },
        2_000,
        clock,
      ),
      (error: AppError) => error.code === "vk_internal_error",
    );
    assert.ok(waits.reduce((a, b) => a + b, 0) <= 2_000);
    assert.equal(calls, waits.length + 1);
    // A wait longer than the window (flood control: 30 s) is not even started.
    const flood = fakeClock();
    await assert.rejects(retrying(async () => Promise.reject(vk("vk_flood_control")), 15_000, flood.clock));
    assert.deepEqual(flood.waits, []);
  });

  it("throws final failures and crashes at once", async () => {
    const { clock, waits } = fakeClock();
    await assert.rejects(retrying(async () => Promise.reject(vk("vk_messages_not_allowed")), 15_000, clock));
    await assert.rejects(
      retrying(async () => Promise.reject(new Error("crash")), 15_000, clock),
      /crash/,
    );
    assert.deepEqual(waits, []);
  });
});
