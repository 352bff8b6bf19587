import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { and, eq, isNull, ne } from "drizzle-orm";
import { startVkEmulator, type VkEmulator } from "../../../emulators/vk/server.ts";
import type { Config } from "../../config/settings.ts";
import { type Hub, startHub } from "../../hub/hub.ts";
import { listenFailure } from "../../hub/listen.ts";
import type { Db } from "../../store/database.ts";
import { createApiKey, findActiveKey, revokeApiKey } from "../../store/repositories/api-keys.ts";
import { oldestWorkspace } from "../../store/repositories/workspaces.ts";
import { apiKey } from "../../store/schema.ts";
import { say } from "../output.ts";
import { runUntilSignal } from "../signals.ts";

/**
 * The sandbox, once its settings are read: the VK emulator, the hub with an admin key, and the
 * demo community connected through the public API; then what to do with them is printed.
 */
export async function runSandbox(base: Config, emulatorPort: number) {
  let demo: Demo;
  try {
    // A signal stops the sandbox cleanly from here on, also while it starts (see runUntilSignal).
    demo = await runUntilSignal(
      (signal) => startSandbox(base, emulatorPort, signal),
      async (running) => {
        await running.hub.close();
        await running.vk.close();
      },
    );
  } catch (error) {
    if (!(error instanceof DemoRefused)) throw error;
    say(error.message);
    process.exitCode = 1;
    return;
  }
  const { hub, vk, key, community, user } = demo;
  const { secret } = key;
  say("");
  say(`Sandbox is running. The hub: ${hub.url} (API reference ${hub.url}/docs)`);
  say(`VK emulator: ${vk.url}/ — open it, pick "${user.firstName}", write to the community.`);
  say(
    `Demo community "${community.name}": group id ${community.id}; client ${user.firstName} ${user.lastName}: user id ${user.id}.`,
  );
  say(`Control API for everything else a VK user does: ${vk.url}/_control (docs/emulators.md).`);
  say("");
  say(`API key (admin, sandbox only): ${secret}`);
  say(
    key.reused
      ? `  The same at each start: it is kept in ${key.file}.`
      : `  Kept in ${key.file}: later starts give the same one, until it is revoked.`,
  );
  say(`  curl -s -H "Authorization: Bearer ${secret}" ${hub.url}/v1/conversations`);
  say(`  curl -s -H "Authorization: Bearer ${secret}" ${hub.url}/v1/conversations/<id>/messages`);
  say(
    `  curl -s -H "Authorization: Bearer ${secret}" -H "Content-Type: application/json" -d '{"text":"Здравствуйте!"}' ${hub.url}/v1/conversations/<id>/messages`,
  );
  say(
    `  or write as the client from the shell: curl -s -X POST -H "Content-Type: application/json" -d '{"userId":${user.id},"text":"Привет"}' ${vk.url}/_control/communities/${community.id}/messages`,
  );
  say("Stop it with Ctrl+C.");
}

interface Demo {
  hub: Hub;
  vk: VkEmulator;
  key: SandboxKey;
  community: ReturnType<VkEmulator["control"]["createCommunity"]>;
  user: ReturnType<VkEmulator["control"]["createUser"]>;
}

/** The hub refused to connect the demo community: its own catalogued answer says best why. */
class DemoRefused extends Error {
  constructor(answer: { code: string; message: string; remedy: string } | undefined, status: number) {
    super(
      answer ? `error ${answer.code}: ${answer.message} Remedy: ${answer.remedy}` : `error: HTTP ${status}`,
    );
  }
}

/**
 * The emulator, then the hub and the demo community. The emulator comes first because the hub
 * creates the store: a sandbox that cannot have the emulator's address creates nothing, as the
 * hub, which takes its own address before anything else, creates nothing when it cannot have
 * that. It is closed again when the rest fails, since alone it would keep the process running.
 */
async function startSandbox(base: Config, emulatorPort: number, signal: AbortSignal): Promise<Demo> {
  // The emulator starts empty each time, while the hub keeps its data directory: ids from the
  // clock (seconds) never repeat those of an earlier run, as VK's never do.
  const vk = await startVkEmulator({
    host: base.host,
    port: emulatorPort,
    firstObjectId: Math.floor(Date.now() / 1000),
  }).catch((error: unknown) => {
    throw listenFailure(error, emulatorPort, base.host, "emulator");
  });
  try {
    return await startDemo(base, vk, demoCommunity(vk, base.dataDir), signal);
  } catch (error) {
    await vk.close();
    throw error;
  }
}

/**
 * The hub, an admin key for the sandbox, and the demo community connected through the API. A hub
 * that started is stopped again when a later step fails, or when `signal` asks the start to stop.
 */
async function startDemo(
  base: Config,
  vk: VkEmulator,
  community: Demo["community"],
  signal: AbortSignal,
): Promise<Demo> {
  const user = vk.control.createUser({ firstName: "Анна", lastName: "Клиентова", allowsMessages: true });
  // The emulator posts the community's events to the hub's own address, known once it listens.
  const publicUrlOf = (port: number) => `http://${base.host}:${port}`;
  // A new store's first admin key is never shown: the sandbox prints its own, kept key.
  let unshownKey: string | undefined;
  const hub = await startHub(base, {
    say,
    signal,
    publicUrlOf,
    onBootstrapKey: (secret) => {
      unshownKey = secret;
    },
  });
  let connected = false;
  try {
    signal.throwIfAborted();
    const workspace = await oldestWorkspace(hub.store.db);
    if (!workspace) throw new Error("the hub created no workspace");
    const key = await sandboxKey(hub.store.db, workspace.id, base.dataDir);
    const unshown = unshownKey ? await findActiveKey(hub.store.db, unshownKey) : undefined;
    if (unshown) await revokeApiKey(hub.store.db, unshown.id, { admin: true });
    const { secret } = key;
    const answer = await fetch(`${hub.url}/v1/channels`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify({
        kind: "vk",
        group_id: community.id,
        tokens: community.tokens.map((t) => t.value),
        mode: "callback",
        api_base_url: vk.apiBaseUrl,
      }),
    });
    const channel = (await answer.json()) as {
      id?: string;
      error?: { code: string; message: string; remedy: string };
    };
    if (!answer.ok || !channel.id) throw new DemoRefused(channel.error, answer.status);
    connected = true;
    keepDemoTokens(base.dataDir, community);
    return { hub, vk, key, community, user };
  } finally {
    if (!connected) await hub.close();
  }
}

/**
 * The demo community, in the emulator that starts empty each time: the same group id at every
 * start, and the tokens of the first (kept in `sandbox.tokens` in the data directory once it is
 * connected, see keepDemoTokens). The hub's channel from an earlier start thus works from its
 * first moment, instead of failing with tokens this emulator never gave until the sandbox
 * connects the community again. Two tokens, as the docs advise for a real community (VK limits
 * each to 20 requests per second).
 */
function demoCommunity(vk: VkEmulator, dataDir: string): Demo["community"] {
  const file = demoTokensFile(dataDir);
  const kept = existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
  return vk.control.createCommunity({
    name: "Цветочная лавка (sandbox)",
    tokens: kept.length > 0 ? kept.map((value) => ({ value })) : [{}, {}],
  });
}

const demoTokensFile = (dataDir: string) => join(resolve(dataDir), "sandbox.tokens");

/** Keeps the connected demo community's tokens for the next start (0600: a channel's secrets). */
function keepDemoTokens(dataDir: string, community: Demo["community"]) {
  const file = demoTokensFile(dataDir);
  if (!existsSync(file))
    writeFileSync(file, community.tokens.map((t) => `${t.value}\n`).join(""), { mode: 0o600 });
}

const sandboxKeyName = "sandbox key";

export interface SandboxKey {
  secret: string;
  /** Where the secret is kept. */
  file: string;
  /** Whether it is the one kept by an earlier start. */
  reused: boolean;
}

/**
 * The sandbox's admin key, the same at every start: the one kept in `sandbox.key` in the data
 * directory (0600, as secret.key) while it is an active admin key of the workspace, else a new
 * one, kept there instead. Every other active key of that name in the workspace is revoked, so
 * one stays: the one a lost file left behind, and those an earlier version made at each start.
 * (The current key stays active beside them, so neither the last admin key nor the workspace's
 * last key is among them.)
 */
export async function sandboxKey(db: Db, workspaceId: string, dataDir: string): Promise<SandboxKey> {
  const file = join(resolve(dataDir), "sandbox.key");
  const kept = existsSync(file) ? readFileSync(file, "utf8").trim() : undefined;
  const found = kept ? await findActiveKey(db, kept) : undefined;
  let current: { id: string; secret: string };
  if (kept && found?.admin && found.workspaceId === workspaceId) current = { id: found.id, secret: kept };
  else {
    const made = await createApiKey(db, { workspaceId, name: sandboxKeyName, admin: true });
    current = { id: made.key.id, secret: made.secret };
    // Made anew, never rewritten: a file that was there would keep its own mode.
    rmSync(file, { force: true });
    writeFileSync(file, `${made.secret}\n`, { mode: 0o600, flag: "wx" });
  }
  const others = await db
    .select({ id: apiKey.id })
    .from(apiKey)
    .where(
      and(
        eq(apiKey.workspaceId, workspaceId),
        eq(apiKey.name, sandboxKeyName),
        isNull(apiKey.revokedAt),
        ne(apiKey.id, current.id),
      ),
    );
  for (const other of others) await revokeApiKey(db, other.id, { admin: true });
  return { secret: current.secret, file, reused: current.secret === kept };
}
