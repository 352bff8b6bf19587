/**
 * HTTP API benchmark: requests/s and latency of the real hub over real HTTP, each figure beside a
 * bare Hono route measured in the same run (absolute numbers drift on a shared machine; the ratio
 * drifts much less).
 *
 *   npm run bench:api
 *   SWITCHBOARD_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres npm run bench:api
 *
 * Process model: every server under test (the bare route and the hub) runs in a child process of
 * its own, forked from this file and served by @hono/node-server's `createAdaptorServer`, as
 * `startHub` does. This process is the load generator (autocannon, in-process, keep-alive
 * connections to 127.0.0.1). Server, load generator and PostgreSQL share the machine's cores.
 *
 * Each scenario is measured in one-second slices alternating with slices of the bare route
 * (bare, scenario, bare, scenario…), so both see the same background load; its ratio is against
 * the bare slices interleaved with it.
 *
 * Scenarios:
 *   healthz/hub     GET /healthz on the hub: its global middleware, no key, no query
 *   list/<store>    GET /v1/contacts?limit=20 with an API key, over 1,000 contacts (one identity each)
 *   create/<store>  POST /v1/contacts with a new name and phone number on every request
 *   (bare)          GET /bare on a plain Hono app answering a constant JSON: the baseline of each
 *
 * Stores: PGlite on a temporary data directory (real files), always; PostgreSQL when
 * SWITCHBOARD_BENCH_DATABASE_URL (or SWITCHBOARD_TEST_DATABASE_URL) names a server, on a scratch
 * database created for the run and dropped at the end.
 *
 * Knobs: BENCH_DURATION (measured seconds per side, default 5), BENCH_WARMUP (seconds, default 1.5),
 * BENCH_CONNECTIONS (default 10), BENCH_CONTACTS (contacts seeded, default 1000); BENCH_ANALYZE=1
 * runs ANALYZE after seeding (PGlite never does on its own, see docs/benchmarks.md); BENCH_CPU_PROF=<dir>
 * writes a V8 CPU profile of every server process into <dir> (Chrome DevTools or speedscope open it).
 */
import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

const benchFile = fileURLToPath(import.meta.url);
const seedContacts = Number(process.env.BENCH_CONTACTS ?? 1_000);
const analyze = process.env.BENCH_ANALYZE === "1";

type ServerSpec =
  | { kind: "bare" }
  | { kind: "hub"; store: "pglite"; dataDir: string }
  | { kind: "hub"; store: "postgres"; databaseUrl: string };

interface ServerReady {
  url: string;
  key: string;
}

// ---------------------------------------------------------------------------------------------
// Child side: one server under test.
// ---------------------------------------------------------------------------------------------

async function serve(spec: ServerSpec): Promise<void> {
  const send = (message: unknown) => process.send?.(message);
  // Orphaned by a crashed parent: leave rather than hold a port and a database.
  process.on("disconnect", () => process.exit(0));
  let close: () => Promise<void>;
  let ready: ServerReady;

  if (spec.kind === "bare") {
    const { Hono } = await import("hono");
    const { createAdaptorServer } = await import("@hono/node-server");
    const app = new Hono();
    app.get("/bare", (c) => c.json({ status: "ok" }));
    const server = createAdaptorServer({ fetch: app.fetch });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    ready = { url: `http://127.0.0.1:${port}`, key: "" };
    close = () => new Promise<void>((done) => server.close(() => done()));
  } else {
    const { loadConfig } = await import("../src/config/load-config.ts");
    const { startHub } = await import("../src/hub/hub.ts");
    const { createApiKey } = await import("../src/store/repositories/api-keys.ts");
    const { listWorkspaces } = await import("../src/store/repositories/workspaces.ts");
    const { contact, contactIdentity } = await import("../src/store/schema.ts");
    const { sql } = await import("drizzle-orm");

    const config = loadConfig({
      env: {},
      flags: {
        host: "127.0.0.1",
        port: 0,
        logLevel: "silent",
        rateLimit: 1_000_000,
        rateLimitBurst: 1_000_000,
        ...(spec.store === "pglite"
          ? { dataDir: spec.dataDir }
          : { databaseUrl: spec.databaseUrl, secretKey: randomBytes(32).toString("base64") }),
      },
    });
    const hub = await startHub(config, { say: () => {} });
    const db = hub.store.db;
    const [workspace] = (await listWorkspaces(db, { limit: 1 })).items;
    if (!workspace) throw new Error("startHub created no default workspace");
    const { secret } = await createApiKey(db, { workspaceId: workspace.id, name: "bench key" });

    // `seedContacts` contacts with one Telegram identity each, so that listing also attaches identities.
    const rows = Array.from({ length: seedContacts }, (_, i) => ({
      workspaceId: workspace.id,
      name: `Seed contact ${i}`,
      phone: `+7903${String(i).padStart(7, "0")}`,
      email: `seed${i}@example.com`,
      customFields: { source: "bench" },
    }));
    await db.transaction(async (tx) => {
      for (let i = 0; i < rows.length; i += 250) {
        const created = await tx
          .insert(contact)
          .values(rows.slice(i, i + 250))
          .returning({ id: contact.id });
        await tx.insert(contactIdentity).values(
          created.map((row, j) => ({
            workspaceId: workspace.id,
            contactId: row.id,
            channelKind: "telegram" as const,
            externalId: String(100_000 + i + j),
            displayName: `Seed ${i + j}`,
          })),
        );
      }
    });
    // Off by default: nothing in the hub analyzes tables, and PGlite has no autovacuum to do it.
    if (analyze) await db.execute(sql`analyze`);
    ready = { url: hub.url, key: secret };
    close = () => hub.close();
  }

  process.on("message", async (message) => {
    if (message !== "close") return;
    await close();
    send("closed");
    process.disconnect();
  });
  send({ ready });
}

// ---------------------------------------------------------------------------------------------
// Parent side: start servers, drive load, report.
// ---------------------------------------------------------------------------------------------

interface Server extends ServerReady {
  stop(): Promise<void>;
}

async function startServer(spec: ServerSpec): Promise<Server> {
  const profileDir = process.env.BENCH_CPU_PROF;
  const child: ChildProcess = fork(benchFile, ["--serve", JSON.stringify(spec)], {
    stdio: "inherit",
    execArgv: [...process.execArgv, ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [])],
  });
  const exited = once(child, "exit");
  const ready = await new Promise<ServerReady>((resolve, reject) => {
    child.on("message", (message: { ready?: ServerReady }) => {
      if (message?.ready) resolve(message.ready);
    });
    exited.then(([code]) =>
      reject(new Error(`the ${describe(spec)} server exited with code ${code} before it was ready`)),
    );
  });
  return {
    ...ready,
    async stop() {
      if (child.exitCode !== null) return;
      child.send("close");
      await Promise.race([exited, new Promise((done) => setTimeout(done, 10_000).unref())]);
      if (child.exitCode === null) child.kill();
    },
  };
}

function describe(spec: ServerSpec): string {
  return spec.kind === "bare" ? "bare Hono" : `hub (${spec.store})`;
}

const durationSeconds = Number(process.env.BENCH_DURATION ?? 5);
const warmupSeconds = Number(process.env.BENCH_WARMUP ?? 1.5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
const sliceSeconds = 1;

interface Load {
  url: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  /** A fresh body for every request. */
  body?: () => string;
  expect: number;
}

interface Measured {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  failures: string[];
}

/** One bounded autocannon run; latencies are taken per response (autocannon's own histogram has 1 ms steps). */
async function drive(load: Load, seconds: number): Promise<Sample> {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  const started = performance.now();
  let finish: (error: Error | null, result: autocannon.Result) => void = () => {};
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    finish = (error, result) => (error ? reject(error) : resolve(result));
  });
  const instance = autocannon(
    {
      url: load.url,
      connections,
      duration: seconds,
      timeout: 10,
      requests: [
        {
          method: load.method ?? "GET",
          headers: load.headers ?? {},
          ...(load.body
            ? {
                setupRequest: (request: autocannon.Request) => {
                  request.body = load.body?.();
                  return request;
                },
              }
            : {}),
        },
      ],
    },
    (error, result) => finish(error, result),
  );
  instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status === load.expect) latencies.push(ms);
    else statuses.set(status, (statuses.get(status) ?? 0) + 1);
  });
  const result = await finished;
  const elapsed = (performance.now() - started) / 1000;
  const failures = [...statuses].map(([status, count]) => `${count} × HTTP ${status}`);
  if (result.errors > 0) failures.push(`${result.errors} connection errors`);
  if (result.timeouts > 0) failures.push(`${result.timeouts} timeouts`);
  return { latencies, seconds: elapsed, failures };
}

interface Sample {
  latencies: number[];
  seconds: number;
  failures: string[];
}

function summarise(name: string, sample: Sample): Measured {
  const sorted = Float64Array.from(sample.latencies).sort();
  return {
    name,
    rps: sorted.length / sample.seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    requests: sorted.length,
    failures: sample.failures,
  };
}

/**
 * Measures `load` and the bare route in alternating one-second slices (ABAB…), so that both see
 * the same background load: on a shared machine that drifts within seconds, this keeps the ratio
 * honest where two back-to-back runs would not.
 */
async function measurePaired(
  name: string,
  load: Load,
  bare: Load,
): Promise<{ measured: Measured; bare: Measured }> {
  await drive(bare, Math.min(0.5, warmupSeconds));
  await drive(load, warmupSeconds);
  const slices = Math.max(1, Math.round(durationSeconds / sliceSeconds));
  const totals = { load: empty(), bare: empty() };
  for (let i = 0; i < slices; i++) {
    for (const [side, target] of [
      ["bare", bare],
      ["load", load],
    ] as const) {
      const run = await drive(target, sliceSeconds);
      const total = totals[side];
      total.latencies.push(...run.latencies);
      total.seconds += run.seconds;
      total.failures.push(...run.failures);
      // Let requests cut off at the end of the slice finish before the other side starts.
      await new Promise((done) => setTimeout(done, 100));
    }
  }
  return { measured: summarise(name, totals.load), bare: summarise(`bare (beside ${name})`, totals.bare) };
}

function empty(): Sample {
  return { latencies: [], seconds: 0, failures: [] };
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const times = (r: number) => `${r >= 0.1 ? r.toFixed(2) : r.toFixed(3)}×`;
const ms = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(1));

function line(m: Measured, bare: Measured): string {
  const failed = [...m.failures, ...bare.failures];
  return (
    `${m.name.padEnd(14)} ${int(m.rps).padStart(6)} req/s, p50 ${ms(m.p50).padStart(4)} ms, p99 ${ms(m.p99).padStart(5)} ms` +
    ` — ${times(m.rps / bare.rps)} bare route (bare ${int(bare.rps)} req/s, p50 ${ms(bare.p50)} ms, p99 ${ms(bare.p99)} ms)` +
    (failed.length > 0 ? `  !! ${failed.join(", ")}` : "")
  );
}

async function main(): Promise<number> {
  const adminUrl = process.env.SWITCHBOARD_BENCH_DATABASE_URL || process.env.SWITCHBOARD_TEST_DATABASE_URL;
  const cpuModel = cpus()[0]?.model ?? "unknown CPU";
  const stores: ("pglite" | "postgres")[] = adminUrl ? ["pglite", "postgres"] : ["pglite"];
  const slices = Math.max(1, Math.round(durationSeconds / sliceSeconds));
  console.log("Switchboard API benchmark (bench/api.ts)");
  console.log(`  date        ${new Date().toISOString()}`);
  console.log(`  node        ${process.version} on ${process.platform}/${process.arch}`);
  console.log(
    `  machine     ${availableParallelism()} cores (${cpuModel}), ${process.env.CI ? "CI" : "shared"}`,
  );
  console.log(
    `  load        autocannon in this process, ${connections} keep-alive connections to 127.0.0.1; per scenario ` +
      `${warmupSeconds} s warm-up, then ${slices} × (${sliceSeconds} s bare route, ${sliceSeconds} s scenario)`,
  );
  console.log(
    "  note        the server under test (a child process), the load generator and PostgreSQL share these cores:\n" +
      "              absolute figures are pessimistic and noisy; read the ratio against the bare route, which is\n" +
      "              measured in slices interleaved with each scenario's.",
  );
  console.log(
    `  data        ${int(seedContacts)} contacts with one identity each${analyze ? ", ANALYZEd" : ""}`,
  );
  console.log(
    `  stores      ${stores.join(", ")}${adminUrl ? "" : " (set SWITCHBOARD_TEST_DATABASE_URL to add postgres)"}`,
  );
  console.log("");

  const results: { measured: Measured; bare: Measured }[] = [];
  const bare = await startServer({ kind: "bare" });
  const bareLoad: Load = { url: `${bare.url}/bare`, expect: 200 };
  const run = async (name: string, load: Load) => {
    const result = await measurePaired(name, load, bareLoad);
    results.push(result);
    console.log(line(result.measured, result.bare));
  };

  let sequence = 0;
  const newContact = () => {
    sequence += 1;
    return JSON.stringify({
      name: `Bench contact ${sequence}`,
      phone: `+7916${String(sequence).padStart(7, "0")}`,
    });
  };

  try {
    for (const store of stores) {
      let cleanup: () => Promise<void> = async () => {};
      let spec: ServerSpec;
      if (store === "pglite") {
        const dataDir = mkdtempSync(join(tmpdir(), "switchboard-bench-"));
        spec = { kind: "hub", store, dataDir };
        cleanup = async () => rmSync(dataDir, { recursive: true, force: true });
      } else {
        const { createScratchDatabase } = await import("../src/testing/stores.ts");
        const scratch = await createScratchDatabase(adminUrl as string);
        spec = { kind: "hub", store, databaseUrl: scratch.url };
        cleanup = () => scratch.drop();
      }
      try {
        const started = performance.now();
        const hub = await startServer(spec);
        const setup = ((performance.now() - started) / 1000).toFixed(1);
        console.log(`  (${store}: hub started, migrated and seeded in ${setup} s)`);
        try {
          const auth = { authorization: `Bearer ${hub.key}` };
          if (store === stores[0]) await run("healthz/hub", { url: `${hub.url}/healthz`, expect: 200 });
          await run(`list/${store}`, { url: `${hub.url}/v1/contacts?limit=20`, headers: auth, expect: 200 });
          await run(`create/${store}`, {
            url: `${hub.url}/v1/contacts`,
            method: "POST",
            headers: { ...auth, "content-type": "application/json" },
            body: newContact,
            expect: 201,
          });
        } finally {
          await hub.stop();
        }
      } finally {
        await cleanup();
      }
    }
  } finally {
    await bare.stop();
  }

  const bareRates = results.map((r) => r.bare.rps);
  const spread = (Math.max(...bareRates) - Math.min(...bareRates)) / Math.min(...bareRates);
  console.log("");
  console.log(
    `The bare route ranged from ${int(Math.min(...bareRates))} to ${int(Math.max(...bareRates))} req/s across scenarios ` +
      `(${(spread * 100).toFixed(0)}%)${spread > 0.25 ? ": the machine was busy; run again for quieter figures" : ""}.`,
  );
  console.log("");
  console.log(
    "| Scenario | req/s | p50 (ms) | p99 (ms) | bare req/s | bare p50 (ms) | bare p99 (ms) | × bare |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const { measured: m, bare: b } of results) {
    console.log(
      `| ${m.name} | ${int(m.rps)} | ${ms(m.p50)} | ${ms(m.p99)} | ${int(b.rps)} | ${ms(b.p50)} | ${ms(b.p99)} | ${times(m.rps / b.rps)} |`,
    );
  }
  const failed = results.filter(
    (r) => r.measured.failures.length + r.bare.failures.length > 0 || r.measured.requests === 0,
  );
  if (failed.length > 0) {
    const names = failed.map((r) => r.measured.name).join(", ");
    console.error(`\n${failed.length} scenario(s) had failed requests: ${names}`);
    return 1;
  }
  return 0;
}

if (process.argv[2] === "--serve") {
  serve(JSON.parse(process.argv[3] as string) as ServerSpec).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().then(
    (code) => process.exit(code),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
