/**
 * Send benchmark: messages through `POST /v1/messages` (batches of 1,000) to the VK emulator with
 * every limit lifted — accepted/s at the API and delivered/s by the dispatcher — beside a
 * baseline in the same run that inserts the same rows and calls the emulator directly, with no
 * queue; and a precision run: an account limited to 50 messages/s for 60 s, measured at the
 * emulator (the largest count in any one-second window, which must not exceed 50, and the mean
 * rate, target ≥ 48/s).
 *
 *   npm run bench:send
 *   SWITCHBOARD_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres npm run bench:send
 *
 * Knobs: BENCH_SEND_MESSAGES (default 100,000), BENCH_SEND_CONCURRENCY (batches in flight,
 * default 2), BENCH_PRECISION_SECONDS (default 60, 0 skips the precision run), BENCH_STORES
 * (e.g. `postgres`; default both when a server URL is set).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { v7 as uuidv7 } from "uuid";
import { startVkEmulator, type VkEmulator } from "../emulators/vk/server.ts";
import { int, times } from "./support/load.ts";
import { benchmark, type Served, startChild } from "./support/servers.ts";

const benchFile = fileURLToPath(import.meta.url);
const total = Number(process.env.BENCH_SEND_MESSAGES ?? 100_000);
const concurrency = Number(process.env.BENCH_SEND_CONCURRENCY ?? 2);
const precisionSeconds = Number(process.env.BENCH_PRECISION_SECONDS ?? 60);
const batchSize = 1_000;
/** The dispatcher's sends in flight per account, which the baseline's loop matches. */
const inFlight = 16;

type Where = { dataDir: string } | { databaseUrl: string };

interface Spec {
  store: Where;
  groupId: number;
  tokens: string[];
  apiBaseUrl: string;
  userIds: number[];
  limits: Record<string, number>;
}

interface Ready {
  url: string;
  key: string;
  channelId: string;
  contactIds: string[];
}

/** The hub, in a child process, with one VK channel and a contact for each emulator user. */
async function serve(spec: Spec): Promise<Served<Ready>> {
  const { loadConfig } = await import("../src/config/load-config.ts");
  const { startHub } = await import("../src/hub/hub.ts");
  const { secretBoxFor } = await import("../src/hub/open-store.ts");
  const { createApiKey } = await import("../src/store/repositories/api-keys.ts");
  const { createChannelAccount, transitionChannelState, updateChannelAccount } = await import(
    "../src/store/repositories/channel-accounts.ts"
  );
  const { oldestWorkspace } = await import("../src/store/repositories/workspaces.ts");
  const { connectionStates, contact, contactIdentity } = await import("../src/store/schema.ts");
  const config = loadConfig({
    env: {},
    flags: {
      host: "127.0.0.1",
      port: 0,
      logLevel: process.env.BENCH_LOG ?? "silent",
      rateLimit: 1_000_000,
      rateLimitBurst: 1_000_000,
      bodyLimit: 16 * 1024 * 1024,
      ...("dataDir" in spec.store
        ? { dataDir: spec.store.dataDir }
        : { databaseUrl: spec.store.databaseUrl, secretKey: randomBytes(32).toString("base64") }),
    },
  });
  const hub = await startHub(config, { say: () => {} });
  const db = hub.store.db;
  const workspace = await oldestWorkspace(db);
  if (!workspace) throw new Error("startHub created no default workspace");
  const { secret: key } = await createApiKey(db, { workspaceId: workspace.id, name: "bench" });
  const box = secretBoxFor(config);
  const channel = await createChannelAccount(db, box, {
    workspaceId: workspace.id,
    kind: "vk",
    externalId: String(spec.groupId),
    name: "Bench community",
    credentials: { tokens: spec.tokens, callbackSecret: "bench" },
    settings: { mode: "callback", apiBaseUrl: spec.apiBaseUrl, apiLimit: 10_000 },
  });
  await updateChannelAccount(db, box, channel.id, { limits: spec.limits });
  await transitionChannelState(db, channel.id, {
    state: "online",
    reason: null,
    problem: null,
    from: connectionStates,
  });
  const contactIds = spec.userIds.map(() => uuidv7());
  for (let start = 0; start < contactIds.length; start += 1_000) {
    const ids = contactIds.slice(start, start + 1_000);
    await db
      .insert(contact)
      .values(ids.map((id) => ({ id, workspaceId: workspace.id, name: "Bench client" })));
    await db.insert(contactIdentity).values(
      ids.map((contactId, i) => ({
        workspaceId: workspace.id,
        contactId,
        channelKind: "vk" as const,
        externalId: String(spec.userIds[start + i]),
      })),
    );
  }
  return { ready: { url: hub.url, key, channelId: channel.id, contactIds }, close: () => hub.close() };
}

// ── Runs ─────────────────────────────────────────────────────────────────────

interface Throughput {
  accepted: number;
  delivered: number;
}

/** Sends `count` messages through the API and waits until the emulator has them all. */
async function throughHub(vk: VkEmulator, where: Where, count: number): Promise<Throughput> {
  const world = newCommunity(vk, 4, Math.min(count, 5_000));
  const hub = await startChild<Ready>(
    benchFile,
    { ...world.spec, store: where, limits: lifted } satisfies Spec,
    "hub",
  );
  try {
    const before = world.sent();
    const started = performance.now();
    let next = 0;
    const post = async () => {
      while (next < count) {
        const from = next;
        next += batchSize;
        const body = Array.from({ length: Math.min(batchSize, count - from) }, (_, i) => ({
          recipient: { contact_id: hub.contactIds[(from + i) % hub.contactIds.length] },
          routes: [hub.channelId],
          text: `Уведомление ${from + i}`,
          priority: "bulk",
        }));
        const res = await fetch(`${hub.url}/v1/messages`, {
          method: "POST",
          headers: { authorization: `Bearer ${hub.key}`, "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        const answer = (await res.json()) as { results: { code: string }[] };
        if (res.status !== 200 || answer.results.some((r) => r.code !== "OK"))
          throw new Error(`the hub refused a batch: ${res.status} ${JSON.stringify(answer).slice(0, 300)}`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, post));
    const accepted = performance.now() - started;
    const progress = setInterval(() => console.error(`  … ${world.sent() - before} delivered`), 5_000);
    await until(() => world.sent() - before >= count, 30 * 60_000).finally(() => clearInterval(progress));
    const delivered = performance.now() - started;
    return { accepted: (count / accepted) * 1000, delivered: (count / delivered) * 1000 };
  } finally {
    await hub.stop();
  }
}

/**
 * The baseline: the same rows inserted in batches of 1,000 by a plain loop, then each sent to the
 * emulator with `messages.send` by `inFlight` loops and marked sent; no queue, no limits.
 */
async function direct(vk: VkEmulator, where: Where, count: number): Promise<Throughput> {
  const world = newCommunity(vk, 4, Math.min(count, 5_000));
  const { openStore } = await import("../src/store/database.ts");
  const { migrate } = await import("../src/store/migrations.ts");
  const { createWorkspace } = await import("../src/store/repositories/workspaces.ts");
  const { channelAccount, contact, message } = await import("../src/store/schema.ts");
  const { eq } = await import("drizzle-orm");
  const store = await openStore(
    "dataDir" in where
      ? { mode: "embedded", dataDir: where.dataDir }
      : { mode: "server", databaseUrl: where.databaseUrl },
  );
  try {
    await migrate(store);
    const db = store.db;
    const workspace = await createWorkspace(db, "Baseline");
    const [channel] = await db
      .insert(channelAccount)
      .values({ workspaceId: workspace.id, kind: "vk", externalId: String(world.groupId), name: "Baseline" })
      .returning();
    const contactIds = world.spec.userIds.map(() => uuidv7());
    for (let start = 0; start < contactIds.length; start += 1_000)
      await db
        .insert(contact)
        .values(contactIds.slice(start, start + 1_000).map((id) => ({ id, workspaceId: workspace.id })));
    const rows = Array.from({ length: count }, (_, i) => ({
      id: uuidv7(),
      workspaceId: workspace.id,
      channelAccountId: channel?.id as string,
      contactId: contactIds[i % contactIds.length] as string,
      direction: "outbound" as const,
      authorKind: "api" as const,
      text: `Уведомление ${i}`,
      status: "queued" as const,
      routes: [channel?.id as string],
      priority: "bulk" as const,
      queueRank: 2,
      notBefore: new Date(),
    }));
    const started = performance.now();
    for (let start = 0; start < count; start += batchSize)
      for (let chunk = start; chunk < Math.min(count, start + batchSize); chunk += 500)
        await db.insert(message).values(rows.slice(chunk, Math.min(chunk + 500, start + batchSize, count)));
    const accepted = performance.now() - started;
    let next = 0;
    const sendLoop = async (token: string) => {
      while (next < count) {
        const i = next++;
        const row = rows[i] as (typeof rows)[number];
        const form = new URLSearchParams({
          access_token: token,
          v: "5.199",
          peer_id: String(world.spec.userIds[i % world.spec.userIds.length]),
          random_id: String(i + 1),
          message: row.text,
        });
        const res = await fetch(`${vk.apiBaseUrl}/messages.send`, { method: "POST", body: form });
        const answer = (await res.json()) as { response?: number; error?: unknown };
        if (answer.response === undefined) throw new Error(`the emulator refused: ${JSON.stringify(answer)}`);
        await db
          .update(message)
          .set({ status: "sent", externalId: String(answer.response) })
          .where(eq(message.id, row.id));
      }
    };
    await Promise.all(
      Array.from({ length: inFlight }, (_, i) =>
        sendLoop(world.spec.tokens[i % world.spec.tokens.length] as string),
      ),
    );
    const delivered = performance.now() - started;
    return { accepted: (count / accepted) * 1000, delivered: (count / delivered) * 1000 };
  } finally {
    await store.close();
  }
}

/** 50 messages/s for `seconds`: what the emulator received, second by second. */
async function precision(vk: VkEmulator, where: Where, seconds: number) {
  const limit = 50;
  const count = limit * (seconds + 10);
  const world = newCommunity(vk, 1, count);
  const hub = await startChild<Ready>(
    benchFile,
    {
      ...world.spec,
      store: where,
      limits: { per_second: limit, notifications_per_second: limit, per_recipient_per_day: 0 },
    } satisfies Spec,
    "hub",
  );
  try {
    for (let from = 0; from < count; from += batchSize) {
      const body = Array.from({ length: Math.min(batchSize, count - from) }, (_, i) => ({
        recipient: { contact_id: hub.contactIds[from + i] },
        routes: [hub.channelId],
        text: `Точно ${from + i}`,
      }));
      const res = await fetch(`${hub.url}/v1/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${hub.key}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (res.status !== 200) throw new Error(`the hub refused a batch: ${res.status}`);
    }
    await until(() => world.sent() > 0, 30_000);
    await new Promise((done) => setTimeout(done, (seconds + 2) * 1000));
  } finally {
    await hub.stop();
  }
  const arrivals = vk.control
    .requests({ groupId: world.groupId, method: "messages.send" })
    .filter((r) => r.result === "ok")
    .map((r) => r.at)
    .sort((a, b) => a - b);
  const first = arrivals[0] ?? 0;
  const window = arrivals.filter((at) => at < first + seconds * 1000);
  let largest = 0;
  for (let lo = 0, hi = 0; hi < window.length; hi += 1) {
    while ((window[hi] as number) - (window[lo] as number) >= 1000) lo += 1;
    largest = Math.max(largest, hi - lo + 1);
  }
  return { largest, mean: window.length / seconds, count: window.length };
}

// ── Helpers ──────────────────────────────────────────────────────────────────

const lifted = { per_second: 100_000, notifications_per_second: 100_000, per_recipient_per_day: 0 };

function newCommunity(vk: VkEmulator, tokens: number, users: number) {
  const community = vk.control.createCommunity({
    name: `Bench ${randomBytes(3).toString("hex")}`,
    tokens: Array.from({ length: tokens }, () => ({})),
  });
  const userIds = Array.from(
    { length: users },
    () => vk.control.createUser({ firstName: "Клиент", allowsMessages: true }).id,
  );
  return {
    groupId: community.id,
    spec: {
      groupId: community.id,
      tokens: community.tokens.map((t) => t.value),
      apiBaseUrl: vk.apiBaseUrl,
      userIds,
    },
    sent: () =>
      vk.control.requests({ groupId: community.id, method: "messages.send" }).filter((r) => r.result === "ok")
        .length,
  };
}

async function until(done: () => boolean, timeoutMs: number) {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

async function withStore<T>(
  kind: "pglite" | "postgres",
  adminUrl: string | undefined,
  run: (where: Where) => Promise<T>,
) {
  if (kind === "pglite") {
    const dataDir = mkdtempSync(join(tmpdir(), "switchboard-bench-"));
    try {
      return await run({ dataDir });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const { createScratchDatabase } = await import("../src/testing/stores.ts");
  const scratch = await createScratchDatabase(adminUrl as string);
  try {
    return await run({ databaseUrl: scratch.url });
  } finally {
    await scratch.drop();
  }
}

async function main(): Promise<number> {
  const adminUrl = process.env.SWITCHBOARD_BENCH_DATABASE_URL || process.env.SWITCHBOARD_TEST_DATABASE_URL;
  const stores = (process.env.BENCH_STORES?.split(",") ??
    (adminUrl ? ["pglite", "postgres"] : ["pglite"])) as ("pglite" | "postgres")[];
  console.log("Switchboard send benchmark (bench/send.ts)");
  console.log(`  date        ${new Date().toISOString()}`);
  console.log(
    `  node        ${process.version}; ${availableParallelism()} cores (${cpus()[0]?.model ?? "unknown CPU"})`,
  );
  console.log(
    `  load        ${int(total)} messages in batches of ${int(batchSize)}, ${concurrency} batches in flight; 4 tokens, limits lifted`,
  );
  console.log(
    "  note        hub (child process), this process, the emulator and PostgreSQL share these cores",
  );
  console.log("");
  const vk = await startVkEmulator({ rateLimit: { perSecond: 1_000_000 }, logLimit: 10_000_000 });
  const rows: string[] = [];
  let failed = 0;
  try {
    for (const store of stores) {
      const hub = await withStore(store, adminUrl, (where) => throughHub(vk, where, total));
      const base = await withStore(store, adminUrl, (where) => direct(vk, where, total));
      rows.push(
        `| send/${store} | ${int(hub.accepted)} | ${int(base.accepted)} | ${times(hub.accepted / base.accepted)} | ${int(hub.delivered)} | ${int(base.delivered)} | ${times(hub.delivered / base.delivered)} |`,
      );
      console.log(rows.at(-1));
    }
    console.log("");
    console.log("| Run | accepted/s | baseline inserts/s | ratio | delivered/s | baseline sends/s | ratio |");
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const row of rows) console.log(row);
    if (precisionSeconds > 0) {
      const p = await withStore("pglite", adminUrl, (where) => precision(vk, where, precisionSeconds));
      const ok = p.largest <= 50 && p.mean >= 48;
      if (!ok) failed += 1;
      console.log("");
      console.log(
        "| Precision run (limit 50/s) | seconds | messages | largest in any 1 s | mean/s | verdict |",
      );
      console.log("| --- | ---: | ---: | ---: | ---: | --- |");
      console.log(
        `| precision/pglite | ${precisionSeconds} | ${int(p.count)} | ${p.largest} | ${p.mean.toFixed(1)} | ${ok ? "meets ≤ 50 and ≥ 48/s" : "MISSES the target"} |`,
      );
    }
  } finally {
    await vk.close();
  }
  return failed;
}

benchmark(main, serve);
