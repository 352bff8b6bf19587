/**
 * Intake worker benchmark: how much it costs to process stored VK events (contacts, conversations,
 * messages, webhook events) when the worker drains a backlog, beside the cost of storing the same
 * events (the acknowledgement's write), measured in the same process and store. No HTTP and no
 * load generator: the figures are the store's and the worker's alone, steadier than
 * bench/vk-intake's on a shared machine.
 *
 *   npm run bench:intake-worker
 *   SWITCHBOARD_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres npm run bench:intake-worker
 *
 * Each round stores BENCH_WORKER_EVENTS (default 6,000) `message_new` events from 500 clients in
 * batches of 30, then drains them with the worker's default batches. A first round, not counted,
 * creates the clients' contacts and conversations. Stores: PGlite on a temporary directory
 * (real files); PostgreSQL on a scratch database when a server URL is set.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { IntakeWorker } from "../src/pipeline/intake/worker.ts";
import { openStore, type Store } from "../src/store/database.ts";
import { migrate } from "../src/store/migrations.ts";
import type { ChannelAccount } from "../src/store/repositories/channel-accounts.ts";
import { type NewInboundEvent, storeInboundEvents } from "../src/store/repositories/inbound-events.ts";
import { createTestHub } from "../src/testing/hub.ts";
import { createScratchDatabase } from "../src/testing/stores.ts";
import { vkEnvelope } from "../src/testing/vk-events.ts";
import { vkTestChannel } from "../src/testing/vk-world.ts";
import { int, times } from "./support/load.ts";

const eventsPerRound = Number(process.env.BENCH_WORKER_EVENTS ?? 6_000);
const rounds = 3;
const clients = 500;
const storeBatch = 30;
const groupId = 4242;
const secret = "bench";

interface Figures {
  store: string;
  storeUs: number;
  processUs: number;
}

async function measure(name: string, store: Store): Promise<Figures> {
  await migrate(store);
  const hub = await createTestHub(store);
  const channel = await vkTestChannel(hub, groupId, secret);
  const worker = new IntakeWorker(store, pino({ level: "silent" }));
  const storing: number[] = [];
  const processing: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    const events = Array.from({ length: eventsPerRound }, (_, i) =>
      messageEvent(channel, round * eventsPerRound + i + 1),
    );
    let started = performance.now();
    for (let i = 0; i < events.length; i += storeBatch)
      await storeInboundEvents(store.db, events.slice(i, i + storeBatch));
    const stored = performance.now() - started;
    started = performance.now();
    let processed = 0;
    for (let handled = await worker.runOnce(); handled > 0; handled = await worker.runOnce())
      processed += handled;
    const drained = performance.now() - started;
    if (processed !== eventsPerRound) throw new Error(`${name}: processed ${processed} of ${eventsPerRound}`);
    if (round === 0) continue;
    storing.push((stored * 1000) / eventsPerRound);
    processing.push((drained * 1000) / eventsPerRound);
  }
  const figures = { store: name, storeUs: median(storing), processUs: median(processing) };
  console.log(
    `worker/${name.padEnd(9)} processing ${int(figures.processUs).padStart(5)} µs/event (${int(1e6 / figures.processUs)} events/s)` +
      ` — ${times(figures.processUs / figures.storeUs)} storing them (${int(figures.storeUs)} µs/event)`,
  );
  return figures;
}

function messageEvent(channel: ChannelAccount, id: number): NewInboundEvent {
  const user = 1_000 + (id % clients);
  const envelope = vkEnvelope(groupId, secret, "message_new", {
    message: {
      id,
      date: 1_700_000_000 + id,
      from_id: user,
      peer_id: user,
      out: 0,
      text: `hello ${id}`,
      conversation_message_id: id,
      attachments: [],
      version: 1,
    },
    client_info: {
      button_actions: ["text"],
      keyboard: true,
      inline_keyboard: true,
      carousel: true,
      lang_id: 0,
    },
  });
  return {
    channelAccountId: channel.id,
    externalEventId: envelope.event_id,
    eventType: "message_new",
    payloadJson: JSON.stringify(envelope),
    retryCounter: null,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

async function main() {
  console.log("Switchboard intake worker benchmark (bench/intake-worker.ts)");
  console.log(`  date        ${new Date().toISOString()}`);
  console.log(
    `  node        ${process.version}; ${availableParallelism()} cores (${cpus()[0]?.model.split(" ")[0]})`,
  );
  console.log(
    `  rounds      ${rounds} × ${int(eventsPerRound)} events from ${clients} clients, medians; stored in batches of ${storeBatch}`,
  );
  console.log("");
  const results: Figures[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), "switchboard-bench-worker-"));
  const embedded = await openStore({ mode: "embedded", dataDir });
  try {
    results.push(await measure("pglite", embedded));
  } finally {
    await embedded.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const adminUrl = process.env.SWITCHBOARD_BENCH_DATABASE_URL || process.env.SWITCHBOARD_TEST_DATABASE_URL;
  if (adminUrl) {
    const scratch = await createScratchDatabase(adminUrl);
    const server = await openStore({ mode: "server", databaseUrl: scratch.url });
    try {
      results.push(await measure("postgres", server));
    } finally {
      await server.close();
      await scratch.drop();
    }
  }
  console.log("");
  console.log("| Store | processing (µs/event) | events/s | storing (µs/event) | processing ÷ storing |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const r of results)
    console.log(
      `| ${r.store} | ${int(r.processUs)} | ${int(1e6 / r.processUs)} | ${int(r.storeUs)} | ${times(r.processUs / r.storeUs)} |`,
    );
}

await main();
