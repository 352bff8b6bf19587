/**
 * VK intake benchmark: how fast the hub acknowledges Callback API events on
 * `POST /hooks/vk/<channel>` (each stored durably, deduplicated, before `ok`), beside a bare Hono
 * route answering `ok` to the same bodies in the same run; and the end-to-end time from a VK user's
 * message (the emulator delivering it over HTTP) to the message being readable through the API.
 *
 *   npm run bench:vk-intake
 *   SWITCHBOARD_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:55432/postgres npm run bench:vk-intake
 *
 * Scenarios, per store (PGlite on a temporary directory; PostgreSQL on a scratch database when a
 * server URL is set):
 *   intake/<store>     as many events as 10 connections get answered, unique event ids
 *   intake@1k/<store>  1,000 events/s, for the p99 at that rate (target: under 20 ms)
 *   e2e/<store>        100 messages written one by one by an emulator user: time until each is in
 *                      GET /v1/conversations/{id}/messages
 * and postgres-split: the same on PostgreSQL with the loaded hub in the role `api` (it only
 * acknowledges and answers) and a second hub process in the role `all` doing the background work.
 * The intake worker runs meanwhile, as in production: every acknowledged event is also processed.
 * Knobs as in bench/support/load.ts, BENCH_E2E_MESSAGES (default 100), and BENCH_INTAKE_WORKER=0
 * to measure acknowledgements alone (the worker stopped, no e2e).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startVkEmulator } from "../emulators/vk/server.ts";
import {
  connections,
  durationSeconds,
  int,
  type Load,
  line,
  type Measured,
  measurePaired,
  ms,
  percentile,
  report,
  reportCpu,
} from "./support/load.ts";
import { benchmark, type Served, serveBare, startChild } from "./support/servers.ts";

const benchFile = fileURLToPath(import.meta.url);
/** postgres-split: the loaded hub has the role `api`, and a second process (`all`) does the work. */
type Store = "pglite" | "postgres" | "postgres-split";
const e2eMessages = Number(process.env.BENCH_E2E_MESSAGES ?? 100);
/** BENCH_INTAKE_WORKER=0 measures acknowledgements alone: the worker is stopped, and there is no e2e. */
const processes = process.env.BENCH_INTAKE_WORKER !== "0";
const secret = "bench-secret";

type Spec =
  | { kind: "bare" }
  | {
      kind: "hub";
      store: { dataDir: string } | { databaseUrl: string; secretKey: string };
      role: "all" | "api";
      /** The hub under load gets the API key and the channel; a second `all` process only works. */
      seed: boolean;
      groupId: number;
      token: string;
      apiBaseUrl: string;
      confirmationCode: string;
    };

interface Ready {
  url: string;
  key: string;
  channelId: string;
}

async function serve(spec: Spec): Promise<Served<Ready>> {
  if (spec.kind === "bare") {
    const bare = await serveBare();
    return { ready: { ...bare.ready, key: "", channelId: "" }, close: bare.close };
  }
  const { loadConfig } = await import("../src/config/load-config.ts");
  const { startHub } = await import("../src/hub/hub.ts");
  const { secretBoxFor } = await import("../src/hub/open-store.ts");
  const { createApiKey } = await import("../src/store/repositories/api-keys.ts");
  const { createChannelAccount } = await import("../src/store/repositories/channel-accounts.ts");
  const { oldestWorkspace } = await import("../src/store/repositories/workspaces.ts");
  const config = loadConfig({
    env: {},
    flags: {
      host: "127.0.0.1",
      port: 0,
      logLevel: "silent",
      rateLimit: 1_000_000,
      rateLimitBurst: 1_000_000,
      role: spec.role,
      ...("dataDir" in spec.store
        ? { dataDir: spec.store.dataDir }
        : { databaseUrl: spec.store.databaseUrl, secretKey: spec.store.secretKey }),
    },
  });
  const hub = await startHub(config, { say: () => {} });
  if (!processes) await hub.workers?.intake.stop();
  if (!spec.seed) return { ready: { url: hub.url, key: "", channelId: "" }, close: () => hub.close() };
  const workspace = await oldestWorkspace(hub.store.db);
  if (!workspace) throw new Error("startHub created no default workspace");
  const { secret: key } = await createApiKey(hub.store.db, { workspaceId: workspace.id, name: "bench" });
  const channel = await createChannelAccount(hub.store.db, secretBoxFor(config), {
    workspaceId: workspace.id,
    kind: "vk",
    externalId: String(spec.groupId),
    name: "Bench community",
    credentials: { tokens: [spec.token], callbackSecret: secret },
    settings: { mode: "callback", apiBaseUrl: spec.apiBaseUrl, confirmationCode: spec.confirmationCode },
  });
  return { ready: { url: hub.url, key, channelId: channel.id }, close: () => hub.close() };
}

const startServer = (spec: Spec) =>
  startChild<Ready>(benchFile, spec, spec.kind === "bare" ? "bare Hono" : "hub");

async function main(): Promise<number> {
  const adminUrl = process.env.SWITCHBOARD_BENCH_DATABASE_URL || process.env.SWITCHBOARD_TEST_DATABASE_URL;
  const stores: Store[] = adminUrl ? ["pglite", "postgres", "postgres-split"] : ["pglite"];
  console.log("Switchboard VK intake benchmark (bench/vk-intake.ts)");
  console.log(`  date        ${new Date().toISOString()}`);
  console.log(
    `  node        ${process.version}; ${availableParallelism()} cores (${cpus()[0]?.model ?? "unknown CPU"})`,
  );
  console.log(
    `  load        autocannon in this process, ${connections} keep-alive connections; ${durationSeconds} × 1 s slices per side`,
  );
  console.log("  note        hub (child process), load generator, emulator and PostgreSQL share these cores");
  console.log(`  stores      ${stores.join(", ")}`);
  console.log("");

  const vk = await startVkEmulator({ callback: { retryDelaysMs: [20, 100, 500] } });
  const community = vk.control.createCommunity({ name: "Bench community" });
  const token = community.tokens[0]?.value as string;
  const user = vk.control.createUser({ firstName: "Bench", allowsMessages: true });
  // Real senders have names: the hub looks each new one up once.
  const senders = Array.from(
    { length: 500 },
    (_, i) => vk.control.createUser({ lastName: `Sender ${i}` }).id,
  );
  const code = vk.control.setConfirmationCode(community.id).code;

  let sequence = 0;
  const event = () => {
    sequence += 1;
    return JSON.stringify({
      type: "message_new",
      group_id: community.id,
      event_id: randomBytes(20).toString("hex"),
      v: "5.199",
      secret,
      object: {
        message: {
          id: 1_000_000 + sequence,
          date: Math.floor(Date.now() / 1000),
          from_id: senders[sequence % senders.length],
          peer_id: senders[sequence % senders.length],
          out: 0,
          text: `Здравствуйте, это сообщение номер ${sequence}`,
          conversation_message_id: sequence,
          attachments: [],
          version: 1,
        },
        client_info: {
          keyboard: true,
          inline_keyboard: true,
          carousel: false,
          button_actions: ["text"],
          lang_id: 0,
        },
      },
    });
  };

  const results: { measured: Measured; bare: Measured }[] = [];
  const e2e: { store: string; p50: number; p99: number; max: number }[] = [];
  const bare = await startServer({ kind: "bare" });
  const post = (url: string, rate?: number): Load => ({
    url,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: event,
    expect: 200,
    ...(rate ? { rate } : {}),
  });
  try {
    for (const store of stores) {
      let cleanup: () => Promise<void> = async () => {};
      let where: { dataDir: string } | { databaseUrl: string; secretKey: string };
      if (store === "pglite") {
        const dataDir = mkdtempSync(join(tmpdir(), "switchboard-bench-"));
        where = { dataDir };
        cleanup = async () => rmSync(dataDir, { recursive: true, force: true });
      } else {
        const { createScratchDatabase } = await import("../src/testing/stores.ts");
        const scratch = await createScratchDatabase(adminUrl as string);
        where = { databaseUrl: scratch.url, secretKey: randomBytes(32).toString("base64") };
        cleanup = () => scratch.drop();
      }
      const split = store === "postgres-split";
      const hubSpec = {
        kind: "hub" as const,
        store: where,
        groupId: community.id,
        token,
        apiBaseUrl: vk.apiBaseUrl,
        confirmationCode: code,
      };
      const hub = await startServer({ ...hubSpec, role: split ? "api" : "all", seed: true });
      // postgres-split: the hub under load only serves; a second process does the background work.
      const worker = split ? await startServer({ ...hubSpec, role: "all", seed: false }) : undefined;
      try {
        const hook = `${hub.url}/hooks/vk/${hub.channelId}`;
        for (const [name, rate] of [
          [`intake/${store}`, undefined],
          [`intake@1k/${store}`, 1_000],
        ] as const) {
          const servers = { load: worker ? [hub.pid, worker.pid] : [hub.pid], bare: [bare.pid] };
          const result = await measurePaired(name, post(hook, rate), post(`${bare.url}/bare`, rate), servers);
          results.push(result);
          console.log(line(result.measured, result.bare));
        }
        if (!processes) continue;
        const drained = performance.now();
        await backlogDrained(hub.url);
        console.log(
          `  (${store}: the worker finished the intake backlog ${((performance.now() - drained) / 1000).toFixed(1)} s after the load stopped)`,
        );
        const times = await endToEnd(vk, community.id, token, user.id, hub);
        const sorted = Float64Array.from(times).sort();
        e2e.push({
          store,
          p50: percentile(sorted, 0.5),
          p99: percentile(sorted, 0.99),
          max: sorted[sorted.length - 1] ?? 0,
        });
        console.log(
          `e2e/${store}        ${times.length} messages: p50 ${ms(percentile(sorted, 0.5))} ms, p99 ${ms(percentile(sorted, 0.99))} ms from the user's message to the API`,
        );
      } finally {
        await hub.stop();
        await worker?.stop();
        await cleanup();
      }
    }
  } finally {
    await bare.stop();
    await vk.close();
  }
  const code1 = report(results);
  reportCpu(results, "hub processes");
  console.log("");
  console.log("| End to end | messages | p50 (ms) | p99 (ms) | max (ms) |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  for (const r of e2e)
    console.log(`| e2e/${r.store} | ${int(e2eMessages)} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} |`);
  return code1;
}

/**
 * Points a callback server of the emulator's community at the hub, then has a user write messages
 * one at a time and times each until the API returns it.
 */
async function endToEnd(
  vk: Awaited<ReturnType<typeof startVkEmulator>>,
  groupId: number,
  token: string,
  userId: number,
  hub: Ready,
): Promise<number[]> {
  const { VkClient } = await import("../src/channels/vk/api.ts");
  const client = new VkClient({ tokens: [token], groupId, apiBaseUrl: vk.apiBaseUrl });
  for (const server of await client.getCallbackServers()) await client.deleteCallbackServer(server.id);
  const serverId = await client.addCallbackServer({
    url: `${hub.url}/hooks/vk/${hub.channelId}`,
    title: "Switchboard",
    secretKey: secret,
  });
  await client.setCallbackSettings(serverId, { events: { message_new: true } });
  client.close();
  const auth = { authorization: `Bearer ${hub.key}` };
  const times: number[] = [];
  let conversationId: string | undefined;
  for (let i = 0; i < e2eMessages; i++) {
    const text = `e2e ${i} ${randomBytes(4).toString("hex")}`;
    const started = performance.now();
    vk.control.writeMessage(groupId, { userId, text });
    for (;;) {
      conversationId ??= await findConversation(hub, auth, userId);
      if (conversationId) {
        const page = (await (
          await fetch(`${hub.url}/v1/conversations/${conversationId}/messages?limit=1`, { headers: auth })
        ).json()) as { items: { text: string }[] };
        if (page.items[0]?.text === text) break;
      }
      if (performance.now() - started > 10_000) throw new Error(`message ${i} did not arrive within 10 s`);
      await new Promise((done) => setTimeout(done, 1));
    }
    times.push(performance.now() - started);
  }
  return times;
}

/** Waits until the hub reports no stored event left to process, so end-to-end times measure one message. */
async function backlogDrained(url: string) {
  for (;;) {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const pending = /^switchboard_inbound_events_pending (\d+)/m.exec(metrics)?.[1];
    if (pending === undefined)
      throw new Error("the hub's /metrics has no switchboard_inbound_events_pending");
    if (pending === "0") return;
    await new Promise((done) => setTimeout(done, 250));
  }
}

async function findConversation(
  hub: Ready,
  auth: Record<string, string>,
  userId: number,
): Promise<string | undefined> {
  const contacts = (await (
    await fetch(`${hub.url}/v1/contacts?channel_kind=vk&external_id=${userId}`, { headers: auth })
  ).json()) as { items: { id: string }[] };
  const contactId = contacts.items[0]?.id;
  if (!contactId) return undefined;
  const conversations = (await (
    await fetch(`${hub.url}/v1/conversations?contact_id=${contactId}&channel_id=${hub.channelId}`, {
      headers: auth,
    })
  ).json()) as { items: { id: string }[] };
  return conversations.items[0]?.id;
}

benchmark(main, serve);
