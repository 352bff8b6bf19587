import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import {
  describeNetworkError,
  type Egress,
  type EgressResponse,
  withoutCredentials,
} from "../../net/egress.ts";
import type { Db, Store } from "../../store/database.ts";
import {
  type AttemptRecord,
  advanceRecoveries,
  type ClaimedDelivery,
  claimDeliveries,
  findEndpoints,
  findEvents,
  findWebhookSettings,
  markEndpointFailing,
  markEndpointsHealthy,
  previousSecretSigns,
  recordAttempts,
  type WebhookEndpoint,
  type WebhookEvent,
  type WebhookSettings,
  webhookDeliveriesChannel,
  webhookSettingsOf,
} from "../../store/repositories/webhooks.ts";
import type { SecretBox } from "../../store/secret-box.ts";
import { Wait } from "../wait.ts";
import { disableEndpointAndTell } from "./events.ts";
import { newSigningSecret, signatureHeader } from "./signature.ts";

/** Where the worker reads the time: tests move it forward instead of waiting for a schedule. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface DeliveryOptions {
  /** Requests in flight in this process at most. */
  concurrency: number;
  /** Requests in flight to one receiver at most, across every process. */
  perTarget: number;
  timeoutMs: number;
  /** Seconds before each retry after a failed attempt (the first is made at once); a workspace may set its own. */
  retrySchedule: readonly number[];
  /** Failing every attempt this long disables an endpoint; a workspace may set its own. */
  disableAfterHours: number;
  /** Attempts an undelivered event makes before later events of its stream stop waiting for it. */
  orderHoldAttempts: number;
  /** Poll interval when no notification arrives (a lost NOTIFY, a retry falling due). */
  pollMs: number;
  clock: Clock;
}

/** The first bytes of a receiver's answer kept in the attempt log. */
export const responseBodyBytes = 1024;
/** The longest `Retry-After` honoured; a receiver cannot park a delivery for longer. */
const maxRetryAfterMs = 24 * 3600_000;
/** Failed deliveries a recovery queues again per round. */
const recoveryBatch = 500;

/** A finished attempt waiting to be written, with what deciding the endpoint's fate needs. */
interface Outcome {
  record: AttemptRecord;
  endpoint: WebhookEndpoint | undefined;
  settings: WebhookSettings | undefined;
  gone: boolean;
}

interface Round {
  events: Map<string, WebhookEvent>;
  endpoints: Map<string, WebhookEndpoint>;
  settings: Map<string, WebhookSettings>;
}

/**
 * Delivers stored events and callbacks: claims due deliveries (`FOR UPDATE SKIP LOCKED`, leased),
 * POSTs each signed per Standard Webhooks, logs the attempt and schedules the next one. Woken by
 * NOTIFY when deliveries are stored, with a poll fallback; any number may run, in any process.
 */
export class DeliveryWorker {
  readonly #store: Store;
  readonly #box: SecretBox;
  readonly #egress: Egress;
  readonly #log: Logger;
  readonly #options: DeliveryOptions;
  readonly #inFlight = new Set<Promise<void>>();
  #running = false;
  readonly #idle = new Wait();
  /** Set when woken while busy, so a notification during a round is not lost. */
  #woken = false;
  #recoveriesCheckedAt = 0;
  readonly #finished: (Outcome & { resolve: () => void; reject: (error: unknown) => void })[] = [];
  #flushing: Promise<void> | undefined;
  #loop: Promise<void> | undefined;
  #unlisten: (() => Promise<void>) | undefined;

  constructor(
    deps: { store: Store; box: SecretBox; egress: Egress; logger: Logger },
    options: DeliveryOptions,
  ) {
    this.#store = deps.store;
    this.#box = deps.box;
    this.#egress = deps.egress;
    this.#log = deps.logger.child({ component: "webhooks" });
    this.#options = options;
  }

  async start() {
    this.#running = true;
    try {
      this.#unlisten = await this.#store.listen(webhookDeliveriesChannel, () => this.#signal());
    } catch (error) {
      this.#log.warn({ err: error }, "no notifications; webhook delivery falls back to polling");
    }
    this.#loop = this.#run();
  }

  async stop() {
    this.#running = false;
    this.#signal();
    await this.#loop;
    await this.#unlisten?.();
    await Promise.allSettled([...this.#inFlight]);
  }

  /**
   * Delivers everything due now, one round after another, until nothing is due and nothing is in
   * flight (tests call it after moving the clock).
   */
  async drain(): Promise<void> {
    for (;;) {
      // A claim made while requests were in flight may have found their receivers busy, and they
      // may have finished meanwhile: only a claim made with nothing in flight shows nothing is due.
      const idle = this.#inFlight.size === 0;
      const started = await this.#startDue();
      if (started === 0 && idle) {
        if ((await advanceRecoveries(this.#store.db, recoveryBatch)) === 0) return;
        continue;
      }
      if (this.#inFlight.size > 0) await Promise.race([...this.#inFlight]);
    }
  }

  /** Claims as many due deliveries as there are free slots and starts them; returns how many. */
  async #startDue(): Promise<number> {
    const db = this.#store.db;
    // Recoveries are rare: look for them once per poll interval, not on every round.
    if (Date.now() - this.#recoveriesCheckedAt >= this.#options.pollMs) {
      this.#recoveriesCheckedAt = Date.now();
      await advanceRecoveries(db, recoveryBatch);
    }
    const free = this.#options.concurrency - this.#inFlight.size;
    // A claim costs about as much for one delivery as for many: wait for room for a batch
    // (half the slots) unless nothing is in flight.
    if (this.#inFlight.size > 0 && free < Math.ceil(this.#options.concurrency / 2)) return 0;
    const now = this.#options.clock.now();
    const claimed = await claimDeliveries(db, {
      now,
      // A worker that dies mid-request leaves the delivery to whoever comes after its lease.
      leaseUntil: new Date(now.getTime() + this.#options.timeoutMs + 30_000),
      limit: free,
      perTarget: this.#options.perTarget,
      holdAttempts: this.#options.orderHoldAttempts,
    });
    if (claimed.length === 0) return 0;
    const round = await this.#load(claimed);
    for (const delivery of claimed) {
      const task: Promise<void> = this.#deliver(delivery, round)
        .catch((error) =>
          this.#log.error({ err: error, delivery_id: delivery.id }, "a webhook delivery failed to record"),
        )
        .finally(() => {
          this.#inFlight.delete(task);
          // A finished delivery may free the next event of its stream, or a slot.
          this.#signal();
        });
      this.#inFlight.add(task);
    }
    return claimed.length;
  }

  async #load(claimed: ClaimedDelivery[]): Promise<Round> {
    const db = this.#store.db;
    const byId = <T extends { id: string }>(rows: T[]) => new Map(rows.map((row) => [row.id, row]));
    const events = byId(await findEvents(db, [...new Set(claimed.map((d) => d.eventId))]));
    const endpointIds = claimed.flatMap((d) => (d.endpointId ? [d.endpointId] : []));
    const endpoints = byId(await findEndpoints(db, [...new Set(endpointIds)]));
    const workspaces = [...new Set(claimed.map((d) => d.workspaceId))];
    const settings = new Map((await findWebhookSettings(db, workspaces)).map((s) => [s.workspaceId, s]));
    for (const delivery of claimed) {
      // Callbacks are signed with the workspace's callback secret, made on first need.
      if (!delivery.endpointId && !settings.has(delivery.workspaceId)) {
        settings.set(
          delivery.workspaceId,
          await webhookSettingsOf(db, delivery.workspaceId, () => this.#box.seal(newSigningSecret())),
        );
      }
    }
    return { events, endpoints, settings };
  }

  async #deliver(delivery: ClaimedDelivery, round: Round): Promise<void> {
    const event = round.events.get(delivery.eventId) as WebhookEvent;
    const endpoint = delivery.endpointId ? round.endpoints.get(delivery.endpointId) : undefined;
    const settings = round.settings.get(delivery.workspaceId);
    const url = endpoint?.url ?? delivery.url ?? "";
    const now = this.#options.clock.now();
    const body = JSON.stringify(event.payload);
    const timestamp = Math.floor(now.getTime() / 1000);
    const headers: Record<string, string> = {
      ...endpoint?.headers,
      "content-type": "application/json",
      "user-agent": "Switchboard-Webhooks/1",
      "webhook-id": event.id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signatureHeader(this.#secrets(now, endpoint, settings), event.id, timestamp, body),
      "webhook-attempt": String(delivery.attempts),
    };
    const started = performance.now();
    let response: EgressResponse | undefined;
    let error: string | null = null;
    try {
      response = await this.#egress.request(url, {
        method: "POST",
        headers,
        body,
        timeoutMs: this.#options.timeoutMs,
        maxBodyBytes: responseBodyBytes,
      });
    } catch (failure) {
      error = describeNetworkError(failure);
    }
    const durationMs = Math.round(performance.now() - started);
    // A receiver's delay counts from its answer (or the timeout), not from the request: after a
    // timeout, "retry in 5 s" would otherwise be due at once.
    const answeredAt = this.#options.clock.now();
    const succeeded = response !== undefined && response.status >= 200 && response.status < 300;
    if (response && !succeeded) error = `the receiver answered ${response.status}`;
    const gone = response?.status === 410;
    const schedule = settings?.retrySchedule ?? this.#options.retrySchedule;
    const delay = schedule[delivery.attempts - 1];
    const retryAt =
      succeeded || gone || delay === undefined
        ? null
        : new Date(answeredAt.getTime() + Math.max(delay * 1000, retryAfterMs(response)));
    await this.#finish({
      record: {
        delivery,
        eventType: event.type,
        // A status_url accepted before credentials were refused still sends them (as Basic
        // authorization); the log, which the API shows, never keeps them (migration 0017).
        url: withoutCredentials(url),
        outcome: succeeded ? "succeeded" : "failed",
        responseStatus: response?.status ?? null,
        responseBody: response ? response.body.toString("utf8") : null,
        durationMs,
        error,
        attemptedAt: now,
        retryAt,
      },
      endpoint,
      settings,
      gone,
    });
  }

  /** Queues a finished attempt for the next batch write; resolves once it is written. */
  #finish(outcome: Outcome): Promise<void> {
    const written = new Promise<void>((resolve, reject) =>
      this.#finished.push({ ...outcome, resolve, reject }),
    );
    // Whatever finishes while a batch is being written goes into the next one.
    this.#flushing ??= (async () => {
      while (this.#finished.length > 0) {
        const batch = this.#finished.splice(0);
        try {
          await this.#store.db.transaction((tx) => this.#write(tx, batch));
          for (const item of batch) item.resolve();
        } catch (error) {
          for (const item of batch) item.reject(error);
        }
      }
      this.#flushing = undefined;
    })();
    return written;
  }

  /** One batch of finished attempts: logged, deliveries moved on, endpoints' health updated. */
  async #write(db: Db, batch: Outcome[]) {
    await recordAttempts(
      db,
      batch.map((item) => item.record),
    );
    const healthy = batch.filter((item) => item.endpoint && item.record.outcome === "succeeded");
    await markEndpointsHealthy(db, [
      ...new Set(healthy.map((item) => (item.endpoint as WebhookEndpoint).id)),
    ]);
    for (const { endpoint, settings, gone, record } of batch) {
      if (!endpoint || record.outcome === "succeeded") continue;
      const at = record.attemptedAt;
      if (gone) {
        await this.#disable(db, endpoint, "the endpoint answered 410 Gone", at);
        continue;
      }
      const failingSince = await markEndpointFailing(db, endpoint.id, at);
      const limitHours = settings?.disableAfterHours ?? this.#options.disableAfterHours;
      if (at.getTime() - failingSince.getTime() >= limitHours * 3600_000) {
        await this.#disable(
          db,
          endpoint,
          `every attempt failed for ${limitHours} hours (last: ${record.error})`,
          at,
        );
      }
    }
  }

  /** The secrets that sign now: the current one, and the previous one while its overlap lasts. */
  #secrets(now: Date, endpoint: WebhookEndpoint | undefined, settings: WebhookSettings | undefined) {
    const [current, previous, expires] = endpoint
      ? [endpoint.secret, endpoint.previousSecret, endpoint.previousSecretExpiresAt]
      : [
          settings?.callbackSecret as string,
          settings?.previousCallbackSecret ?? null,
          settings?.previousCallbackSecretExpiresAt ?? null,
        ];
    const secrets = [this.#box.open(current)];
    if (previousSecretSigns(previous, expires, now)) secrets.push(this.#box.open(previous));
    return secrets;
  }

  async #disable(db: Db, endpoint: WebhookEndpoint, reason: string, at: Date) {
    if (await disableEndpointAndTell(db, endpoint, reason, at))
      this.#log.warn({ endpoint_id: endpoint.id, reason }, "webhook endpoint disabled");
  }

  #signal() {
    this.#woken = true;
    this.#idle.wake();
  }

  async #run() {
    while (this.#running) {
      this.#woken = false;
      let started = 0;
      try {
        started = await this.#startDue();
      } catch (error) {
        this.#log.error({ err: error }, "webhook delivery round failed");
      }
      if (!this.#running) break;
      // Something was started and slots remain: more may be due at once.
      if ((started > 0 || this.#woken) && this.#inFlight.size < this.#options.concurrency) continue;
      await this.#idle.for(this.#options.pollMs);
    }
  }
}

/** `Retry-After` in milliseconds (seconds or an HTTP date), capped; 0 when absent or unreadable. */
function retryAfterMs(response: EgressResponse | undefined): number {
  const header = response?.headers["retry-after"];
  if (!header) return 0;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), maxRetryAfterMs) : 0;
}
