import assert from "node:assert/strict";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import { join } from "node:path";
import { describe, it } from "node:test";
import pino from "pino";
import { scratchDir } from "../testing/scratch-dir.ts";
import { askHub, controlSocketPath, type HubDiagnosis, openControlSocket } from "./control-socket.ts";

const silent = pino({ level: "silent" });
const diagnosis: HubDiagnosis = {
  pid: 4242,
  url: "http://127.0.0.1:8080",
  checks: [{ check: "channels", ok: true, detail: "none connected yet" }],
};

describe("control socket", () => {
  it("answers doctor's question with the hub's diagnosis, and is its owner's alone", async () => {
    const dataDir = scratchDir("sb-control-");
    // A dead hub's socket file: the new hub holds the lock, so it is replaced.
    writeFileSync(controlSocketPath(dataDir), "left by a hub that was killed");
    const socket = await openControlSocket(dataDir, async () => diagnosis, silent);
    assert.ok(socket);
    try {
      assert.equal(statSync(socket.path).mode & 0o777, 0o600);
      assert.ok(statSync(socket.path).isSocket());
      assert.deepEqual(await askHub(dataDir, 2_000), diagnosis);
      assert.deepEqual(await raw(socket.path, "POST", "/diagnosis"), {
        status: 404,
        body: '{"error":"unknown request"}',
      });
      assert.equal((await raw(socket.path, "GET", "/elsewhere")).status, 404);
    } finally {
      await socket.close();
    }
    assert.equal(existsSync(controlSocketPath(dataDir)), false, "closing removes the socket");
    await assert.rejects(
      askHub(dataDir, 2_000),
      /nothing answers at its control socket .*hub\.sock \(a hub opens it once its store is ready/,
    );
  });

  it("passes on a failed diagnosis, and gives up on a hub that does not answer in time", async () => {
    const dataDir = scratchDir("sb-control-");
    let answer: () => Promise<HubDiagnosis> = () => Promise.reject(new Error("the store is closed"));
    const socket = await openControlSocket(dataDir, () => answer(), silent);
    assert.ok(socket);
    try {
      await assert.rejects(askHub(dataDir, 2_000), /^Error: the hub answered 500: the store is closed$/);
      answer = () => new Promise(() => {});
      await assert.rejects(askHub(dataDir, 200), /^Error: no answer in 0\.2 s$/);
    } finally {
      await socket.close();
    }
  });

  it("says so when something other than a hub answers at the socket", async () => {
    const dataDir = scratchDir("sb-control-");
    const stranger = createServer((_req, res) => res.end("hello"));
    await new Promise<void>((done) => stranger.listen(controlSocketPath(dataDir), done));
    try {
      await assert.rejects(
        askHub(dataDir, 2_000),
        /^Error: the hub answered 200 with something other than JSON$/,
      );
    } finally {
      stranger.close();
    }
  });

  it("opens none, and warns, where the path is too long for a socket or a socket cannot be made", async () => {
    const warnings: string[] = [];
    const logger = pino({ level: "warn" }, { write: (line: string) => warnings.push(JSON.parse(line).msg) });
    const long = join(scratchDir("sb-control-"), "d".repeat(100));
    mkdirSync(long);
    assert.equal(await openControlSocket(long, async () => diagnosis, logger), undefined);
    assert.equal(existsSync(controlSocketPath(long)), false);
    // Something that is not a dead hub's socket stands in its place: the hub starts without one.
    const taken = scratchDir("sb-control-");
    mkdirSync(join(controlSocketPath(taken), "inside"), { recursive: true });
    assert.equal(await openControlSocket(taken, async () => diagnosis, logger), undefined);
    assert.deepEqual(warnings, [
      "the data directory's path is too long for the control socket: doctor cannot ask this hub about its channels",
      "the control socket cannot be opened: doctor cannot ask this hub about its channels",
    ]);
  });
});

/** One request as any client of the socket could make it. */
function raw(socketPath: string, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const asking = request({ socketPath, method, path, agent: false }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => {
        body += chunk.toString("utf8");
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    asking.on("error", reject);
    asking.end();
  });
}
