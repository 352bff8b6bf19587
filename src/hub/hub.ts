import type { Server } from "node:http";
import { createAdaptorServer } from "@hono/node-server";
import pino, { type Logger } from "pino";
import { VkClients } from "../channels/vk/channel.ts";
import { VkChannelRunners, type VkRunnerOptions } from "../channels/vk/runners.ts";
import { handleVkTokenInvalid } from "../channels/vk/tokens.ts";
import type { Config } from "../config/settings.ts";
import { createApp } from "../http/app.ts";
import { answerClientErrors } from "../http/client-errors.ts";
import { configureProcessEgress, type Egress } from "../net/egress.ts";
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
import { ensureCanListen, listenFailure } from "./listen.ts";
import {
  checkKeyConfigured,
  openConfiguredStore,
  prepareStore,
  type Say,
  secretBoxFor,
} from "./open-store.ts";
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

/** Starts the whole hub: store, migrations, bootstrap, HTTP server, workers. */
export async function startHub(
  config: Config,
  options: { say: Say; logger?: Logger; workers?: WorkerOptions },
): Promise<Hub> {
  const logger = options.logger ?? createLogger(config);
  checkKeyConfigured(config);
  await ensureCanListen(config.port, config.host);
  const egress = configureProcessEgress({ allow: config.egressAllow });
  const store = await openConfiguredStore(config, options.say, { logger, hub: true });
  try {
    // A key that cannot open the stored secrets is refused before anything changes: migrations,
    // the first start's bootstrap, a generated key file, or a hub that looks ready but cannot send.
    await checkStoreKey(config, store);
    const box = secretBoxFor(config);
    await prepareStore(store, options.say);
    // One send service for the API and the `::bot_info` answers, so each VK token's pacing holds.
    const sender = createSendService({
      db: store.db,
      box,
      logger,
      retryWindowMs: config.sendRetryWindow * 1000,
      ttlMs: config.sendDefaultTtl * 1000,
      onTokenInvalid: (channel, token, error) =>
        handleVkTokenInvalid(
          { store, box, logger, onStateChanged: recordChannelStatus },
          channel.id,
          token,
          error,
        ),
    });
    const app = createApp({ config, store, box, logger, sender, egress });
    const server = createAdaptorServer({ fetch: app.fetch }) as Server;
    answerClientErrors(server, logger);
    const port = await listen(server, config.port, config.host);
    // Name look-ups get clients of their own: they run beside sends, never in their way.
    const profileClients = new VkClients(box, (channel, token, error) =>
      handleVkTokenInvalid(
        { store, box, logger, onStateChanged: recordChannelStatus },
        channel.id,
        token,
        error,
      ),
    );
    // Workers start only once the port is ours: a hub that cannot listen must leave nothing running.
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
    const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
    logger.info(
      { url, store: store.mode, location: store.location, role: config.role },
      "switchboard is listening",
    );
    return {
      url,
      store,
      workers,
      async close() {
        await new Promise<void>((done) => server.close(() => done()));
        await workers?.stop();
        sender.close();
        profileClients.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", (error) => reject(listenFailure(error, port, host)));
    server.listen(port, host, () => {
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}
