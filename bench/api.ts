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
 *   mine/<store>    GET /v1/conversations?status=open&assignee=operator-3&order=last_message&limit=20:
 *                   an operator's inbox, over 100,000 conversations of which 2% are open and a
 *                   twentieth of the assigned ones are theirs
 *   (bare)          GET /bare on a plain Hono app answering a constant JSON: the baseline of each
 *
 * Stores: PGlite on a temporary data directory (real files), always; PostgreSQL when
 * SWITCHBOARD_BENCH_DATABASE_URL (or SWITCHBOARD_TEST_DATABASE_URL) names a server, on a scratch
 * database created for the run and dropped at the end.
 *
 * Knobs: BENCH_DURATION (measured seconds per side, default 5), BENCH_WARMUP (seconds, default 1.5),
 * BENCH_CONNECTIONS (default 10), BENCH_CONTACTS (contacts seeded, default 1000), BENCH_CONVERSATIONS
 * (conversations seeded, default 100000); BENCH_ANALYZE=1
 * runs ANALYZE after seeding (the hub's own first one comes 30 s after start, see docs/benchmarks.md); BENCH_CPU_PROF=<dir>
 * writes a V8 CPU profile of every server process into <dir> (Chrome DevTools or speedscope open it).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  connections,
  durationSeconds,
  int,
  type Load,
  line,
  type Measured,
  measurePaired,
  report,
  reportCpu,
  sliceSeconds,
  warmupSeconds,
} from "./support/load.ts";
import { benchmark, type Served, serveBare, startChild } from "./support/servers.ts";

const benchFile = fileURLToPath(import.meta.url);
const seedContacts = Number(process.env.BENCH_CONTACTS ?? 1_000);
const seedConversations = Number(process.env.BENCH_CONVERSATIONS ?? 100_000);
const mineQuery = "status=open&assignee=operator-3&order=last_message&limit=20";
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

async function serve(spec: ServerSpec): Promise<Served<ServerReady>> {
  if (spec.kind === "bare") {
    const bare = await serveBare();
    return { ready: { ...bare.ready, key: "" }, close: bare.close };
  }
  const { loadConfig } = await import("../src/config/load-config.ts");
  const { startHub } = await import("../src/hub/hub.ts");
  const { createApiKey } = await import("../src/store/repositories/api-keys.ts");
  const { listWorkspaces } = await import("../src/store/repositories/workspaces.ts");
  const { channelAccount, contact, contactIdentity } = await import("../src/store/schema.ts");
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
  // Comment threads, one a minute back over the last months: every 50th open, every 33rd
  // pending, the rest resolved; half assigned, to twenty operators in turn.
  const [channel] = await db
    .insert(channelAccount)
    .values({
      workspaceId: workspace.id,
      kind: "telegram",
      externalId: "bench",
      name: "Bench",
      state: "disabled",
    })
    .returning({ id: channelAccount.id });
  await db.execute(sql`
    insert into conversation (id, workspace_id, channel_account_id, kind, external_ref, status, assignee, last_message_at)
    select gen_random_uuid(), ${workspace.id}, ${channel?.id}, 'comments', 'post-' || i,
      case when i % 50 = 0 then 'open' when i % 33 = 0 then 'pending' else 'resolved' end,
      case when i % 2 = 1 then 'operator-' || (i / 2) % 20 end,
      now() - i * interval '1 minute'
    from generate_series(1, ${seedConversations}) as i`);
  // Off by default: the scenarios start before the embedded store's first vacuum and analyze (30 s).
  if (analyze) await db.execute(sql`analyze`);
  return { ready: { url: hub.url, key: secret }, close: () => hub.close() };
}

// ---------------------------------------------------------------------------------------------
// Parent side: start servers, drive load, report.
// ---------------------------------------------------------------------------------------------

const startServer = (spec: ServerSpec) =>
  startChild<ServerReady>(benchFile, spec, spec.kind === "bare" ? "bare Hono" : `hub (${spec.store})`);

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
    `  data        ${int(seedContacts)} contacts with one identity each, ${int(seedConversations)} conversations${analyze ? ", ANALYZEd" : ""}`,
  );
  console.log(
    `  stores      ${stores.join(", ")}${adminUrl ? "" : " (set SWITCHBOARD_TEST_DATABASE_URL to add postgres)"}`,
  );
  console.log("");

  const results: { measured: Measured; bare: Measured }[] = [];
  const bare = await startServer({ kind: "bare" });
  const bareLoad: Load = { url: `${bare.url}/bare`, expect: 200 };
  const run = async (name: string, load: Load, hubPid: number) => {
    const result = await measurePaired(name, load, bareLoad, { load: [hubPid], bare: [bare.pid] });
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
          if (store === stores[0])
            await run("healthz/hub", { url: `${hub.url}/healthz`, expect: 200 }, hub.pid);
          await run(
            `list/${store}`,
            { url: `${hub.url}/v1/contacts?limit=20`, headers: auth, expect: 200 },
            hub.pid,
          );
          await run(
            `create/${store}`,
            {
              url: `${hub.url}/v1/contacts`,
              method: "POST",
              headers: { ...auth, "content-type": "application/json" },
              body: newContact,
              expect: 201,
            },
            hub.pid,
          );
          await run(
            `mine/${store}`,
            { url: `${hub.url}/v1/conversations?${mineQuery}`, headers: auth, expect: 200 },
            hub.pid,
          );
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

  const code = report(results);
  reportCpu(results);
  return code;
}

benchmark(main, serve);
