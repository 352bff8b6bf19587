/**
 * The hub's work for each connected VK channel, started by the hub and kept in step with the
 * channels: a Long Poll loop (long-poll.ts) for `long_poll` channels, a watch of the callback
 * server for `callback` channels. One process runs a channel's work at a time: the runner first
 * takes the channel's lock (`Store.tryLock`, a PostgreSQL advisory lock held by its session), so
 * several hub processes on one database split the channels between them, and when one dies its
 * sessions end, the locks free, and the others take its channels over at their next scan.
 *
 * The set is rescanned when a channel changes (`channelsChangedChannel`, notified by connect,
 * disconnect, enable, disable and dead tokens, in any process) and every `rescanMs`. A channel's
 * work restarts when its setup changes (tokens, mode, API address, callback server) and stops
 * when it is disabled, disconnected or the hub closes.
 */
import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { ErrorParams } from "../../errors/app-error.ts";
import type { Store } from "../../store/database.ts";
import {
  type ChannelAccount,
  type ChannelStateChanged,
  channelsChangedChannel,
  findChannelAccount,
  listActiveChannelAccounts,
  transitionChannelState,
} from "../../store/repositories/channel-accounts.ts";
import type { SecretBox } from "../../store/secret-box.ts";
import { vkCredentials, vkSettingsSchema } from "./channel.ts";
import { reconfirmCallbackServer, serverStatus } from "./community-setup.ts";
import { classifyVkError } from "./errors.ts";
import { type LongPollOptions, sleep, VkLongPoller } from "./long-poll.ts";
import { managementClient, reasonText } from "./management.ts";
import { handleVkTokenInvalid } from "./tokens.ts";

export interface VkRunnerOptions {
  longPoll: Partial<LongPollOptions>;
  /** How often a callback channel's server status is checked. */
  callbackCheckMs: number;
  /** How often a `failed` callback server is asked to confirm again. */
  callbackRepairMs: number;
  /** How often the channels are rescanned without a notification (and locks retried). */
  rescanMs: number;
  callTimeoutMs: number;
}

export const vkRunnerDefaults: VkRunnerOptions = {
  longPoll: {},
  callbackCheckMs: 60_000,
  callbackRepairMs: 5 * 60_000,
  rescanMs: 30_000,
  callTimeoutMs: 10_000,
};

export interface VkRunnerDeps {
  store: Store;
  box: SecretBox;
  logger: Logger;
  /** Told of every state change the runners make (the hub records `channel.status_changed`). */
  onStateChanged?: ChannelStateChanged;
}

interface Running {
  channelId: string;
  setup: string;
  controller: AbortController;
  done: Promise<void>;
  finished: boolean;
}

/** The name of a channel's lock: whoever holds it polls or watches the channel. */
export const vkChannelLock = (channelId: string) => `vk-channel:${channelId}`;

export class VkChannelRunners {
  readonly #deps: VkRunnerDeps;
  readonly #options: VkRunnerOptions;
  readonly #log: Logger;
  readonly #running = new Map<string, Running>();
  #scan: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #unlisten: (() => Promise<void>) | undefined;

  constructor(deps: VkRunnerDeps, options: Partial<VkRunnerOptions> = {}) {
    this.#deps = deps;
    this.#options = { ...vkRunnerDefaults, ...options };
    this.#log = deps.logger.child({ component: "vk-runners" });
  }

  /** Ids of the channels whose work runs in this process. */
  get active(): string[] {
    return [...this.#running.values()].filter((r) => !r.finished).map((r) => r.channelId);
  }

  async start(): Promise<void> {
    try {
      this.#unlisten = await this.#deps.store.listen(channelsChangedChannel, () => void this.rescan());
    } catch (error) {
      this.#log.warn({ err: error }, "no notifications; VK channels are rescanned on a timer only");
    }
    this.#timer = setInterval(() => void this.rescan(), this.#options.rescanMs);
    this.#timer.unref();
    await this.rescan();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#unlisten?.().catch(() => {});
    await this.#scan;
    await Promise.all([...this.#running.keys()].map((id) => this.#stopOne(id)));
  }

  /** Brings the running work in line with the channels; concurrent calls share one scan. */
  rescan(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#scan) {
      this.#again = true;
      return this.#scan;
    }
    this.#scan = (async () => {
      do {
        this.#again = false;
        try {
          await this.#reconcile();
        } catch (error) {
          this.#log.error({ err: error }, "could not scan the VK channels");
        }
      } while (this.#again && !this.#stopped);
    })().finally(() => {
      this.#scan = undefined;
    });
    return this.#scan;
  }

  async #reconcile(): Promise<void> {
    const channels = await listActiveChannelAccounts(this.#deps.store.db, "vk");
    const wanted = new Map(channels.map((channel) => [channel.id, channel]));
    for (const [id, running] of this.#running) {
      const channel = wanted.get(id);
      if (!channel || running.finished || setupOf(channel) !== running.setup) await this.#stopOne(id);
    }
    for (const channel of channels) {
      if (this.#stopped) return;
      if (this.#running.has(channel.id)) continue;
      const lock = await this.#deps.store.tryLock(vkChannelLock(channel.id));
      if (!lock) continue; // another process runs it
      // The channel may have changed while the lock was taken; start from the stored row.
      const current = await findChannelAccount(this.#deps.store.db, channel.id);
      if (!current || current.state === "disabled" || current.credentials === null || this.#stopped) {
        await lock.release();
        continue;
      }
      const controller = new AbortController();
      const signal = AbortSignal.any([controller.signal, lock.signal]);
      const running: Running = {
        channelId: current.id,
        setup: setupOf(current),
        controller,
        finished: false,
        done: Promise.resolve(),
      };
      const mode = vkSettingsSchema.parse(current.settings).mode;
      const work =
        mode === "long_poll"
          ? new VkLongPoller(this.#deps, current, {
              callTimeoutMs: this.#options.callTimeoutMs,
              ...this.#options.longPoll,
            }).run(signal)
          : new VkCallbackWatch(this.#deps, current, this.#options).run(signal);
      running.done = work
        .catch((error) => this.#log.error({ err: error, channel_id: current.id }, "VK channel work stopped"))
        .finally(async () => {
          running.finished = true;
          await lock.release();
        });
      this.#running.set(current.id, running);
      this.#log.info({ channel_id: current.id, mode }, "VK channel work started");
    }
  }

  async #stopOne(id: string): Promise<void> {
    const running = this.#running.get(id);
    if (!running) return;
    running.controller.abort();
    await running.done;
    this.#running.delete(id);
  }
}

/** What, when it changes, restarts a channel's work (not its state or its Long Poll position). */
function setupOf(channel: ChannelAccount): string {
  const s = vkSettingsSchema.parse(channel.settings);
  return createHash("sha256")
    .update(
      JSON.stringify([
        channel.credentials,
        s.mode,
        s.apiBaseUrl,
        s.apiVersion,
        s.callbackServerId,
        s.callbackUrl,
      ]),
    )
    .digest("hex");
}

/** Problems the watch reports, and so may clear when the server is `ok` again. */
const callbackProblems = [
  "vk_callback_server_failed",
  "vk_callback_server_unconfirmed",
  "vk_callback_server_missing",
];

/**
 * A callback channel's health: VK turns a server `failed` after repeated delivery failures and
 * then stops sending (reference §1.5); the watch notices, reports the channel `failing` with the
 * remedy, and asks VK to confirm the server again every `callbackRepairMs` (an edit starts a new
 * handshake), so a hub that was unreachable for a while comes back `online` by itself.
 */
export class VkCallbackWatch {
  readonly #deps: VkRunnerDeps;
  readonly #channel: ChannelAccount;
  readonly #options: VkRunnerOptions;
  readonly #log: Logger;

  constructor(deps: VkRunnerDeps, channel: ChannelAccount, options: VkRunnerOptions) {
    this.#deps = deps;
    this.#channel = channel;
    this.#options = options;
    this.#log = deps.logger.child({ component: "vk-callback-watch", channel_id: channel.id });
  }

  async run(signal: AbortSignal): Promise<void> {
    const channel = this.#channel;
    const settings = vkSettingsSchema.parse(channel.settings);
    const credentials = vkCredentials(this.#deps.box, channel);
    const client = managementClient(channel, settings, credentials, this.#options, (token, error) => {
      handleVkTokenInvalid(this.#deps, channel.id, token, error).catch((err) =>
        this.#log.error({ err }, "could not record a dead token"),
      );
    });
    const serverId = settings.callbackServerId;
    const url = settings.callbackUrl;
    if (!client || serverId === undefined || !url) {
      client?.close();
      return;
    }
    let lastRepair = 0;
    try {
      while (!signal.aborted) {
        let next = this.#options.callbackCheckMs;
        try {
          const status = await serverStatus(client, serverId);
          if (signal.aborted) break;
          if (status === "ok") {
            await this.#set("online", null, ["connecting"]);
          } else if (status === "failed") {
            await this.#set("failing", { code: "vk_callback_server_failed", params: { url } }, [
              "online",
              "connecting",
            ]);
            if (Date.now() - lastRepair >= this.#options.callbackRepairMs) {
              lastRepair = Date.now();
              const fresh = (await findChannelAccount(this.#deps.store.db, channel.id)) ?? channel;
              await reconfirmCallbackServer(this.#deps, client, fresh, credentials.callbackSecret ?? "");
              this.#log.info("asked VK to confirm the failed callback server again");
              next = Math.min(next, 2_000);
            }
          } else if (status === "missing") {
            await this.#set("failing", { code: "vk_callback_server_missing", params: { serverId } }, [
              "online",
              "connecting",
            ]);
          }
        } catch (thrown) {
          this.#log.warn({ err: classifyVkError(thrown) }, "could not check the callback server");
        }
        await sleep(next, signal);
      }
    } finally {
      client.close();
    }
  }

  async #set(
    state: "online" | "failing",
    problem: { code: string; params: ErrorParams } | null,
    from: ("online" | "connecting")[],
  ): Promise<void> {
    const changed = await transitionChannelState(
      this.#deps.store.db,
      this.#channel.id,
      {
        state,
        reason: problem ? reasonText(problem) : null,
        problem,
        from,
        failingWith:
          state === "online" ? callbackProblems : callbackProblems.filter((c) => c !== problem?.code),
      },
      this.#deps.onStateChanged,
    );
    if (changed)
      this.#log.info({ state, problem: problem?.code }, "VK channel state changed (callback server)");
  }
}
