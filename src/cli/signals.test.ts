import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { AppError } from "../errors/app-error.ts";
import { endOfStep } from "../hub/steps.ts";
import { runStoppable, stopRequests } from "./signals.ts";

const stopSignals = ["SIGINT", "SIGTERM"] as const;
const handlers = () => stopSignals.map((signal) => process.listenerCount(signal));

/** Lines the code under test says on standard error, kept from the test's output. */
function sayings(t: TestContext): string[] {
  const lines: string[] = [];
  t.mock.method(process.stderr, "write", (chunk: string) => {
    lines.push(chunk);
    return true;
  });
  return lines;
}

describe("stop signals", () => {
  it("take the first as a request to stop, the same again within 2 s as that request, and a later one as insisting", () => {
    let now = 1_000;
    const request = stopRequests(() => now);
    assert.equal(request(), "stop");
    now += 10;
    assert.equal(request(), "repeat", "Ctrl+C reaches both npm and the command, which npm forwards too");
    now += 1_980;
    assert.equal(request(), "repeat");
    now += 10;
    assert.equal(request(), "insist");
    assert.equal(request(), "insist");
  });

  it("stop a command between its steps, after the one it is in, with stopped_by_signal", async (t) => {
    const said = sayings(t);
    const before = handlers();
    const steps: string[] = [];
    const stopped = runStoppable(async (signal) => {
      steps.push("opened");
      await endOfStep(signal);
      // The signal comes during this step, which is finished all the same.
      process.emit("SIGTERM", "SIGTERM");
      process.emit("SIGTERM", "SIGTERM");
      steps.push("migrated");
      await endOfStep(signal);
      steps.push("changed");
    });
    await assert.rejects(
      stopped,
      (error) =>
        error instanceof AppError && error.code === "stopped_by_signal" && error.params.signal === "SIGTERM",
    );
    assert.deepEqual(steps, ["opened", "migrated"]);
    assert.deepEqual(
      said,
      ["Received SIGTERM; stopping after the current step…\n"],
      "the repeat says nothing",
    );
    assert.deepEqual(handlers(), before, "the signals have their defaults back");
  });

  it("let a command whose last step a signal comes during finish it, and end as it would have", async (t) => {
    const said = sayings(t);
    const before = handlers();
    const result = await runStoppable(async (signal) => {
      await endOfStep(signal);
      process.emit("SIGINT", "SIGINT");
      return "applied";
    });
    assert.equal(result, "applied");
    assert.deepEqual(said, ["Received SIGINT; stopping after the current step…\n"]);
    assert.deepEqual(handlers(), before);
  });

  it("leave the signals to their defaults again after a command that fails on its own", async () => {
    const before = handlers();
    await assert.rejects(
      runStoppable(async () => {
        throw new AppError("migrations_pending", { applied: 1, known: 2, pendingBreaking: 1 });
      }),
      (error) => error instanceof AppError && error.code === "migrations_pending",
    );
    assert.deepEqual(handlers(), before);
  });
});
