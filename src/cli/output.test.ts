import assert from "node:assert/strict";
import { describe, it, type TestContext } from "node:test";
import { AppError } from "../errors/app-error.ts";
import { reportFailure } from "./output.ts";

/** What `report` writes to standard error and standard output, and the exit code it returns. */
function printed(t: TestContext, report: () => number) {
  const written = { stderr: "", stdout: "" };
  for (const stream of ["stderr", "stdout"] as const)
    t.mock.method(process[stream], "write", (chunk: string) => {
      written[stream] += chunk;
      return true;
    });
  const code = report();
  t.mock.restoreAll();
  return { code, ...written };
}

describe("a failure the switchboard command reports", () => {
  it("is one line with the command's own message and remedy, or JSON", (t) => {
    const unknownKey = new AppError("api_key_not_found", { id: "k1" });
    assert.deepEqual(
      printed(t, () => reportFailure(unknownKey, false)),
      {
        code: 1,
        stderr:
          "error api_key_not_found: There is no API key with id `k1`. Remedy: Check the id: `switchboard keys list` begins each key's line with its id.\n",
        stdout: "",
      },
    );
    const json = printed(t, () => reportFailure(unknownKey, true));
    assert.equal(json.stderr, "");
    assert.deepEqual(JSON.parse(json.stdout), { error: unknownKey.render("en", "cli") });
  });

  it("ends a message that ends with an upstream reason with a full stop before the remedy", (t) => {
    const unreachable = new AppError("database_unreachable", {
      target: "postgres://u@db:5432/x",
      reason: "connect ECONNREFUSED 10.0.0.5:5432",
    });
    assert.match(
      printed(t, () => reportFailure(unreachable, false)).stderr,
      /^error database_unreachable: The database at postgres:\/\/u@db:5432\/x cannot be reached: connect ECONNREFUSED 10\.0\.0\.5:5432\. Remedy: Check that PostgreSQL is running/,
    );
    const reasonWithStop = new AppError("config_file_unreadable", { path: "a.json", reason: "it is empty." });
    assert.match(printed(t, () => reportFailure(reasonWithStop, false)).stderr, /it is empty\. Remedy: /);
  });

  it("exits a command stopped by a signal as a shell reports one a signal ended", (t) => {
    for (const [signal, code] of [
      ["SIGINT", 130],
      ["SIGTERM", 143],
    ] as const) {
      const stopped = printed(t, () => reportFailure(new AppError("stopped_by_signal", { signal }), false));
      assert.equal(stopped.code, code);
      assert.equal(
        stopped.stderr,
        `error stopped_by_signal: Stopped by ${signal} before the command finished: the step under way was completed, nothing after it was done, and the store is closed. Remedy: Run the command again to finish it: one that changes the store goes on from what the store holds now; one that only reads it (doctor) starts over.\n`,
      );
    }
  });

  it("tells an unexpected failure by what failed, with the command's remedy, and no stack", (t) => {
    const line = printed(t, () => reportFailure(new Error("the disk said no"), false));
    assert.equal(line.code, 1);
    assert.equal(
      line.stderr,
      "error internal_error: the disk said no. Remedy: Run it again with SWITCHBOARD_DEBUG=1 set, which also prints where it failed, and report that output with the command to Switchboard's developers.\n",
    );
    const json = JSON.parse(printed(t, () => reportFailure(new Error("the disk said no"), true)).stdout);
    assert.equal(json.error.message, "The command failed unexpectedly.");
    assert.equal(json.error.detail, "the disk said no");
  });
});
