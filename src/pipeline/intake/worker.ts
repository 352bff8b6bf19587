import type { Logger } from "pino";
import type { InboundEvent } from "../../channels/events.ts";
import { inboundAdapters } from "../../channels/registry.ts";
import type { Store } from "../../store/database.ts";
import {
  type ChannelAccount,
  findChannelAccount,
  touchChannelEvents,
} from "../../store/repositories/channel-accounts.ts";
import {
  claimInboundEvents,
  finishInboundEvent,
  type InboundEventRow,
  inboundEventsChannel,
  retryInboundEventLater,
} from "../../store/repositories/inbound-events.ts";
import { applyEvent, NotYetApplicable } from "./apply.ts";

/** An event applied and committed: what a follow-up (such as the `::bot_info` answer) gets. */
export interface AppliedEvent {
  channel: ChannelAccount;
  event: InboundEvent;
  inboundEventId: string;
}

/**
 * Work that reacts to an applied event after its transaction committed. Intake never waits for
 * it and never fails because of it (a failure is logged); it is best effort: a crash in between
 * loses it.
 */
export type IntakeFollowUp = (applied: AppliedEvent) => Promise<void>;

/** Runs several follow-ups side by side; one failing does not stop the others. */
export function allFollowUps(...list: IntakeFollowUp[]): IntakeFollowUp {
  return async (applied) => {
    const results = await Promise.allSettled(list.map((followUp) => followUp(applied)));
    const failed = results.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
  };
}

export interface IntakeOptions {
  batchSize: number;
  /** How long a claimed event is reserved for this worker before another may take it. */
  leaseMs: number;
  /** Poll interval when no notification arrives (a lost NOTIFY, a restart). */
  pollMs: number;
  /** Attempts before an event that keeps failing is set aside as `failed`. */
  maxAttempts: number;
  followUp?: IntakeFollowUp;
}

const defaults: IntakeOptions = { batchSize: 100, leaseMs: 30_000, pollMs: 1_000, maxAttempts: 8 };

/**
 * Processes stored platform events: claims a batch, applies each in its own transaction, and
 * marks it done. Any number of workers, in any number of processes, may run at once.
 */
export class IntakeWorker {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #options: IntakeOptions;
  #running = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #unlisten: (() => Promise<void>) | undefined;
  readonly #followUps = new Set<Promise<void>>();

  constructor(store: Store, logger: Logger, options: Partial<IntakeOptions> = {}) {
    this.#store = store;
    this.#log = logger.child({ component: "intake" });
    this.#options = { ...defaults, ...options };
  }

  async start() {
    this.#running = true;
    try {
      this.#unlisten = await this.#store.listen(inboundEventsChannel, () => this.#wake?.());
    } catch (error) {
      this.#log.warn({ err: error }, "no notifications; intake falls back to polling");
    }
    this.#loop = this.#run();
  }

  async stop() {
    this.#running = false;
    this.#wake?.();
    await this.#loop;
    await this.#unlisten?.();
    await this.settle();
  }

  /** Waits for the follow-ups started so far. */
  async settle() {
    while (this.#followUps.size > 0) await Promise.allSettled([...this.#followUps]);
  }

  /** Processes one batch; returns how many events it handled. */
  async runOnce(): Promise<number> {
    const events = await claimInboundEvents(this.#store.db, this.#options.batchSize, this.#options.leaseMs);
    const channels = new Map<string, ChannelAccount | undefined>();
    const lastEvents = new Map<string, Date>();
    const applied: AppliedEvent[] = [];
    for (const event of events) {
      if (!channels.has(event.channelAccountId)) {
        channels.set(
          event.channelAccountId,
          await findChannelAccount(this.#store.db, event.channelAccountId),
        );
      }
      const channel = channels.get(event.channelAccountId);
      const done = channel ? await this.#process(event, channel) : undefined;
      if (done) applied.push(done);
      const last = lastEvents.get(event.channelAccountId);
      if (!last || last < event.receivedAt) lastEvents.set(event.channelAccountId, event.receivedAt);
    }
    await touchChannelEvents(this.#store.db, lastEvents);
    // Follow-ups see the batch fully recorded (the channel's last event time included).
    for (const event of applied) this.#followUp(event);
    return events.length;
  }

  /** Applies one event; returns it when it was applied (for the follow-ups). */
  async #process(event: InboundEventRow, channel: ChannelAccount): Promise<AppliedEvent | undefined> {
    const adapter = inboundAdapters[channel.kind];
    const db = this.#store.db;
    try {
      if (!adapter) throw new Error(`no inbound adapter for ${channel.kind}`);
      const parsed = adapter.parseEvent(event.payload);
      const outcome = await db.transaction(async (tx) => {
        const outcome = await applyEvent(
          { db: tx, channel, inboundEventId: event.id, receivedAt: event.receivedAt },
          parsed,
        );
        await finishInboundEvent(tx, event.id, outcome, parsed.type === "unsupported" ? parsed.reason : null);
        return outcome;
      });
      return outcome === "applied" ? { channel, event: parsed, inboundEventId: event.id } : undefined;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (event.attempts >= this.#options.maxAttempts) {
        this.#log.error(
          { err: error, event_id: event.id, type: event.eventType },
          "inbound event failed for good",
        );
        await finishInboundEvent(db, event.id, "failed", reason);
        return undefined;
      }
      // Out-of-order events wait a moment; real failures back off exponentially.
      const delay = error instanceof NotYetApplicable ? 1_000 : Math.min(60_000, 500 * 2 ** event.attempts);
      if (!(error instanceof NotYetApplicable)) {
        this.#log.warn(
          { err: error, event_id: event.id, type: event.eventType },
          "inbound event will be retried",
        );
      }
      await retryInboundEventLater(db, event.id, delay, reason);
      return undefined;
    }
  }

  #followUp(applied: AppliedEvent) {
    const followUp = this.#options.followUp;
    if (!followUp) return;
    const task: Promise<void> = followUp(applied)
      .catch((error) =>
        this.#log.warn({ err: error, event_id: applied.inboundEventId }, "a follow-up of an event failed"),
      )
      .finally(() => this.#followUps.delete(task));
    this.#followUps.add(task);
  }

  async #run() {
    while (this.#running) {
      let handled = 0;
      try {
        handled = await this.runOnce();
      } catch (error) {
        this.#log.error({ err: error }, "intake batch failed");
      }
      // A full batch means more are waiting: go again at once.
      if (handled >= this.#options.batchSize || !this.#running) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#options.pollMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }
}
