import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { sql } from "drizzle-orm";
import pg from "pg";
import { bootstrapLock } from "../hub/open-store.ts";
import { openStore } from "../store/database.ts";
import { knownMigrations, migrationLock, migrationStatus } from "../store/migrations.ts";
import { createChannelAccount } from "../store/repositories/channel-accounts.ts";
import { createWorkspace, oldestWorkspace } from "../store/repositories/workspaces.ts";
import { webhookEndpoint } from "../store/schema.ts";
import { SecretBox } from "../store/secret-box.ts";
import { scratchDir } from "../testing/scratch-dir.ts";
import { createScratchDatabase, serverUrl } from "../testing/stores.ts";

/** A child process's output so far, and a way to wait for a line in it. */
interface Watched {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /**
   * Resolves with the match once standard error (or `stream`) matches `pattern`; rejects if the
   * process ends first.
   */
  until(pattern: RegExp, stream?: "stdout" | "stderr"): Promise<RegExpExecArray>;
  /** The exit code, once the process has ended and its output is read. */
  exited: Promise<number>;
}

function watch(child: ChildProcess, name = "the command"): Watched {
  let stdout = "";
  let stderr = "";
  const waiters = new Set<() => void>();
  child.stdout?.on("data", (chunk) => {
    stdout += chunk;
    for (const check of waiters) check();
  });
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
    for (const check of waiters) check();
  });
  const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    until(pattern, stream = "stderr") {
      const output = () => (stream === "stdout" ? stdout : stderr);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => settle(new Error(`${name} did not print ${pattern} in time: ${stderr}`)),
          60_000,
        );
        const settle = (outcome: RegExpExecArray | Error) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (outcome instanceof Error) reject(outcome);
          else resolve(outcome);
        };
        const check = () => {
          const match = pattern.exec(output());
          if (match) settle(match);
        };
        waiters.add(check);
        check();
        exited.then((code) =>
          settle(new Error(`${name} exited with ${code} before printing ${pattern}: ${stderr}`)),
        );
      });
    },
  };
}

/** Starts the real `switchboard` command, through tsx as bin/switchboard.js runs it. */
function launch(args: string[], env: Record<string, string> = {}): Watched {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    env: { ...cleanEnv(), ...env },
  });
  return watch(child, `switchboard ${args[0]}`);
}

/** Runs the real `switchboard` command to its end. */
async function run(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const command = launch(args, env);
  const code = await command.exited;
  return { code, stdout: command.stdout(), stderr: command.stderr() };
}

function cleanEnv() {
  const env = { ...process.env };
  for (const name of Object.keys(env))
    if (name.startsWith("SWITCHBOARD_") || name === "DATABASE_URL") delete env[name];
  return env;
}

/** Starts the hub and resolves once it prints where it listens. */
async function startHub(args: string[]): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const hub = launch(["start", "--port", "0", ...args], { SWITCHBOARD_LOG_LEVEL: "warn" });
  const [, url] = await hub.until(/running at (http:\/\/\S+) /);
  return { child: hub.child, url: url as string, stderr: hub.stderr };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.on("close", () => resolve());
    child.kill("SIGTERM");
  });
}

/** A port free at the time of asking, for commands that must know their port before they start. */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A port held by this process until `server.close()`. */
async function holdPort(): Promise<{ server: ReturnType<typeof createServer>; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as { port: number }).port };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const tempDir = () => scratchDir("sb-cli-");

/**
 * The data directory that `switchboard migrate` makes on a new directory: a store migrated and
 * never started (no workspace, no key yet). Made once, when a test first needs it, because a new
 * embedded store costs PGlite some 5 s of CPU; `storeCopy` gives each test a copy of its own
 * (a PGlite directory that no process has open may be copied).
 */
let template: Promise<{ dir: string; code: number; stdout: string; stderr: string }> | undefined;
const migratedTemplate = () => {
  template ??= (async () => {
    const dir = join(tempDir(), "template");
    return { dir, ...(await run(["migrate", "--data-dir", dir, "--json"])) };
  })();
  return template;
};
async function storeCopy(): Promise<string> {
  const made = await migratedTemplate();
  assert.equal(made.code, 0, `switchboard migrate made no store to copy: ${made.stderr}`);
  return copyOf(made.dir);
}

/** A store initialised and never migrated, as an earlier version's doctor left one: made once. */
let husk: Promise<string> | undefined;
async function huskCopy(): Promise<string> {
  husk ??= (async () => {
    const dir = join(tempDir(), "husk");
    await (await openStore({ mode: "embedded", dataDir: dir })).close();
    return dir;
  })();
  return copyOf(await husk);
}

function copyOf(template: string): string {
  const dir = tempDir();
  cpSync(template, dir, { recursive: true });
  return dir;
}

const noStackTrace = (text: string) => assert.doesNotMatch(text, /^\s+at /m, text);

// The cases are independent (own data dirs, port 0), so they run side by side. The longest come
// first: four at a time on two cores, the run ends when the last long one does.
const needsServer = { skip: serverUrl ? false : "SWITCHBOARD_TEST_DATABASE_URL is not set" };

/** A new PostgreSQL database, and the settings that point a command at it. */
async function scratchServerStore() {
  const scratch = await createScratchDatabase(serverUrl as string);
  const env = { DATABASE_URL: scratch.url, SWITCHBOARD_SECRET_KEY: Buffer.alloc(32, 1).toString("base64") };
  return { scratch, env };
}

describe("switchboard command", { concurrency: 4 }, () => {
  const children: ChildProcess[] = [];
  after(async () => {
    for (const child of children) await stop(child);
  });

  it("migrates a new store, which doctor then finds sound", async () => {
    // The migration is the template's: this test checks what it printed, then works on a copy.
    const made = await migratedTemplate();
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stderr, /Initialising the embedded store/);
    const migrated = JSON.parse(made.stdout);
    assert.equal(migrated.applied, migrated.known);
    const doctor = await run(["doctor", "--data-dir", await storeCopy()]);
    assert.equal(doctor.code, 0, doctor.stdout);
    for (const check of ["configuration", "disk space", "database", "migrations", "channels"]) {
      assert.match(doctor.stdout, new RegExp(`^OK\\s+${check}:`, "m"));
    }
  });

  /** `keys create --name crm` on a copy of the migrated template, as JSON. */
  const createCrmKey = async (dataDir: string) => {
    const created = await run(["keys", "create", "--name", "crm", "--data-dir", dataDir, "--json"]);
    assert.equal(created.code, 0, created.stderr);
    return { key: JSON.parse(created.stdout), stderr: created.stderr };
  };

  it("creates and lists keys in a migrated store, and says an unknown workspace in one line", async () => {
    const dataDir = await storeCopy();
    const { key, stderr } = await createCrmKey(dataDir);
    assert.match(key.key, /^sbk_/);
    assert.equal(key.name, "crm");
    assert.equal(key.admin, false);
    // The first use of a store no hub has bootstrapped also created the default admin key.
    assert.match(stderr, /admin API key/);

    const listed = JSON.parse((await run(["keys", "list", "--data-dir", dataDir, "--json"])).stdout);
    assert.equal(listed.length, 2);
    assert.ok(listed.every((k: Record<string, unknown>) => !("key" in k) && !("hash" in k)));
    const ofWorkspace = await run(["keys", "list", "--data-dir", dataDir, "--workspace", key.workspace_id]);
    assert.equal(ofWorkspace.stdout.trim().split("\n").length, 2, ofWorkspace.stdout);
    // An id that is not an id, or no workspace's, is said so in one line (not an SQL error, not an empty list).
    for (const id of ["xyz", "0193a5b0-0000-7000-8000-000000000000"]) {
      const notFound = await run(["keys", "list", "--data-dir", dataDir, "--workspace", id]);
      assert.equal(notFound.code, 1);
      // The remedy is the command's: where to find a workspace's id from here, not through the API.
      assert.match(
        notFound.stderr,
        new RegExp(
          `^error workspace_not_found: There is no workspace with id \`${id}\`\\. Remedy: Check the id: \`switchboard keys list\` ends each key's line with the id of its workspace\\. [^\\n]*\\n$`,
        ),
      );
      assert.doesNotMatch(notFound.stderr, /\/v1\//);
    }
  });

  it("revokes a key, says so when it was revoked before, and keeps the last admin key", async () => {
    const dataDir = await storeCopy();
    const { key } = await createCrmKey(dataDir);
    const revoked = await run(["keys", "revoke", key.id, "--data-dir", dataDir, "--json"]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const revokedAt = JSON.parse(revoked.stdout).revoked_at;
    assert.ok(revokedAt);
    assert.equal(JSON.parse(revoked.stdout).already_revoked, false);
    // Again: nothing changes, it succeeds as the API's revoke does, and says so.
    const again = await run(["keys", "revoke", key.id, "--data-dir", dataDir]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stderr, `Key ${key.id} "crm" was already revoked at ${revokedAt}; nothing changed.\n`);
    const againAsJson = await run(["keys", "revoke", key.id, "--data-dir", dataDir, "--json"]);
    assert.equal(againAsJson.code, 0, againAsJson.stderr);
    assert.deepEqual(JSON.parse(againAsJson.stdout), {
      ...JSON.parse(revoked.stdout),
      already_revoked: true,
    });

    // The command looks in the whole store: its message speaks of no workspace.
    const unknownId = "0193a5b0-0000-7000-8000-000000000000";
    const unknown = await run(["keys", "revoke", unknownId, "--data-dir", dataDir]);
    assert.equal(unknown.code, 1);
    assert.equal(
      unknown.stderr,
      `error api_key_not_found: There is no API key with id \`${unknownId}\`. Remedy: Check the id: \`switchboard keys list\` begins each key's line with its id.\n`,
    );

    const listed = JSON.parse((await run(["keys", "list", "--data-dir", dataDir, "--json"])).stdout);
    const admin = listed.find((k: { admin: boolean }) => k.admin);
    const last = await run(["keys", "revoke", admin.id, "--data-dir", dataDir]);
    assert.equal(last.code, 1);
    assert.match(last.stderr, /error last_admin_key/);
  });

  it("starts on an empty data dir, prints the admin key once, and serves the API with it", async () => {
    const dataDir = tempDir();
    const first = await startHub(["--data-dir", dataDir]);
    children.push(first.child);
    assert.match(first.stderr(), /Initialising the embedded store/);
    const key = /^\s+(sbk_\S+)$/m.exec(first.stderr())?.[1];
    assert.ok(key, first.stderr());
    assert.equal((await fetch(`${first.url}/healthz`)).status, 200);
    const me = await fetch(`${first.url}/v1/api-keys`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(me.status, 200);

    // While the first runs, a second hub on the same directory is refused, and doctor asks the
    // running hub through its control socket instead of opening its files: it needs no address.
    // Neither opens the store, so they run side by side.
    const [second, doctor] = await Promise.all([
      run(["start", "--data-dir", dataDir, "--port", "0"]),
      run(["doctor", "--data-dir", dataDir, "--json"]),
    ]);
    assert.equal(second.code, 1);
    assert.match(
      second.stderr,
      new RegExp(
        `^error data_dir_locked: The data directory .* is held by the hub \\(pid ${first.child.pid}\\),`,
      ),
    );

    const report = JSON.parse(doctor.stdout);
    assert.equal(report.ok, true, doctor.stdout);
    const detail = (check: string) =>
      report.checks.find((c: { check: string }) => c.check === check)?.detail ?? "";
    assert.equal(
      detail("database"),
      `held by the running hub (pid ${first.child.pid}, serving ${first.url}), which checked its store below`,
    );
    assert.match(detail("migrations"), /^(\d+) of \1 applied$/);
    assert.equal(detail("stored secrets"), "none stored yet");
    assert.equal(detail("channels"), "none connected yet");

    await stop(first.child);
    const restarted = await startHub(["--data-dir", dataDir]);
    children.push(restarted.child);
    assert.doesNotMatch(restarted.stderr(), /Initialising|sbk_/);
    await stop(restarted.child);
  });

  it("runs the sandbox: a VK user's message reaches the API and a reply reaches the user, again after a restart", async () => {
    const dataDir = await storeCopy();
    /** Starts the sandbox on `dataDir`; what it prints tells how to act as the client. */
    const startSandbox = async (port: string, flags: readonly string[], env: Record<string, string>) => {
      const emulatorPort = await freePort();
      const sandbox = launch(
        ["sandbox", "--port", port, "--emulator-port", String(emulatorPort), "--data-dir", dataDir, ...flags],
        // A real hub's server must not get the demo: the sandbox keeps to its embedded store.
        { DATABASE_URL: "postgres://nobody@127.0.0.1:1/none", ...env },
      );
      children.push(sandbox.child);
      await sandbox.until(/Stop it with Ctrl\+C/);
      const stderr = sandbox.stderr();
      assert.match(stderr, /Sandbox is running/, stderr);
      const key = /API key \(admin, sandbox only\): (sbk_\S+)/.exec(stderr)?.[1];
      const write = /-d '(\{"userId":\d+,"text":"Привет"\})' (http:\S+\/messages)/.exec(stderr);
      const hub = /The hub: (http:\/\/127\.0\.0\.1:\d+) /.exec(stderr)?.[1];
      assert.ok(key && write?.[1] && write[2] && hub, stderr);
      if (port !== "0") assert.equal(hub, `http://127.0.0.1:${port}`);
      return {
        child: sandbox.child,
        stderr,
        key,
        log: sandbox.stdout,
        emulatorPort,
        hub,
        auth: { authorization: `Bearer ${key}` },
        write: { body: write[1], url: write[2] },
      };
    };

    // The second run takes any free port (the emulator learns it once the hub listens), lets the
    // hub reach this machine, as a developer's local receiver needs, and logs what
    // SWITCHBOARD_LOG_LEVEL says instead of the sandbox's default (warnings only).
    const keys: string[] = [];
    for (const [round, port, flags, env] of [
      [1, String(await freePort()), [], {}],
      [2, "0", ["--egress-allow", "127.0.0.1"], { SWITCHBOARD_LOG_LEVEL: "info" }],
    ] as const) {
      const { child, stderr, key, log, emulatorPort, hub, auth, write } = await startSandbox(
        port,
        flags,
        env,
      );
      // One sandbox key, kept in the data directory: the same at each start, none piling up.
      keys.push(key);
      const keyFile = join(dataDir, "sandbox.key");
      assert.match(
        stderr,
        round === 1
          ? new RegExp(`Kept in ${keyFile}: later starts give the same one`)
          : /The same at each start/,
      );
      assert.equal(readFileSync(keyFile, "utf8"), `${key}\n`);
      const listed = (await (await fetch(`${hub}/v1/api-keys`, { headers: auth })).json()) as {
        items: { name: string; revoked_at: string | null }[];
      };
      const active = listed.items.filter((k) => k.revoked_at === null).map((k) => k.name);
      // The new store's first admin key was never shown, so it is revoked: one key to use.
      assert.deepEqual(active, ["sandbox key"], `round ${round}`);
      assert.doesNotMatch(stderr, /Created the default workspace/);
      const endpoint = await fetch(`${hub}/v1/webhooks`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ url: "http://127.0.0.1:9/hook" }),
      });
      const created = (await endpoint.json()) as { error?: { code: string } };
      assert.deepEqual(
        [endpoint.status, created.error?.code],
        round === 1 ? [400, "webhook_url_refused"] : [201, undefined],
        `round ${round}`,
      );
      await fetch(write.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: write.body,
      });
      const deadline = Date.now() + 30_000;
      let conversation: { id: string; last_message: { text: string; direction: string } | null } | undefined;
      // The client's message of this run, as the conversation's latest.
      while (Date.now() < deadline) {
        const list = (await (
          await fetch(`${hub}/v1/conversations?include=last_message`, { headers: auth })
        ).json()) as { items: NonNullable<typeof conversation>[] };
        conversation = list.items[0];
        if (conversation?.last_message?.direction === "inbound") break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(
        conversation?.last_message?.text,
        "Привет",
        `round ${round}: the user's message reached the API`,
      );
      const reply = await fetch(`${hub}/v1/conversations/${conversation?.id}/messages`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ text: `Здравствуйте! (${round})` }),
      });
      assert.equal(reply.status, 201, `round ${round}: ${await reply.text()}`);
      const communityId = /communities\/(\d+)\/messages/.exec(write.url)?.[1];
      const outbox = (await (
        await fetch(`http://127.0.0.1:${emulatorPort}/_control/communities/${communityId}/outbox`)
      ).json()) as { messages: { text: string }[] };
      assert.deepEqual(
        outbox.messages.map((m) => m.text),
        [`Здравствуйте! (${round})`],
      );
      const messages = (await (
        await fetch(`${hub}/v1/conversations/${conversation?.id}/messages`, { headers: auth })
      ).json()) as { items: unknown[] };
      assert.equal(messages.items.length, 2 * round, `round ${round}: every message of both runs is kept`);
      if (round === 1) {
        // Doctor beside the sandbox asks its hub, which checks the demo channel with the emulator:
        // a new user's first doctor finds nothing to fix.
        const doctor = JSON.parse((await run(["doctor", "--data-dir", dataDir, "--json"])).stdout);
        const lines = doctor.checks.map((c: { check: string; ok: boolean; notes?: unknown[] }) => ({
          check: c.check.replace(/ \(.*\)$/, ""),
          ok: c.ok,
          notes: c.notes?.length ?? 0,
        }));
        assert.deepEqual(
          lines.filter((l: { check: string }) =>
            ["database", "channel vk Цветочная лавка"].includes(l.check),
          ),
          [
            { check: "database", ok: true, notes: 0 },
            { check: "channel vk Цветочная лавка", ok: true, notes: 0 },
          ],
          JSON.stringify(doctor, null, 2),
        );
        assert.equal(doctor.ok, true);
      }
      await stop(child);
      const listening = /"level":30,[^\n]*"msg":"switchboard is listening"/;
      if (round === 1) assert.doesNotMatch(log(), /"level":30/, "run 1 logs no info lines by default");
      else {
        assert.match(log(), listening, "run 2 logs at the level the environment sets");
        // The emulator starts empty, but gives the demo community the tokens kept from run 1.
        assert.doesNotMatch(log(), /vk_auth_failed/, "the channel kept from run 1 works from the start");
      }
      assert.equal(statSync(join(dataDir, "sandbox.tokens")).mode & 0o777, 0o600);
    }
    assert.equal(keys[1], keys[0], "the second start gave the first one's key");
  });

  it("stops the hub when npm start or npm run sandbox gets SIGTERM, leaving no process behind", async () => {
    const viaNpm = async (script: string[], flags: string[] = []) => {
      const dataDir = await storeCopy();
      const npm = watch(
        spawn("npm", [...script, "--", "--port", "0", "--data-dir", dataDir, ...flags], {
          env: { ...cleanEnv(), SWITCHBOARD_LOG_LEVEL: "warn" },
        }),
        `npm ${script.join(" ")}`,
      );
      children.push(npm.child);
      // "exit" first: a hub left behind would keep npm's output open, and "close" never come.
      const exited = new Promise<void>((resolve) => npm.child.on("exit", () => resolve()));
      await npm.until(/Stop it with Ctrl\+C/);
      // The hub's own pid, as it wrote it into the data directory's lock (and beside it, "hub").
      const hub = Number(readFileSync(join(dataDir, "switchboard.lock"), "utf8"));
      assert.ok(hub > 0 && hub !== npm.child.pid);
      assert.equal(
        readFileSync(join(dataDir, "switchboard.holder"), "utf8"),
        `${hub}\nhub\n`,
        "a sandbox runs a hub too",
      );
      npm.child.kill("SIGTERM");
      await exited;
      const gone = Date.now() + 15_000;
      while (isAlive(hub) && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
      const orphan = isAlive(hub);
      if (orphan) process.kill(hub, "SIGKILL");
      assert.equal(orphan, false, `the hub (pid ${hub}) still ran after npm ended: ${npm.stderr()}`);
      // What the hub wrote last may still be on its way: "exit" can come before it.
      await Promise.race([npm.exited, new Promise((r) => setTimeout(r, 10_000))]);
      assert.match(npm.stderr(), /Received SIGTERM; stopping…/);
      assert.equal(existsSync(join(dataDir, "switchboard.lock")), false, "the hub closed its store");
    };
    await Promise.all([viaNpm(["start"]), viaNpm(["run", "sandbox"], ["--emulator-port", "0"])]);
  });

  /**
   * Runs `switchboard <args>` paused before `step` (SWITCHBOARD_TEST_PAUSE) and sends it `signal`
   * there, so that the signal comes during the step; resolves once the command has ended.
   */
  const stopDuring = async (step: string, signal: NodeJS.Signals, args: string[]) => {
    const command = launch(args, { SWITCHBOARD_TEST_PAUSE: step });
    children.push(command.child);
    await command.until(new RegExp(`^Paused before ${step} `, "m"));
    command.child.kill(signal);
    const code = await command.exited;
    return { code, stdout: command.stdout(), stderr: command.stderr() };
  };
  const lockLeft = (dataDir: string) => existsSync(join(dataDir, "switchboard.lock"));

  it("stops the hub cleanly on SIGTERM while it migrates a new store, and starts again on it", async () => {
    // A store never migrated: the start opens it and goes to its migrations.
    const dataDir = await huskCopy();
    const stopped = await stopDuring("migrating", "SIGTERM", ["start", "--port", "0", "--data-dir", dataDir]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stderr, /Received SIGTERM while starting; stopping after the current step…/);
    assert.doesNotMatch(stopped.stderr, /running at/);
    assert.match(
      stopped.stdout,
      /"msg":"stopped while starting, as asked; what the start had opened is closed"/,
    );
    assert.equal(lockLeft(dataDir), false, "the data directory's lock is released");
    // The step the signal came in was finished, not cut: the store was migrated and bootstrapped.
    assert.equal(stopped.stderr.match(/^\s+sbk_\S+$/gm)?.length, 1, stopped.stderr);

    const again = await startHub(["--data-dir", dataDir]);
    children.push(again.child);
    assert.doesNotMatch(again.stderr(), /data_dir_locked|Initialising|sbk_/);
    assert.equal((await fetch(`${again.url}/readyz`)).status, 200);
    await stop(again.child);
  });

  it("stops keys create on SIGTERM after the step it is in, releases the store, and exits 143", async () => {
    // A store no hub has bootstrapped: the step the signal comes in makes its first admin key.
    const dataDir = await storeCopy();
    const stopped = await stopDuring("migrating", "SIGTERM", [
      "keys",
      "create",
      "--name",
      "crm",
      "--data-dir",
      dataDir,
    ]);
    assert.equal(stopped.code, 143, stopped.stderr);
    assert.match(stopped.stderr, /^Received SIGTERM; stopping after the current step…\n/m);
    assert.match(stopped.stderr, /Created the default workspace and its admin API key/);
    assert.match(
      stopped.stderr,
      /\nerror stopped_by_signal: Stopped by SIGTERM before the command finished: the step under way was completed, nothing after it was done, and the store is closed\. Remedy: [^\n]+\n$/,
    );
    assert.equal(stopped.stdout, "", "the key asked for was not created, so none is shown");
    assert.equal(lockLeft(dataDir), false, "the data directory's lock is released");
    const listed = await run(["keys", "list", "--data-dir", dataDir, "--json"]);
    assert.deepEqual(
      JSON.parse(listed.stdout).map((k: { name: string }) => k.name),
      ["bootstrap admin key"],
    );
  });

  it("finishes the migration that SIGINT comes during, then ends as usual, the store released", async () => {
    const dataDir = await huskCopy();
    const migrated = await stopDuring("migrating", "SIGINT", ["migrate", "--data-dir", dataDir]);
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.match(
      migrated.stderr,
      /\nReceived SIGINT; stopping after the current step…\nMigrations: (\d+) of \1 applied \(embedded store, /,
    );
    assert.equal(lockLeft(dataDir), false, "the data directory's lock is released");
  });

  it("stops secrets forget on SIGTERM before it changes anything, and says so as JSON", async () => {
    const dataDir = await storeCopy();
    const stopped = await stopDuring("checking the store", "SIGTERM", [
      "secrets",
      "forget",
      "--yes",
      "--json",
      "--data-dir",
      dataDir,
    ]);
    assert.equal(stopped.code, 143, stopped.stderr);
    assert.equal(JSON.parse(stopped.stdout).error.code, "stopped_by_signal");
    // Forgetting would have sealed what stays with a new key file: none was made.
    assert.equal(existsSync(join(dataDir, "secret.key")), false);
    assert.equal(lockLeft(dataDir), false, "the data directory's lock is released");
  });

  it("stops doctor on SIGINT while it checks the store, reporting no checks, and exits 130", async () => {
    const dataDir = await storeCopy();
    const stopped = await stopDuring("checking the store", "SIGINT", ["doctor", "--data-dir", dataDir]);
    assert.equal(stopped.code, 130, stopped.stderr);
    assert.match(
      stopped.stderr,
      /^Received SIGINT; stopping after the current step…\nerror stopped_by_signal: Stopped by SIGINT /m,
    );
    assert.equal(stopped.stdout, "", "no report that would look whole");
    assert.equal(lockLeft(dataDir), false, "the data directory's lock is released");
  });

  it("says which command holds the store to doctor and to a command beside it, and to run them again once it ends", async () => {
    const dataDir = await storeCopy();
    const keys = launch(["keys", "list", "--data-dir", dataDir], { SWITCHBOARD_TEST_PAUSE: "migrating" });
    children.push(keys.child);
    await keys.until(/^Paused before migrating /m);
    const [doctor, create] = await Promise.all([
      run(["doctor", "--data-dir", dataDir]),
      run(["keys", "create", "--data-dir", dataDir]),
    ]);
    const held = `The data directory ${dataDir} is held by switchboard keys list (pid ${keys.child.pid}), and the embedded store allows one process at a time.`;
    const remedy = "Run this again once switchboard keys list has ended (a hub ends only when stopped:";
    assert.equal(doctor.code, 1, doctor.stderr);
    const lines = doctor.stdout.split("\n");
    const database = lines.findIndex((line) => line.startsWith("PROBLEM  database: "));
    assert.equal(lines[database], `PROBLEM  database: ${held}`, doctor.stdout);
    assert.ok(lines[database + 1]?.startsWith(`         remedy: ${remedy}`), doctor.stdout);
    assert.equal(create.code, 1);
    assert.ok(create.stderr.startsWith(`error data_dir_locked: ${held} Remedy: ${remedy}`), create.stderr);
    keys.child.kill("SIGTERM");
    assert.equal(await keys.exited, 143, keys.stderr());
    assert.equal((await run(["doctor", "--data-dir", dataDir])).code, 0, "the store is free again");
  });

  it("reports an older store's pending migrations, and a wrong key's unreadable secrets, as problems, not a crash; forgets them when the key is lost, and changes the key", async () => {
    const checksOf = (stdout: string) =>
      (JSON.parse(stdout) as { checks: { check: string; ok: boolean; code?: string }[] }).checks.map((c) => [
        c.check,
        c.ok,
        c.code ?? null,
      ]);
    const [olderDir, dataDir] = await Promise.all([storeCopy(), storeCopy()]);
    const key = (byte: number) => ({ SWITCHBOARD_SECRET_KEY: Buffer.alloc(32, byte).toString("base64") });
    // As an earlier version left it: from the newest migration that is not additive on, none
    // applied yet (the dry runs below only read what is recorded).
    const known = knownMigrations();
    const lastBreaking = known.findLastIndex((m) => !m.additive);
    const missing = known.length - lastBreaking;
    const older = await openStore({ mode: "embedded", dataDir: olderDir });
    try {
      await older.db.execute(
        sql`delete from drizzle.__drizzle_migrations where created_at >= ${known[lastBreaking]?.folderMillis}`,
      );
    } finally {
      await older.close();
    }
    const behind = await run(["doctor", "--data-dir", olderDir, "--json"], key(1));
    assert.equal(behind.code, 1, behind.stderr);
    assert.deepEqual(checksOf(behind.stdout).at(-1), ["migrations", false, "migrations_pending"]);
    const plan = await run(["migrate", "--dry-run", "--data-dir", olderDir], key(1));
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(
      plan.stderr,
      new RegExp(
        `^Migrations: \\d+ of \\d+ applied \\(embedded store, .*\\)\\.\n${missing} to apply, 1 of them not additive: stop every hub of the older version before applying them\\.\n$`,
      ),
    );
    const planned = await run(["migrate", "--dry-run", "--json", "--data-dir", olderDir], key(1));
    const pending = JSON.parse(planned.stdout);
    assert.deepEqual(
      [pending.pending, pending.pending_not_additive, pending.newer],
      [missing, 1, 0],
      "still nothing applied",
    );

    const store = await openStore({ mode: "embedded", dataDir });
    try {
      await createChannelAccount(store.db, new SecretBox(Buffer.alloc(32, 1)), {
        workspaceId: (await createWorkspace(store.db, "shop")).id,
        kind: "vk",
        externalId: "1",
        name: "shop",
        credentials: { tokens: ["t"] },
        settings: {},
      });
      // Sealed with key 2, which a hub started with later.
      await store.db.insert(webhookEndpoint).values({
        workspaceId: (await oldestWorkspace(store.db))?.id as string,
        url: "https://crm.example/hook",
        secret: new SecretBox(Buffer.alloc(32, 2)).seal("whsec_x"),
      });
    } finally {
      await store.close();
    }
    // One after the other: both open the one embedded store.
    const wrongKey = await run(["doctor", "--data-dir", dataDir, "--json"], key(2));
    const start = await run(["start", "--data-dir", dataDir, "--port", "0"], key(2));
    assert.equal(wrongKey.code, 1, wrongKey.stderr);
    assert.deepEqual(checksOf(wrongKey.stdout).slice(-2), [
      ["stored secrets", false, "store_secret_key_mismatch"],
      ["channels", false, null],
    ]);
    // The hub does not start with it: one line saying which key the store needs, exit 2.
    assert.equal(start.code, 2, start.stderr);
    assert.match(
      start.stderr,
      /^error store_secret_key_mismatch: The configured SWITCHBOARD_SECRET_KEY cannot decrypt secrets stored in .* \(channel tokens: 1 of 1\): .* Remedy: Start the hub with the key that sealed them: the SWITCHBOARD_SECRET_KEY the hub had when they were stored .*`switchboard secrets forget` drops the secrets it sealed.*\n$/,
    );

    // Key 1 is lost for good: `secrets forget` lists what it sealed, and only with --yes drops it.
    const listed = await run(["secrets", "forget", "--data-dir", dataDir], key(2));
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(
      listed.stdout,
      /^ {2}channel_credentials +vk channel "shop" \([0-9a-f-]{36}, workspace [0-9a-f-]{36}\)\n$/,
    );
    assert.match(
      listed.stderr,
      /^Stored secrets that do not open with the configured SWITCHBOARD_SECRET_KEY \(channel tokens: 1 of 1\):\n/,
    );
    assert.match(listed.stderr, /Nothing changed\./);
    const forgot = await run(["secrets", "forget", "--yes", "--json", "--data-dir", dataDir], key(2));
    assert.equal(forgot.code, 0, forgot.stderr);
    const outcome = JSON.parse(forgot.stdout);
    assert.equal(outcome.key, "configured");
    assert.equal(outcome.forgotten, true);
    assert.deepEqual(
      outcome.secrets.map((s: { kind: string; label: string }) => [s.kind, s.label]),
      [["channel_credentials", 'vk channel "shop"']],
    );
    // Then key 2 is changed for key 3: what it sealed is resealed. Without the previous key, refused.
    const unsaid = await run(["secrets", "rekey", "--data-dir", dataDir], key(3));
    assert.equal(unsaid.code, 2, unsaid.stderr);
    assert.match(unsaid.stderr, /^error previous_secret_key_missing: /);
    const rekeyed = await run(["secrets", "rekey", "--data-dir", dataDir, "--json"], {
      ...key(3),
      SWITCHBOARD_PREVIOUS_SECRET_KEY: key(2).SWITCHBOARD_SECRET_KEY,
    });
    assert.equal(rekeyed.code, 0, rekeyed.stderr);
    assert.deepEqual(
      JSON.parse(rekeyed.stdout).resealed.map((s: { kind: string; label: string }) => [s.kind, s.label]),
      [["endpoint_secret", "webhook endpoint https://crm.example/hook"]],
    );
    // Now the store opens with key 3, and its channel needs new tokens.
    const healed = await run(["doctor", "--data-dir", dataDir, "--json"], key(3));
    const [secrets, channel] = checksOf(healed.stdout).slice(-2);
    assert.deepEqual(secrets, ["stored secrets", true, null]);
    assert.match(String(channel?.[0]), /^channel vk shop \(/);
    assert.deepEqual(channel?.slice(1), [false, "channel_credentials_lost"]);
  });

  it("refuses a data dir holding no store in keys and doctor, and leaves it as it was", async () => {
    const typo = join(tempDir(), "dtaa");
    const results = await Promise.all([
      run(["keys", "list", "--data-dir", typo]),
      run(["keys", "revoke", "0193a5b0-0000-7000-8000-000000000000", "--data-dir", typo]),
      run(["keys", "create", "--data-dir", typo]),
    ]);
    for (const result of results) {
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, "");
      assert.match(
        result.stderr,
        new RegExp(
          `^error store_not_found: There is no Switchboard store in ${typo}\\. Remedy: .*--data-dir.* to make a new one in ${typo}, run \`switchboard migrate\`[^\\n]*\\n$`,
        ),
      );
    }
    const doctor = await run(["doctor", "--data-dir", typo, "--json"]);
    assert.equal(doctor.code, 1, doctor.stderr);
    const checks = JSON.parse(doctor.stdout).checks as {
      check: string;
      ok: boolean;
      code?: string;
      remedy?: string;
    }[];
    assert.deepEqual(checks.at(-1)?.code, "store_not_found");
    assert.equal(checks.at(-1)?.check, "database");
    assert.match(checks.at(-1)?.remedy ?? "", new RegExp(`new one in ${typo}`));
    assert.equal(existsSync(typo), false, "nothing was created: no store, no key file");

    // A directory holding only what an earlier version's doctor left there (an initialised,
    // never migrated store and a key file) is no store either, and stays as it was.
    const husk = await huskCopy();
    writeFileSync(join(husk, "secret.key"), `${Buffer.alloc(32, 5).toString("base64")}\n`);
    const listed = await run(["keys", "list", "--data-dir", husk]);
    assert.equal(listed.code, 2, listed.stderr);
    assert.match(listed.stderr, /^error store_not_found: /);
    const store = await openStore({ mode: "embedded", dataDir: husk });
    try {
      assert.equal((await migrationStatus(store.db)).applied, 0);
    } finally {
      await store.close();
    }
  });

  it("refuses a sandbox emulator port that is no port, or taken, in one line, and exits", async () => {
    const dataDir = join(tempDir(), "data");
    const [notANumber, holder] = await Promise.all([
      run(["sandbox", "--data-dir", dataDir, "--port", "0", "--emulator-port", "abc"]),
      holdPort(),
    ]);
    assert.equal(notANumber.code, 2);
    assert.match(
      notANumber.stderr,
      /^error config_invalid: Setting `emulatorPort` \(from flag --emulator-port\) has the value "abc": expected an integer from 0 to 65535\. Remedy: .*\n$/,
    );
    assert.equal(existsSync(dataDir), false, "nothing was created");
    // A data directory held by another live process (this one) fails the hub after the emulator
    // has started: the emulator is closed again, so the command ends.
    const lockedDir = tempDir();
    writeFileSync(join(lockedDir, "switchboard.lock"), String(process.pid));
    try {
      const [emulatorTaken, hubTaken, locked] = await Promise.all([
        run(["sandbox", "--data-dir", dataDir, "--port", "0", "--emulator-port", String(holder.port)]),
        run(["sandbox", "--data-dir", dataDir, "--port", String(holder.port), "--emulator-port", "0"]),
        run(["sandbox", "--data-dir", lockedDir, "--port", "0", "--emulator-port", "0"]),
      ]);
      assert.equal(locked.code, 1);
      assert.match(locked.stderr, new RegExp(`^error data_dir_locked: .*pid ${process.pid}`, "m"));
      assert.equal(emulatorTaken.code, 1);
      assert.match(
        emulatorTaken.stderr,
        new RegExp(
          `^error emulator_port_in_use: The VK emulator's port ${holder.port} on 127\\.0\\.0\\.1 is already in use\\. Remedy: .*--emulator-port.*\\n$`,
        ),
      );
      assert.equal(hubTaken.code, 1);
      assert.match(hubTaken.stderr, new RegExp(`^error port_in_use: Port ${holder.port} .*\\n$`));
    } finally {
      holder.server.close();
    }
  });

  it("refuses an empty PostgreSQL database in keys, and takes it once migrated", needsServer, async () => {
    const { scratch, env } = await scratchServerStore();
    try {
      const empty = await run(["keys", "list"], env);
      assert.equal(empty.code, 2, empty.stderr);
      assert.match(
        empty.stderr,
        /^error store_not_found: There is no Switchboard store in postgres:\/\/.*Remedy: .*DATABASE_URL/,
      );
      assert.equal((await run(["migrate"], env)).code, 0);
      const listed = await run(["keys", "list"], env);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /bootstrap admin key/);
    } finally {
      await scratch.drop();
    }
  });

  it(
    "stops migrate and a start on PostgreSQL at once when a signal comes while another process migrates",
    needsServer,
    async () => {
      const { scratch, env } = await scratchServerStore();
      // Another process migrating, as far as the others can tell: it holds the migration lock.
      const migrating = new pg.Client({ connectionString: scratch.url });
      await migrating.connect();
      try {
        await migrating.query("select pg_advisory_lock($1)", [migrationLock]);
        const migrate = launch(["migrate"], env);
        const start = launch(["start", "--port", "0"], env);
        children.push(migrate.child, start.child);
        const waiting = /^Another process is migrating the store; waiting for it to finish…$/m;
        await Promise.all([migrate.until(waiting), start.until(waiting)]);
        // PostgreSQL lists each process's connections by what it is.
        const named = await migrating.query(
          "select distinct application_name from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() order by 1",
        );
        assert.deepEqual(
          named.rows.map((row) => row.application_name),
          ["switchboard hub", "switchboard migrate"],
        );
        migrate.child.kill("SIGINT");
        start.child.kill("SIGTERM");
        const [migrated, started] = await Promise.all([migrate.exited, start.exited]);
        assert.equal(migrated, 130, migrate.stderr());
        assert.match(migrate.stderr(), /\nerror stopped_by_signal: Stopped by SIGINT /);
        assert.equal(started, 0, start.stderr());
        assert.match(start.stderr(), /Received SIGTERM while starting; stopping after the current step…/);
        assert.doesNotMatch(start.stderr(), /running at/);
        // Neither migrated a thing: the other process still holds the lock.
        const tables = await migrating.query("select to_regclass('drizzle.__drizzle_migrations') as present");
        assert.equal(tables.rows[0]?.present, null);
      } finally {
        await migrating.end();
        await scratch.drop();
      }
    },
  );

  it(
    "stops a start on PostgreSQL at once when a signal comes while another process sets up the new store",
    needsServer,
    async () => {
      const { scratch, env } = await scratchServerStore();
      const settingUp = new pg.Client({ connectionString: scratch.url });
      await settingUp.connect();
      try {
        // Another process making the first workspace, as far as the others can tell; the start
        // migrates, then waits for it.
        await settingUp.query("select pg_advisory_lock($1)", [bootstrapLock]);
        const start = launch(["start", "--port", "0"], env);
        children.push(start.child);
        await start.until(/^Another process is setting up the new store; waiting for it to finish…$/m);
        start.child.kill("SIGTERM");
        assert.equal(await start.exited, 0, start.stderr());
        assert.match(start.stderr(), /Received SIGTERM while starting; stopping after the current step…/);
        assert.doesNotMatch(start.stderr(), /running at|admin API key/);
        const workspaces = await settingUp.query("select count(*)::int as count from workspace");
        assert.equal(workspaces.rows[0]?.count, 0);
      } finally {
        await settingUp.end();
        await scratch.drop();
      }
    },
  );

  it("answers --help for every command", async () => {
    for (const args of [["--help"], ["keys", "create", "--help"], ["doctor", "--help"]]) {
      const result = await run(args);
      assert.equal(result.code, 0, args.join(" "));
      assert.match(result.stdout, /Usage: switchboard/);
    }
    const [start, sandbox] = await Promise.all([run(["start", "--help"]), run(["sandbox", "--help"])]);
    assert.match(start.stdout, /--data-dir <value>[\s\S]*SWITCHBOARD_DATA_DIR/);
    assert.match(start.stdout, /--log-level <value>[^-]*\(env SWITCHBOARD_LOG_LEVEL; default\s+"info"\)/);
    // The sandbox logs less by default, and its help says so.
    assert.match(sandbox.stdout, /--log-level <value>[^-]*\(env SWITCHBOARD_LOG_LEVEL; default\s+"warn"\)/);
    assert.match(sandbox.stdout, /--data-dir <value>[^-]*\(default\s+"\.\/data-sandbox"\)/);
  });

  it("exits 2 on an unknown command or option", async () => {
    assert.equal((await run(["strat"])).code, 2);
    assert.equal((await run(["start", "--prot", "1"])).code, 2);
  });

  it("exits 2 naming the setting, value and expectation for a bad setting", async () => {
    const result = await run(["start"], { SWITCHBOARD_PORT: "eighty" });
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /error config_invalid: Setting `port` \(from environment variable SWITCHBOARD_PORT\) has the value "eighty": expected an integer/,
    );
    noStackTrace(result.stderr);
    const file = join(tempDir(), "bad.json");
    writeFileSync(file, '{"bodyLimit": 5}');
    const fromFile = await run(["start", "--config", file]);
    assert.equal(fromFile.code, 2);
    assert.match(fromFile.stderr, /bodyLimit/);
  });

  it("exits 2 on a host, country or egress entry that only looks right, before creating anything", async () => {
    const dataDir = join(tempDir(), "data");
    const cases = [
      ["--host", "999.999.1.1", "host"],
      ["--default-country", "XX", "defaultCountry"],
      ["--egress-allow", "999.1.1.1/99", "egressAllow"],
      ["--egress-allow", ",,,", "egressAllow"],
    ] as const;
    const results = await Promise.all(
      cases.map(([flag, value]) => run(["start", "--data-dir", dataDir, "--port", "0", flag, value])),
    );
    for (const [i, [flag, value, setting]] of cases.entries()) {
      const result = results[i];
      assert.equal(result?.code, 2, result?.stderr);
      const line = new RegExp(
        `^error config_invalid: Setting \`${setting}\` \\(from flag ${flag}\\) has the value "${value.replaceAll(".", "\\.")}"[^\n]*Remedy: [^\n]+\n$`,
      );
      assert.match(result?.stderr ?? "", line);
    }
    assert.equal(existsSync(dataDir), false, "nothing was created");
  });

  it("exits 2 when server mode has no encryption key", async () => {
    const result = await run(["start", "--port", "0"], {
      DATABASE_URL: "postgres://postgres@127.0.0.1:1/none",
    });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /error secret_key_missing: .*SWITCHBOARD_SECRET_KEY/);
  });

  it("says in one line that the database is unreachable", async () => {
    const result = await run(["start", "--port", "0"], {
      DATABASE_URL: "postgres://postgres:pw@127.0.0.1:1/none",
      SWITCHBOARD_SECRET_KEY: Buffer.alloc(32, 1).toString("base64"),
    });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /error database_unreachable: The database at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/none/,
    );
    assert.doesNotMatch(result.stderr, /:pw@/);
    assert.equal(result.stderr.trim().split("\n").length, 1);
  });

  it("says in one line that the data directory cannot be written", async () => {
    const blocker = join(tempDir(), "a-file");
    writeFileSync(blocker, "");
    const result = await run(["start", "--port", "0", "--data-dir", join(blocker, "data")]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /error data_dir_unwritable: .*Remedy: .*--data-dir/);
    noStackTrace(result.stderr);
  });

  it("says in one line that the port is taken, before it creates the store or an admin key", async () => {
    const holder = await holdPort();
    try {
      const dataDir = join(tempDir(), "data");
      const result = await run(["start", "--data-dir", dataDir, "--port", String(holder.port)]);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        new RegExp(
          `^error port_in_use: Port ${holder.port} on 127\\.0\\.0\\.1 is already in use\\. Remedy: .*--port.*\\n$`,
        ),
      );
      assert.equal(existsSync(dataDir), false, "no store was created");
    } finally {
      holder.server.close();
    }
  });

  it("says in one line that the host is not an address of this machine", async () => {
    const dataDir = join(tempDir(), "data");
    // 192.0.2.1 is kept for documentation (RFC 5737): no machine has it.
    const result = await run(["start", "--data-dir", dataDir, "--port", "0", "--host", "192.0.2.1"]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^error listen_failed: The hub cannot listen on 192\.0\.2\.1 port 0: .*EADDRNOTAVAIL.* Remedy: .*--host.*\n$/,
    );
    assert.equal(existsSync(dataDir), false, "no store was created");
  });

  it("reports a doctor problem with its remedy and exits 1", async () => {
    const result = await run(["doctor", "--json"], {
      DATABASE_URL: "postgres://postgres@127.0.0.1:1/none",
      SWITCHBOARD_SECRET_KEY: Buffer.alloc(32, 1).toString("base64"),
    });
    assert.equal(result.code, 1);
    const report = JSON.parse(result.stdout);
    const database = report.checks.find((c: { check: string }) => c.check === "database");
    assert.equal(database.ok, false);
    assert.equal(database.code, "database_unreachable");
    assert.match(database.remedy, /PostgreSQL is running/);
  });

  it("prints no stack trace when its reader stops early (`switchboard doctor | head -1`)", async () => {
    const command = launch(["doctor", "--json"], {
      DATABASE_URL: "postgres://postgres@127.0.0.1:1/none",
      SWITCHBOARD_SECRET_KEY: Buffer.alloc(32, 1).toString("base64"),
    });
    // The reader is gone before anything is written: every write meets a closed pipe (EPIPE).
    command.child.stdout?.destroy();
    assert.equal(await command.exited, 1, command.stderr());
    assert.equal(command.stderr(), "");
  });
});
