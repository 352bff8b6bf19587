import type { Logger } from "pino";
import type { Store } from "../store/database.ts";
import { deleteExpiredIdempotencyRecords } from "../store/repositories/idempotency.ts";
import { deleteProcessedInboundEvents } from "../store/repositories/inbound-events.ts";
import { deleteEndedWebhookEvents } from "../store/repositories/webhooks.ts";
import { type SweepRange, type SweepStep, sweepStart } from "../store/sweep.ts";
import { nextTurn, Wait } from "./wait.ts";

export interface RetentionOptions {
  /** Days a processed platform event is kept as it arrived; 0 keeps them forever. */
  inboundEventDays: number;
  /** Days an event is kept with its deliveries and attempts; 0 keeps them forever. */
  webhookEventDays: number;
  intervalMs: number;
  /** From start to the first pass: a hub that just started has other work first. */
  firstPassMs: number;
  /** Rows one statement looks at, at most: a short hold on the tables (and the embedded hub). */
  batchSize: number;
}

const defaults = {
  intervalMs: 60 * 60 * 1000,
  firstPassMs: 60 * 1000,
  batchSize: 500,
};

/** What one pass deleted. */
export interface RetentionReport {
  inboundEvents: number;
  webhookEvents: number;
  idempotencyKeys: number;
}

const day = 24 * 60 * 60 * 1000;

/**
 * Deletes what the hub keeps only for a while, so that the store does not grow with the traffic
 * for as long as the hub runs: platform events once processed and old enough, webhook events
 * (with their deliveries and attempts) once delivered and old enough, and `Idempotency-Key`
 * answers past their day. Messages, conversations, contacts and leads are never deleted here.
 * One process at a time does it, however many share the database.
 */
export class RetentionWorker {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #options: RetentionOptions;
  readonly #idle = new Wait();
  /** Aborted by `stop`: a pass under way ends after its current batch. */
  readonly #stopping = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(
    store: Store,
    logger: Logger,
    options: Pick<RetentionOptions, "inboundEventDays" | "webhookEventDays"> & Partial<RetentionOptions>,
  ) {
    this.#store = store;
    this.#log = logger.child({ component: "retention" });
    this.#options = { ...defaults, ...options };
  }

  start() {
    this.#loop = this.#run();
  }

  async stop() {
    this.#stopping.abort();
    this.#idle.wake();
    await this.#loop;
  }

  /** One pass; undefined when another process is making one. */
  async runOnce(now = new Date()): Promise<RetentionReport | undefined> {
    const lock = await this.#store.tryLock("retention");
    if (!lock) return undefined;
    // Ends early when the lock is lost (another process may take over) or the worker stops.
    const signal = AbortSignal.any([lock.signal, this.#stopping.signal]);
    try {
      const db = this.#store.db;
      const { inboundEventDays, webhookEventDays } = this.#options;
      return {
        inboundEvents: await this.#sweep(inboundEventDays, now, signal, (range) =>
          deleteProcessedInboundEvents(db, range),
        ),
        webhookEvents: await this.#sweep(webhookEventDays, now, signal, (range) =>
          deleteEndedWebhookEvents(db, range),
        ),
        idempotencyKeys: await this.#deleteIdempotencyKeys(now, signal),
      };
    } finally {
      await lock.release();
    }
  }

  /** Deletes batch after batch of rows older than `days`, until none is left or the pass must end. */
  async #sweep(
    days: number,
    now: Date,
    signal: AbortSignal,
    step: (range: SweepRange) => Promise<SweepStep>,
  ): Promise<number> {
    if (days === 0) return 0;
    const before = new Date(now.getTime() - days * day);
    let deleted = 0;
    let after: string | null = sweepStart;
    while (after !== null && !signal.aborted) {
      const done = await step({ before, after, limit: this.#options.batchSize });
      deleted += done.deleted;
      after = done.next;
      // PGlite would hold the event loop from one statement to the next.
      await nextTurn();
    }
    return deleted;
  }

  async #deleteIdempotencyKeys(now: Date, signal: AbortSignal): Promise<number> {
    let deleted = 0;
    while (!signal.aborted) {
      const batch = await deleteExpiredIdempotencyRecords(this.#store.db, now, this.#options.batchSize);
      deleted += batch;
      await nextTurn();
      if (batch < this.#options.batchSize) break;
    }
    return deleted;
  }

  async #run() {
    await this.#pause(this.#options.firstPassMs);
    while (!this.#stopping.signal.aborted) {
      try {
        const report = await this.runOnce();
        if (report && report.inboundEvents + report.webhookEvents + report.idempotencyKeys > 0)
          this.#log.info(
            {
              inbound_events: report.inboundEvents,
              webhook_events: report.webhookEvents,
              idempotency_keys: report.idempotencyKeys,
            },
            "old records deleted",
          );
      } catch (error) {
        this.#log.warn({ err: error }, "a retention pass failed; the next one tries again");
      }
      await this.#pause(this.#options.intervalMs);
    }
  }

  /** A stop that came during a pass is not waited out: `wake` only ends a pause under way. */
  #pause(ms: number): Promise<void> {
    return this.#stopping.signal.aborted ? Promise.resolve() : this.#idle.for(ms);
  }
}
