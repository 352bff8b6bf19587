import { resolve } from "node:path";
import pino, { type Logger } from "pino";
import type { VkTokenRef } from "../channels/vk/api.ts";
import { VkClients } from "../channels/vk/channel.ts";
import { VkChannelRunners, type VkRunnerOptions } from "../channels/vk/runners.ts";
import { handleVkTokenInvalid } from "../channels/vk/tokens.ts";
import type { Config } from "../config/settings.ts";
import type { AppError } from "../errors/app-error.ts";
import { createApp } from "../http/app.ts";
import { Egress } from "../net/egress.ts";
import { profileFollowUp } from "../pipeline/intake/profiles.ts";
import { allFollowUps, type IntakeOptions, IntakeWorker } from "../pipeline/intake/worker.ts";
import { type RetentionOptions, RetentionWorker } from "../pipeline/retention.ts";
import { botInfoFollowUp } from "../pipeline/send/bot-info.ts";
import { createSendService } from "../pipeline/send/create.ts";
import { Dispatcher, type DispatcherOptions } from "../pipeline/send/dispatcher.ts";
import type { SendService } from "../pipeline/send/service.ts";
import { recordChannelStatus } from "../pipeline/webhooks/events.ts";
import { type DeliveryOptions, DeliveryWorker, systemClock } from "../pipeline/webhooks/worker.ts";
import type { Store } from "../store/database.ts";
import type { SecretBox } from "../store/secret-box.ts";
import { type ControlSocket, openControlSocket } from "./control-socket.ts";
import { CheckList, checkStore } from "./diagnosis.ts";
import { listenEarly } from "./listen.ts";
import {
  checkKeyConfigured,
  openConfiguredStore,
  prepareStore,
  type Say,
  secretBoxFor,
} from "./open-store.ts";
import { endOfStep } from "./steps.ts";
import { checkStoreKey } from "./stored-secrets.ts";

export interface Hub {
  /** Where the API answers, e.g. http://127.0.0.1:8080 */
  url: string;
  store: Store;
  /** The background work; none in a process with the role `api`. */
  workers: Workers | undefined;
  close(): Promise<void>;
}

export function createLogger(config: Config): Logger {
  return pino({
    level: config.logLevel,
    base: { service: "switchboard" },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

export interface WorkerOptions {
  intake?: Partial<IntakeOptions>;
  vk?: Partial<VkRunnerOptions>;
  dispatch?: Partial<DispatcherOptions>;
  webhooks?: Partial<DeliveryOptions>;
  retention?: Partial<RetentionOptions>;
}

export interface Workers {
  intake: IntakeWorker;
  /** Delivers events to webhook endpoints and status callbacks. */
  webhooks: DeliveryWorker;
  /** Long Poll loops and callback watches of the VK channels this process holds. */
  vk: VkChannelRunners;
  /** Delivers queued outbound messages; only when the workers were given a send service. */
  dispatcher: Dispatcher | undefined;
  /** Deletes old platform events, webhook events and idempotency keys. */
  retention: RetentionWorker;
  stop(): Promise<void>;
}

/** Webhook delivery as the configuration sets it. */
export function deliveryOptions(config: Config): DeliveryOptions {
  return {
    concurrency: config.webhookConcurrency,
    perTarget: config.webhookEndpointConcurrency,
    timeoutMs: config.webhookTimeout * 1000,
    retrySchedule: config.webhookRetrySchedule,
    disableAfterHours: config.webhookDisableAfter,
    orderHoldAttempts: config.webhookOrderHold,
    pollMs: 1000,
    clock: systemClock,
  };
}

/**
 * The hub's background work: intake of stored events, each connected channel's runner, the
 * dispatcher of queued messages (when given the send service), the delivery of events to
 * webhooks, and the deletion of what is kept only for a while.
 */
export async function startWorkers(
  deps: {
    store: Store;
    box: SecretBox;
    logger: Logger;
    egress: Egress;
    config: Config;
    sender?: SendService;
  },
  options: WorkerOptions = {},
): Promise<Workers> {
  const intake = new IntakeWorker(deps.store, deps.logger, options.intake);
  await intake.start();
  const vk = new VkChannelRunners({ ...deps, onStateChanged: recordChannelStatus }, options.vk);
  await vk.start();
  const dispatcher = deps.sender
    ? new Dispatcher(deps.store, deps.sender, deps.logger, options.dispatch)
    : undefined;
  await dispatcher?.start();
  const webhooks = new DeliveryWorker(deps, { ...deliveryOptions(deps.config), ...options.webhooks });
  await webhooks.start();
  const retention = new RetentionWorker(deps.store, deps.logger, {
    inboundEventDays: deps.config.inboundEventRetention,
    webhookEventDays: deps.config.webhookEventRetention,
    ...options.retention,
  });
  retention.start();
  return {
    intake,
    vk,
    dispatcher,
    webhooks,
    retention,
    async stop() {
      await retention.stop();
      await dispatcher?.stop();
      await vk.stop();
      await intake.stop();
      await webhooks.stop();
    },
  };
}

/**
 * Starts the whole hub: the HTTP server first (answering `503 hub_starting` until the hub
 * serves), then the store, its migrations and bootstrap, the app, and the workers. A step that
 * fails closes what the steps before it opened. When `signal` aborts, the start goes no further
 * than the step it is in (which is finished: a new store's creation, a migration), closes what it
 * opened and rejects with the signal's reason.
 */
export async function startHub(
  configured: Config,
  options: {
    say: Say;
    logger?: Logger;
    workers?: WorkerOptions;
    signal?: AbortSignal;
    /** The public URL when `configured` has none, from the port taken (`--port 0` takes any). */
    publicUrlOf?: (port: number) => string;
    /** Takes a new store's first admin key instead of printing it. */
    onBootstrapKey?: (secret: string) => void;
  },
): Promise<Hub> {
  const logger = options.logger ?? createLogger(configured);
  checkKeyConfigured(configured);
  const http = await listenEarly(configured.port, configured.host, logger);
  const config =
    configured.publicUrl || !options.publicUrlOf
      ? configured
      : { ...configured, publicUrl: options.publicUrlOf(http.port) };
  /** Between steps: a start asked to stop goes no further; `close` below lets go of what it took. */
  const nextStep = async (step: string, fields: Record<string, unknown> = {}) => {
    if (options.signal) await endOfStep(options.signal);
    logger.debug(fields, step);
  };
  /** What the start has opened so far: a running hub's parts, or those of a start that failed. */
  const parts: {
    store?: Store;
    sender?: SendService;
    profileClients?: VkClients;
    workers?: Workers;
    control?: ControlSocket | undefined;
  } = {};
  const close = async () => {
    await parts.control?.close();
    await http.close();
    await parts.workers?.stop();
    parts.sender?.close();
    parts.profileClients?.close();
    await parts.store?.close();
  };
  try {
    await nextStep("address taken; opening the store", { port: http.port });
    const egress = new Egress({ allow: config.egressAllow });
    const store = await openConfiguredStore(config, options.say, { holder: "hub", logger });
    parts.store = store;
    // A key that cannot open the stored secrets is refused before anything changes: migrations,
    // the first start's bootstrap, a generated key file, or a hub that looks ready but cannot send.
    await checkStoreKey(config, store);
    const box = secretBoxFor(config);
    await nextStep("migrating the store");
    await prepareStore(store, options.say, options.signal, options.onBootstrapKey);
    await nextStep("store ready; starting the app and the workers");
    // A token VK refuses, in a send or a name look-up, is marked dead (the channel fails when none is left).
    const onTokenInvalid = (channel: { id: string }, token: VkTokenRef, error: AppError) =>
      handleVkTokenInvalid(
        { store, box, logger, onStateChanged: recordChannelStatus },
        channel.id,
        token,
        error,
      );
    // One send service for the API and the `::bot_info` answers, so each VK token's pacing holds.
    const sender = createSendService({
      db: store.db,
      box,
      logger,
      retryWindowMs: config.sendRetryWindow * 1000,
      ttlMs: config.sendDefaultTtl * 1000,
      onTokenInvalid,
      egress,
    });
    parts.sender = sender;
    http.serve(createApp({ config, store, box, logger, sender, egress }).fetch);
    // Name look-ups get clients of their own: they run beside sends, never in their way.
    const profileClients = new VkClients(box, onTokenInvalid);
    parts.profileClients = profileClients;
    const workers =
      config.role === "api"
        ? undefined
        : await startWorkers(
            { store, box, logger, egress, config, sender },
            {
              ...options.workers,
              intake: {
                followUp: allFollowUps(
                  botInfoFollowUp(store.db, sender),
                  profileFollowUp(store.db, profileClients),
                ),
                ...options.workers?.intake,
              },
            },
          );
    parts.workers = workers;
    const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${http.port}`;
    // Nothing else can open an embedded store while the hub holds it: doctor asks the hub instead.
    if (store.mode === "embedded")
      parts.control = await openControlSocket(
        resolve(config.dataDir),
        async () => {
          const checks = new CheckList();
          await checkStore(checks, config, store);
          return { pid: process.pid, url, checks: checks.results };
        },
        logger,
      );
    logger.info(
      { url, store: store.mode, location: store.location, role: config.role },
      "switchboard is listening",
    );
    return { url, store, workers, close };
  } catch (error) {
    await close();
    if (options.signal?.aborted && error === options.signal.reason)
      logger.info("stopped while starting, as asked; what the start had opened is closed");
    throw error;
  }
}
