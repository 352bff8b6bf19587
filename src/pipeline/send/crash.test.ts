// `kill -9` during a 5,000-message send (issue 4): a real child process runs the dispatcher
// (src/testing/send-child.ts) and is killed with SIGKILL at random moments, several times; a last
// child then takes over what the dead ones left when their leases end. The VK emulator runs in
// this process, so it outlives every child: it must hold each message exactly once, and every
// row must end `sent` with the id of that one platform message.
//
// Half the kills land on a timer (anywhere: a claim, a batch's look-ups, a send, a transaction);
// the other half land the instant the emulator has stored a message, before it answers, so the
// child dies with a message on VK that it never recorded: the hardest case, which only VK's
// `random_id` dedupe (the send key derived from the message id) keeps from reaching the client twice.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { inArray } from "drizzle-orm";
import { startVkEmulator } from "../../../emulators/vk/server.ts";
import { openStore, type Store } from "../../store/database.ts";
import { migrate } from "../../store/migrations.ts";
import { message } from "../../store/schema.ts";
import { SecretBox } from "../../store/secret-box.ts";
import { assertStatus } from "../../testing/http.ts";
import { createTestHub } from "../../testing/hub.ts";
import { createScratchDatabase, serverUrl } from "../../testing/stores.ts";
import { vkWorld } from "../../testing/vk-world.ts";

const total = 5_000;
/** Ten messages per client: VK's random_id window (the last 100 per conversation) covers them all. */
const users = 500;
const kills = 4;
/** Short leases, so that what a killed child held is taken over within the test. */
const leaseMs = 1_500;
const childScript = fileURLToPath(new URL("../../testing/send-child.ts", import.meta.url));

/** Where a store lives, so that a child process can open it too. */
type Place = { dataDir: string } | { databaseUrl: string };

const places: { name: string; make(): Promise<{ place: Place; drop(): Promise<void> }> }[] = [
  {
    name: "pglite",
    async make() {
      const dataDir = mkdtempSync(join(tmpdir(), "switchboard-send-crash-"));
      return { place: { dataDir }, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
    },
  },
];
if (serverUrl) {
  const adminUrl = serverUrl;
  places.push({
    name: "postgres",
    async make() {
      const scratch = await createScratchDatabase(adminUrl);
      return { place: { databaseUrl: scratch.url }, drop: () => scratch.drop() };
    },
  });
}

function open(place: Place): Promise<Store> {
  return "dataDir" in place
    ? openStore({ mode: "embedded", dataDir: place.dataDir })
    : openStore({ mode: "server", databaseUrl: place.databaseUrl, poolSize: 5 });
}

type Exit = { code: number | null; signal: NodeJS.Signals | null };

/** Starts a dispatcher child on `place`; resolves once it is dispatching. */
async function startChild(place: Place, key: Buffer, drain = false) {
  const child = spawn(process.execPath, ["--import", "tsx", childScript], {
    env: {
      ...process.env,
      ...("dataDir" in place
        ? { SWITCHBOARD_DATA_DIR: place.dataDir }
        : { SWITCHBOARD_DATABASE_URL: place.databaseUrl }),
      SWITCHBOARD_SECRET_KEY: key.toString("base64"),
      SWITCHBOARD_LEASE_MS: String(leaseMs),
      ...(drain ? { SWITCHBOARD_DRAIN: "1" } : {}),
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<Exit>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("ready\n")) resolve();
    });
    exited.then(({ code, signal }) =>
      reject(new Error(`the child ended (${code ?? signal}) before it was ready`)),
    );
  });
  return { child, exited };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const { name, make } of places) {
  describe(`Sending across crashes on ${name}`, () => {
    it(`delivers each of ${total} messages exactly once while the sending process is killed with SIGKILL ${kills} times`, {
      timeout: 240_000,
    }, async (t) => {
      const started = Date.now();
      const { place, drop } = await make();
      t.after(drop);
      const vk = await startVkEmulator({ rateLimit: { enabled: false }, logLimit: 100_000 });
      t.after(() => vk.close());
      // Told (synchronously) when the emulator stores a message, before it answers the send.
      let onStored: ((text: string) => void) | undefined;
      const append = vk.state.appendMessage.bind(vk.state);
      vk.state.appendMessage = (community, conversation, fields) => {
        const stored = append(community, conversation, fields);
        onStored?.(stored.text);
        return stored;
      };
      const key = randomBytes(32);
      const box = new SecretBox(key);

      // The channel, its clients and the 5,000 messages, queued through the API before any child runs.
      let store = await open(place);
      await migrate(store);
      const hub = await createTestHub(store, {}, { box });
      const world = await vkWorld(hub, vk, { settings: { apiLimit: 10_000 } });
      const patched = await hub.request("PATCH", `/v1/channels/${world.channel.id}`, {
        body: {
          limits: { per_second: 100_000, notifications_per_second: 100_000, per_recipient_per_day: 0 },
        },
      });
      assertStatus(patched, 200);
      const userIds = Array.from(
        { length: users },
        (_, i) => vk.control.createUser({ firstName: `Клиент ${i}`, allowsMessages: true }).id,
      );
      const ids: string[] = [];
      for (let from = 0; from < total; from += 1_000) {
        const items = Array.from({ length: 1_000 }, (_, j) => ({
          recipient: { channel_id: world.channel.id, user_id: String(userIds[(from + j) % users]) },
          text: `m${from + j}`,
          priority: "bulk",
        }));
        const res = await hub.request("POST", "/v1/messages", { body: items });
        assertStatus(res, 200);
        for (const result of res.body.results as { code: string; message_id: string }[]) {
          assert.equal(result.code, "OK", JSON.stringify(result));
          ids.push(result.message_id);
        }
      }
      assert.equal(ids.length, total);
      // PGlite has one opener at a time: from now on, the children, one after another.
      if ("dataDir" in place) await store.close();
      const queuedMs = Date.now() - started;

      const sends = () => vk.control.requests({ groupId: world.groupId, method: "messages.send" });
      const delivered = () => vk.control.outbox(world.groupId).messages;
      const lives: { kill: string; sends: number; lifeMs: number }[] = [];
      /** The messages the emulator had just stored when a child was killed (it never heard back). */
      const cutOff: string[] = [];
      for (let round = 0; round < kills; round += 1) {
        const before = sends().length;
        const spawnedAt = Date.now();
        const { child, exited } = await startChild(place, key);
        // Killed at a random moment once it is sending (its first batch takes a while on a cold store).
        const waitUntil = Date.now() + 30_000;
        while (sends().length === before && Date.now() < waitUntil) await sleep(10);
        await sleep(200 + Math.random() * 1_300);
        const onStore = round % 2 === 1;
        if (onStore)
          await Promise.race([
            exited,
            new Promise<void>((resolve) => {
              onStored = (text) => {
                onStored = undefined;
                child.kill("SIGKILL");
                cutOff.push(text);
                resolve();
              };
            }),
          ]);
        else child.kill("SIGKILL");
        assert.equal((await exited).signal, "SIGKILL");
        onStored = undefined;
        lives.push({
          kill: onStore ? "on store" : "timer",
          sends: sends().length - before,
          lifeMs: Date.now() - spawnedAt,
        });
        assert.ok(
          delivered().length < total,
          `round ${round + 1}: the child was killed after everything went out`,
        );
      }
      assert.ok(
        lives.every((life) => life.sends > 0),
        `every child was killed while sending: ${JSON.stringify(lives)}`,
      );
      assert.equal(cutOff.length, kills / 2);

      // A last child takes over, and nobody kills it: what the dead ones held comes back when their
      // leases end. It stops by itself once nothing is queued or sending.
      const takeoverAt = Date.now();
      const deliveredBefore = delivered().length;
      const last = await startChild(place, key, true);
      const timer = setTimeout(() => last.child.kill("SIGKILL"), 180_000);
      const end = await last.exited;
      clearTimeout(timer);
      assert.equal(end.code, 0, "the last child sends everything and stops by itself");
      const drainMs = Date.now() - takeoverAt;
      if ("dataDir" in place) store = await open(place);
      t.after(() => store.close());

      // Every row is sent, with the platform id of the one message that carries it.
      const rows = await store.db
        .select({
          status: message.status,
          text: message.text,
          externalId: message.externalId,
          attempts: message.attempts,
        })
        .from(message)
        .where(inArray(message.id, ids));
      assert.equal(rows.length, total);
      assert.deepEqual(
        rows.filter((row) => row.status !== "sent").map((row) => `${row.text}: ${row.status}`),
        [],
        "every message ends sent",
      );

      // The emulator holds each message exactly once: none lost, none twice.
      const outbox = delivered();
      const copies = new Map<string, number>();
      for (const m of outbox) copies.set(m.text, (copies.get(m.text) ?? 0) + 1);
      assert.deepEqual(
        [...copies].filter(([, count]) => count > 1).map(([text]) => text),
        [],
        "no message reached its client twice",
      );
      assert.deepEqual(
        rows.filter((row) => !copies.has(row.text as string)).map((row) => row.text),
        [],
        "no message was lost",
      );
      assert.equal(outbox.length, total);
      assert.equal(
        new Set(outbox.map((m) => `${m.peerId}:${m.randomId}`)).size,
        total,
        "a random_id per message",
      );
      const platformId = new Map(outbox.map((m) => [m.text, String(m.id)]));
      assert.deepEqual(
        rows.filter((row) => row.externalId !== platformId.get(row.text as string)).map((row) => row.text),
        [],
        "each row records the id of its one platform message, a repeated send included",
      );

      // The kills interrupted work: rows the dead children held were taken again, and the
      // messages cut off on VK were sent again with their random_id and dropped there as repeats.
      const retaken = rows.filter((row) => row.attempts > 1).length;
      assert.ok(retaken > 0, "no row was taken again after a kill: the kills interrupted nothing");
      const requests = sends();
      assert.ok(
        requests.every((r) => r.result === "ok"),
        "every send was answered (a repeat with the original's id)",
      );
      /** When each (peer, random_id) was sent, in order. */
      const requestsOf = new Map<string, number[]>();
      for (const r of requests) {
        const k = `${r.params.peer_ids}:${r.params.random_id}`;
        requestsOf.set(k, [...(requestsOf.get(k) ?? []), r.at]);
      }
      const byText = new Map(outbox.map((m) => [m.text, m]));
      for (const text of cutOff) {
        const m = byText.get(text);
        assert.ok(
          (requestsOf.get(`${m?.peerId}:${m?.randomId}`) ?? []).length >= 2,
          `${text}, on VK when its sender died, was sent again (and dropped by VK)`,
        );
        const row = rows.find((r) => r.text === text);
        assert.ok((row?.attempts ?? 0) >= 2, `${text} was taken again after the kill`);
      }

      // Not asserted, for the record: how often a client got a message before an earlier one to
      // them (a message whose sender died waits for its lease, then behind the rest of the queue).
      const lastIndex = new Map<number, number>();
      let inversions = 0;
      for (const m of outbox) {
        const index = Number(m.text.slice(1));
        if (index < (lastIndex.get(m.peerId) ?? -1)) inversions += 1;
        else lastIndex.set(m.peerId, index);
      }
      t.diagnostic(
        JSON.stringify({
          store: name,
          lives,
          cutOff,
          retaken,
          maxAttempts: Math.max(...rows.map((row) => row.attempts)),
          sendRequests: requests.length,
          repeatedAtVk: [...requestsOf.values()].filter((times) => times.length > 1).length,
          // How long after its first send each repeated message was sent again.
          repeatedAfterMs: [...requestsOf.values()]
            .filter((times) => times.length > 1)
            .map((times) => (times.at(-1) as number) - (times[0] as number)),
          orderInversions: inversions,
          queuedMs,
          drainMs,
          drainedPerSecond: Math.round(((total - deliveredBefore) / drainMs) * 1000),
          totalMs: Date.now() - started,
        }),
      );
    });
  });
}
