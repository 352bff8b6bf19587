import type { Command } from "commander";
import { startVkEmulator, type VkEmulator } from "../../../emulators/vk/server.ts";
import type { Config } from "../../config/settings.ts";
import { AppError } from "../../errors/app-error.ts";
import { type Hub, startHub } from "../../hub/hub.ts";
import { ensureCanListen, listenFailure } from "../../hub/listen.ts";
import { createApiKey } from "../../store/repositories/api-keys.ts";
import { oldestWorkspace } from "../../store/repositories/workspaces.ts";
import { configFrom, withSettings } from "../options.ts";
import { action, say } from "../output.ts";
import { stopOnSignals } from "../signals.ts";

const sandboxDataDir = "./data-sandbox";
/** The sandbox's terminal is for its own lines: only warnings and errors are logged, unless set. */
const sandboxDefaults = { logLevel: "warn" };

/** The emulator's port, checked as the hub's own `port` setting is. */
function portOption(value: unknown): number {
  if (typeof value === "string" && /^\d{1,5}$/.test(value) && Number(value) <= 65535) return Number(value);
  throw new AppError("config_invalid", {
    setting: "emulatorPort",
    source: "flag --emulator-port",
    value: JSON.stringify(value),
    expected: "an integer from 0 to 65535",
  });
}

/**
 * The hub with a VK emulator beside it and a demo community connected through the public API,
 * so that a new user sees messages flow without a VK account. Sandbox data lives in its own
 * directory (./data-sandbox) and never mixes with a real hub's.
 */
export function registerSandbox(program: Command) {
  withSettings(
    program
      .command("sandbox")
      .description("Run the hub with a VK emulator and a connected demo community, to try it without VK"),
    ["host", "port", "dataDir", "logLevel", "egressAllow"],
    { dataDir: sandboxDataDir },
    sandboxDefaults,
  )
    .option("--emulator-port <port>", "port of the VK emulator and its page", "8090")
    .action(
      action(async (options: Record<string, unknown>) => {
        const dataDir = (options.dataDir as string | undefined) ?? sandboxDataDir;
        // Always the embedded store: a DATABASE_URL meant for a real hub must not receive the demo.
        const base = {
          ...configFrom({ ...options, dataDir }, sandboxDefaults),
          databaseUrl: undefined,
        };
        const emulatorPort = portOption(options.emulatorPort);
        // The hub's address first: a sandbox that cannot listen starts nothing.
        await ensureCanListen(base.port, base.host);
        // The emulator starts empty each time, while the hub keeps its data directory: ids from
        // the clock (seconds) never repeat those of an earlier run, as VK's never do.
        const vk = await startVkEmulator({
          host: base.host,
          port: emulatorPort,
          firstObjectId: Math.floor(Date.now() / 1000),
        }).catch((error: unknown) => {
          throw listenFailure(error, emulatorPort, base.host, "emulator");
        });
        let demo: Demo | undefined;
        try {
          demo = await startDemo(base, vk);
        } finally {
          // The emulator alone would keep the process running.
          if (!demo || "refused" in demo) await vk.close();
        }
        if ("refused" in demo) {
          // The hub's own catalogued answer says best what went wrong.
          const error = demo.refused;
          say(
            error
              ? `error ${error.code}: ${error.message} Remedy: ${error.remedy}`
              : `error: HTTP ${demo.status}`,
          );
          process.exitCode = 1;
          return;
        }
        const { hub, secret, community, user } = demo;
        // Before it says so: a signal sent as soon as the lines appear must find the handler.
        stopOnSignals(async () => {
          await hub.close();
          await vk.close();
        });
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
          "  A new one at each start; earlier ones, such as a first start's bootstrap key above, still work.",
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
      }),
    );
}

type Demo =
  | {
      hub: Hub;
      secret: string;
      community: ReturnType<VkEmulator["control"]["createCommunity"]>;
      user: ReturnType<VkEmulator["control"]["createUser"]>;
    }
  | { refused: { code: string; message: string; remedy: string } | undefined; status: number };

/**
 * The hub, an admin key for the sandbox, and the demo community connected through the API. A hub
 * that started is stopped again when a later step fails (the demo refused is no exception: the
 * hub's answer says why).
 */
async function startDemo(base: Config, vk: VkEmulator): Promise<Demo> {
  const community = vk.control.createCommunity({ name: "Цветочная лавка (sandbox)" });
  const user = vk.control.createUser({ firstName: "Анна", lastName: "Клиентова", allowsMessages: true });
  const hubUrl = `http://${base.host}:${base.port}`;
  const hub = await startHub({ ...base, publicUrl: base.publicUrl ?? hubUrl }, { say });
  let connected = false;
  try {
    const workspace = await oldestWorkspace(hub.store.db);
    if (!workspace) throw new Error("the hub created no workspace");
    const { secret } = await createApiKey(hub.store.db, {
      workspaceId: workspace.id,
      name: "sandbox key",
      admin: true,
    });
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
    if (!answer.ok || !channel.id) return { refused: channel.error, status: answer.status };
    connected = true;
    return { hub, secret, community, user };
  } finally {
    if (!connected) await hub.close();
  }
}
