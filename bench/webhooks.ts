/**
 * Webhook delivery benchmark: the hub's durable delivery (events stored with their deliveries,
 * claimed with FOR UPDATE SKIP LOCKED, signed, POSTed, every attempt logged) beside a baseline in
 * the same run: the same signed POSTs sent by a plain loop with the same concurrency and no
 * persistence. The receiver runs in a child process of its own and measures, for each request,
 * the time from the event's `timestamp` to its arrival.
 *
 *   npm run bench:webhooks
 *   SWITCHBOARD_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres npm run bench:webhooks
 *
 * Scenarios, per store (PGlite on a temporary directory; PostgreSQL on a scratch database when a
 * server URL is set):
 *   burst/<store>    BENCH_EVENTS (default 50,000) events over 1,000 conversations, recorded as
 *                    fast as the store takes them (100 per transaction) while the worker delivers
 *   rate/<store>     BENCH_RATE events/s (default 200) for BENCH_RATE_SECONDS (default 10), one
 *                    event per transaction: event-to-receipt latency at a steady rate
 *   outage/<store>   BENCH_OUTAGE_EVENTS (default 5,000) events recorded while the receiver is down
 *                    (a retry every second), then the receiver comes back: time until the backlog is in
 * Concurrency: BENCH_CONCURRENCY requests in flight (default 64), all to one endpoint.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { v7 as uuidv7 } from "uuid";
import { Egress } from "../src/net/egress.ts";
import { presentConversation } from "../src/pipeline/objects.ts";
import { conversationEvent, recordEvent } from "../src/pipeline/webhooks/events.ts";
import { newSigningSecret, signatureHeader } from "../src/pipeline/webhooks/signature.ts";
import { DeliveryWorker, systemClock } from "../src/pipeline/webhooks/worker.ts";
import { type Db, openStore, type Store } from "../src/store/database.ts";
import { migrate } from "../src/store/migrations.ts";
import { createChannelAccount } from "../src/store/repositories/channel-accounts.ts";
import type { Conversation } from "../src/store/repositories/conversations.ts";
import {
  createEndpoint,
  updateWebhookSettings,
  webhookSettingsOf,
} from "../src/store/repositories/webhooks.ts";
import { createWorkspace } from "../src/store/repositories/workspaces.ts";
import { conversation as conversationTable } from "../src/store/schema.ts";
import { SecretBox } from "../src/store/secret-box.ts";
import { createScratchDatabase } from "../src/testing/stores.ts";
import { int, ms, percentile } from "./support/load.ts";
import { benchmark, type Served, startChild } from "./support/servers.ts";

const benchFile = fileURLToPath(import.meta.url);
const events = Number(process.env.BENCH_EVENTS ?? 50_000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 64);
const rate = Number(process.env.BENCH_RATE ?? 200);
const rateSeconds = Number(process.env.BENCH_RATE_SECONDS ?? 10);
const outageEvents = Number(process.env.BENCH_OUTAGE_EVENTS ?? 5_000);
const conversations = 1_000;

// ── The receiver (child process) ─────────────────────────────────────────────

interface ReceiverSpec {
  port: number;
}

/** Answers 204 to every POST; `GET /stats` tells how many distinct events arrived and how late. */
async function serveReceiver(spec: ReceiverSpec): Promise<Served<{ url: string }>> {
  const latencies: number[] = [];
  const seen = new Set<string>();
  let requests = 0;
  const server = createServer((req, res) => {
    if (req.method === "GET") {
      const sorted = Float64Array.from(latencies).sort();
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          requests,
          distinct: seen.size,
          p50: percentile(sorted, 0.5),
          p99: percentile(sorted, 0.99),
          last: Date.now(),
        }),
      );
      if (req.url === "/stats?reset=1") {
        latencies.length = 0;
        seen.clear();
        requests = 0;
      }
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      requests++;
      const id = String(req.headers["webhook-id"]);
      if (!seen.has(id)) {
        seen.add(id);
        latencies.push(Date.now() - Date.parse(JSON.parse(Buffer.concat(chunks).toString("utf8")).timestamp));
      }
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(spec.port, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    ready: { url: `http://127.0.0.1:${port}` },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

interface Stats {
  requests: number;
  distinct: number;
  p50: number;
  p99: number;
}

async function stats(url: string, reset = false): Promise<Stats> {
  // A kept-alive connection the receiver just closed fails one request: ask again.
  for (let attempt = 1; ; attempt++) {
    try {
      return (await (await fetch(`${url}/stats${reset ? "?reset=1" : ""}`)).json()) as Stats;
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

const progress = (text: string) => process.stderr.write(`${new Date().toISOString()} ${text}\n`);

async function until(url: string, count: number, timeoutMs = 600_000): Promise<Stats> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await stats(url);
    if (now.distinct >= count) return now;
    if (Date.now() > deadline) throw new Error(`only ${now.distinct} of ${count} events arrived`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

// ── The hub side (this process) ──────────────────────────────────────────────

interface Hub {
  store: Store;
  box: SecretBox;
  workspaceId: string;
  conversations: Conversation[];
  worker: DeliveryWorker;
  close(): Promise<void>;
}

async function openHub(kind: "pglite" | "postgres", receiverUrl: string): Promise<Hub> {
  const serverUrl = process.env.SWITCHBOARD_BENCH_DATABASE_URL ?? process.env.SWITCHBOARD_TEST_DATABASE_URL;
  let cleanup: () => Promise<void>;
  let store: Store;
  if (kind === "pglite") {
    const dir = mkdtempSync(join(tmpdir(), "switchboard-bench-"));
    store = await openStore({ mode: "embedded", dataDir: dir });
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const scratch = await createScratchDatabase(serverUrl as string);
    store = await openStore({ mode: "server", databaseUrl: scratch.url, poolSize: 10 });
    cleanup = scratch.drop;
  }
  await migrate(store);
  const box = new SecretBox(Buffer.alloc(32, 7));
  const workspace = await createWorkspace(store.db, "Bench");
  const channel = await createChannelAccount(store.db, box, {
    workspaceId: workspace.id,
    kind: "vk",
    externalId: "1",
    name: "VK",
    credentials: { tokens: ["t"] },
  });
  const rows = await store.db
    .insert(conversationTable)
    .values(
      Array.from({ length: conversations }, (_, i) => ({
        workspaceId: workspace.id,
        channelAccountId: channel.id,
        contactId: null,
        kind: "comments" as const,
        externalRef: `wall-1_${i}`,
      })),
    )
    .returning();
  await createEndpoint(store.db, workspace.id, {
    url: `${receiverUrl}/hooks`,
    sealedSecret: box.seal(newSigningSecret()),
  });
  const worker = new DeliveryWorker(
    { store, box, egress: new Egress({ allow: ["127.0.0.1"] }), logger: pino({ level: "silent" }) },
    {
      concurrency,
      perTarget: concurrency,
      timeoutMs: 15_000,
      retrySchedule: [1],
      disableAfterHours: 120,
      orderHoldAttempts: 4,
      pollMs: 1000,
      clock: systemClock,
    },
  );
  await worker.start();
  return {
    store,
    box,
    workspaceId: workspace.id,
    conversations: rows,
    worker,
    async close() {
      await worker.stop();
      await store.close();
      await cleanup();
    },
  };
}

const eventOf = (hub: Hub, i: number) =>
  conversationEvent("conversation.updated", hub.conversations[i % conversations] as Conversation);

/** Records `count` events, `perTransaction` to a transaction, as fast as the store takes them. */
async function record(db: Db, hub: Hub, count: number, perTransaction: number, offset = 0) {
  for (let done = 0; done < count; done += perTransaction) {
    await db.transaction(async (tx) => {
      for (let i = done; i < Math.min(count, done + perTransaction); i++)
        await recordEvent(tx, eventOf(hub, offset + i));
    });
  }
}

// ── The baseline: the same signed POSTs from a plain loop, nothing stored ─────

async function baseline(receiverUrl: string, count: number, pace?: number): Promise<number> {
  const egress = new Egress({ allow: ["127.0.0.1"] });
  const secret = newSigningSecret();
  const sample = presentConversation({
    id: uuidv7(),
    workspaceId: uuidv7(),
    channelAccountId: uuidv7(),
    contactId: null,
    kind: "comments",
    externalRef: "wall-1_1",
    status: "open",
    assignee: null,
    replyWindowEndsAt: null,
    lastMessageAt: null,
    createdAt: new Date(),
    updatedAt: new Date(),
  });
  const queue: { id: string; body: string }[] = [];
  let made = 0;
  const make = () => {
    const id = uuidv7();
    const body = JSON.stringify({
      id,
      type: "conversation.updated",
      timestamp: new Date().toISOString(),
      workspace_id: sample.id,
      data: { conversation: sample },
    });
    queue.push({ id, body });
    made++;
  };
  const started = performance.now();
  const producer = pace
    ? new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          const due = Math.min(count, Math.floor(((performance.now() - started) / 1000) * pace));
          while (made < due) make();
          if (made >= count) {
            clearInterval(timer);
            resolve();
          }
        }, 5);
      })
    : Promise.resolve(Array.from({ length: count }, make)).then(() => {});
  let sent = 0;
  const sender = async () => {
    while (sent < count) {
      const next = queue.shift();
      if (!next) {
        await new Promise((done) => setTimeout(done, 1));
        continue;
      }
      sent++;
      const timestamp = Math.floor(Date.now() / 1000);
      await egress.request(`${receiverUrl}/hooks`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "webhook-id": next.id,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": signatureHeader([secret], next.id, timestamp, next.body),
          "webhook-attempt": "1",
        },
        body: next.body,
        timeoutMs: 15_000,
        maxBodyBytes: 1024,
      });
    }
  };
  await Promise.all([producer, ...Array.from({ length: concurrency }, sender)]);
  return performance.now() - started;
}

// ── Scenarios ────────────────────────────────────────────────────────────────

interface Row {
  name: string;
  perSecond: number;
  p50: number;
  p99: number;
  base?: { perSecond: number; p50: number; p99: number };
}

async function scenarios(kind: "pglite" | "postgres"): Promise<Row[]> {
  const rows: Row[] = [];
  const port = await freePort();
  const receiver = await startChild<{ url: string }>(benchFile, { port }, "receiver");
  const url = receiver.url;
  try {
    // Baseline and hub alternate over the same receiver; each starts from reset stats.
    await stats(url, true);
    progress(`burst: plain loop, ${events} events`);
    const baseMs = await baseline(url, events);
    const base = await until(url, events);
    await stats(url, true);
    const hub = await openHub(kind, url);
    progress(`burst: hub on ${kind}`);
    try {
      const started = performance.now();
      await record(hub.store.db, hub, events, 100);
      const burst = await until(url, events);
      const elapsed = performance.now() - started;
      rows.push({
        name: `burst/${kind}`,
        perSecond: (events / elapsed) * 1000,
        p50: burst.p50,
        p99: burst.p99,
        base: { perSecond: (events / baseMs) * 1000, p50: base.p50, p99: base.p99 },
      });

      const steady = rate * rateSeconds;
      progress(`rate: ${rate}/s`);
      await stats(url, true);
      await baseline(url, steady, rate);
      const baseSteady = await until(url, steady);
      await stats(url, true);
      const startedSteady = performance.now();
      for (let i = 0; i < steady; i++) {
        const due = startedSteady + (i / rate) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((done) => setTimeout(done, wait));
        await recordEvent(hub.store.db, eventOf(hub, i));
      }
      const hubSteady = await until(url, steady);
      rows.push({
        name: `rate/${kind}`,
        perSecond: rate,
        p50: hubSteady.p50,
        p99: hubSteady.p99,
        base: { perSecond: rate, p50: baseSteady.p50, p99: baseSteady.p99 },
      });

      progress("outage");
      // The outage: the receiver is gone while events pile up, retried every second.
      await webhookSettingsOf(hub.store.db, hub.workspaceId, () => hub.box.seal(newSigningSecret()));
      await updateWebhookSettings(hub.store.db, hub.workspaceId, { retrySchedule: Array(30).fill(1) });
      await receiver.stop();
      await record(hub.store.db, hub, outageEvents, 100, 7);
      await new Promise((done) => setTimeout(done, 3_000));
      const back = await startChild<{ url: string }>(benchFile, { port }, "receiver");
      const returned = performance.now();
      await until(back.url, outageEvents);
      const drained = performance.now() - returned;
      rows.push({
        name: `outage/${kind}`,
        perSecond: (outageEvents / drained) * 1000,
        p50: drained,
        p99: drained,
      });
      await back.stop();
    } finally {
      await hub.close();
    }
  } finally {
    await receiver.stop();
  }
  return rows;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function main(): Promise<number> {
  const serverUrl = process.env.SWITCHBOARD_BENCH_DATABASE_URL ?? process.env.SWITCHBOARD_TEST_DATABASE_URL;
  console.log(
    `# bench/webhooks ${new Date().toISOString()} node ${process.version} ${availableParallelism()} cores (${cpus()[0]?.model ?? "?"})`,
  );
  console.log(
    `events ${int(events)}, concurrency ${concurrency}, rate ${rate}/s × ${rateSeconds} s, outage ${int(outageEvents)}`,
  );
  const rows: Row[] = [];
  for (const kind of ["pglite", ...(serverUrl ? ["postgres" as const] : [])] as const)
    rows.push(...(await scenarios(kind)));
  console.log("");
  console.log(
    "| Scenario | events/s | p50 (ms) | p99 (ms) | plain loop events/s | loop p50 / p99 (ms) | × loop |",
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const row of rows) {
    if (!row.base) {
      console.log(`| ${row.name} | ${int(row.perSecond)} | backlog in ${ms(row.p50)} | | | | |`);
      continue;
    }
    const ratio = row.name.startsWith("rate/")
      ? `p99 ${(row.p99 / row.base.p99).toFixed(1)}×`
      : `${(row.perSecond / row.base.perSecond).toFixed(3)}×`;
    console.log(
      `| ${row.name} | ${int(row.perSecond)} | ${ms(row.p50)} | ${ms(row.p99)} | ${int(row.base.perSecond)} | ${ms(row.base.p50)} / ${ms(row.base.p99)} | ${ratio} |`,
    );
  }
  return 0;
}

benchmark(main, serveReceiver);
