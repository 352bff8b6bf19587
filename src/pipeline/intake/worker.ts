import { setTimeout as sleep } from "node:timers/promises";
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
  finishInboundEvents,
  type InboundEventRow,
  type InboundOutcome,
  inboundEventsChannel,
  retryInboundEventLater,
} from "../../store/repositories/inbound-events.ts";
import { nextTurn, Wait } from "../wait.ts";
import { applyEvent, NotYetApplicable } from "./apply.ts";
import { applyClientMessages } from "./apply-messages.ts";

/** An event applied and committed: what a follow-up (such as the `::bot_info` answer) gets. */
export interface AppliedEvent {
  channel: ChannelAccount;
  event: InboundEvent;
  inboundEventId: string;
}

/**
 * Work that reacts to the events of a batch once they are applied and committed, given all of
 * them at once so that it can look things up (and call platforms) once per batch. Intake never
 * waits for it and never fails because of it (a failure is logged); it is best effort: a crash
 * in between loses it.
 */
export type IntakeFollowUp = (applied: readonly AppliedEvent[]) => Promise<void>;

/** Runs several follow-ups side by side; one failing does not stop the others. */
export function allFollowUps(...list: IntakeFollowUp[]): IntakeFollowUp {
  return (applied) => settleAll(list.map((followUp) => followUp(applied)));
}

/** Waits for every task, then throws the first failure, if any. */
export async function settleAll(tasks: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((result) => result.status === "rejected");
  if (failed) throw failed.reason;
}

export interface IntakeOptions {
  batchSize: number;
  /** How long a claimed event is reserved for this worker before another may take it. */
  leaseMs: number;
  /** Poll interval when no notification arrives (a lost NOTIFY, a restart). */
  pollMs: number;
  /** Attempts before an event that keeps failing is set aside as `failed`. */
  maxAttempts: number;
  /**
   * After a batch of several events but not full, how long to let more gather before the next:
   * under a steady flow, batches (and their transactions) grow with the rate instead of holding
   * an event or two each. A lone event is taken the moment it is stored.
   */
  gatherMs: number;
  followUp?: IntakeFollowUp;
}

const defaults: IntakeOptions = {
  batchSize: 100,
  leaseMs: 30_000,
  pollMs: 1_000,
  maxAttempts: 8,
  gatherMs: 20,
};

/**
 * Processes stored platform events: claims a batch, applies its runs of client messages together
 * and any other event alone, each in a transaction that also marks them done. Any number of
 * workers, in any number of processes, may run at once.
 */
export class IntakeWorker {
  readonly #store: Store;
  readonly #log: Logger;
  readonly #options: IntakeOptions;
  #running = false;
  readonly #idle = new Wait();
  #loop: Promise<void> | undefined;
  #unlisten: (() => Promise<void>) | undefined;
  readonly #followUps = new Set<Promise<void>>();
  readonly #lastEventWritten = new Map<string, Date>();

  constructor(store: Store, logger: Logger, options: Partial<IntakeOptions> = {}) {
    this.#store = store;
    this.#log = logger.child({ component: "intake" });
    this.#options = { ...defaults, ...options };
  }

  async start() {
    this.#running = true;
    try {
      this.#unlisten = await this.#store.listen(inboundEventsChannel, () => this.#idle.wake());
    } catch (error) {
      this.#log.warn({ err: error }, "no notifications; intake falls back to polling");
    }
    this.#loop = this.#run();
  }

  async stop() {
    this.#running = false;
    this.#idle.wake();
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
    for (const id of new Set(events.map((event) => event.channelAccountId)))
      channels.set(id, await findChannelAccount(this.#store.db, id));
    // Before the events are applied: whoever sees one applied also sees its channel's last event time.
    await this.#touchChannels(events);
    const applied: AppliedEvent[] = [];
    for (const run of runsOf(events, channels)) {
      applied.push(...(await this.#processRun(run)));
      // Between transactions, and so between batches too: PGlite would hold the event loop.
      await nextTurn();
    }
    if (applied.length > 0) this.#followUp(applied);
    return events.length;
  }

  /**
   * Keeps each channel's last event time, to the second: a steady flow of events moves it once
   * a second, not once a batch.
   */
  async #touchChannels(events: readonly InboundEventRow[]) {
    const due = new Map<string, Date>();
    for (const { channelAccountId, receivedAt } of events) {
      const written = this.#lastEventWritten.get(channelAccountId);
      const pending = due.get(channelAccountId);
      if (
        (!written || receivedAt.getTime() - written.getTime() >= 1_000) &&
        (!pending || pending < receivedAt)
      )
        due.set(channelAccountId, receivedAt);
    }
    await touchChannelEvents(this.#store.db, due);
    for (const [id, at] of due) this.#lastEventWritten.set(id, at);
  }

  /**
   * Applies a run of client messages in one transaction; any other event alone. When a run
   * fails, its events are applied one by one, so that only the one at fault waits for a retry.
   */
  async #processRun(run: Run): Promise<AppliedEvent[]> {
    if (run.kind === "single") {
      const done = run.channel ? await this.#process(run.events[0], run.channel, run.parsed) : undefined;
      return done ? [done] : [];
    }
    const { channel, events } = run;
    if (events.length === 1) {
      const done = await this.#process(events[0], channel, run.messages[0]);
      return done ? [done] : [];
    }
    try {
      const outcomes = await this.#store.db.transaction(async (tx) => {
        const outcomes = await applyClientMessages(tx, channel, run.messages);
        await finishInboundEvents(
          tx,
          events.map((event, i) => ({ id: event.id, outcome: outcomes[i] as InboundOutcome })),
        );
        return outcomes;
      });
      return events.flatMap((event, i) =>
        outcomes[i] === "applied"
          ? [{ channel, event: run.messages[i] as ClientMessageEvent, inboundEventId: event.id }]
          : [],
      );
    } catch {
      const applied: AppliedEvent[] = [];
      for (const [i, event] of events.entries()) {
        const done = await this.#process(event, channel, run.messages[i]);
        if (done) applied.push(done);
        await nextTurn();
      }
      return applied;
    }
  }

  /**
   * Applies one event, `known` already parsed by `runsOf`; returns it when it was applied (for the
   * follow-ups). One `runsOf` could not parse is parsed again here, so that its error counts.
   */
  async #process(
    event: InboundEventRow,
    channel: ChannelAccount,
    known?: InboundEvent,
  ): Promise<AppliedEvent | undefined> {
    const adapter = inboundAdapters[channel.kind];
    const db = this.#store.db;
    try {
      if (!adapter) throw new Error(`no inbound adapter for ${channel.kind}`);
      const parsed = known ?? adapter.parseEvent(event.payload);
      const outcome = await db.transaction(async (tx) => {
        const outcome = await applyEvent(
          { db: tx, channel, inboundEventId: event.id, receivedAt: event.receivedAt },
          parsed,
        );
        const error = parsed.type === "unsupported" ? parsed.reason : null;
        await finishInboundEvents(tx, [{ id: event.id, outcome, error }]);
        return outcome;
      });
      return outcome === "applied" ? { channel, event: parsed, inboundEventId: event.id } : undefined;
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const early = error instanceof NotYetApplicable;
      if (event.attempts >= this.#options.maxAttempts) {
        if (early) {
          // What it changes never came: a message or comment from before the channel was connected.
          this.#log.info({ event_id: event.id, type: event.eventType, reason }, "inbound event set aside");
          await finishInboundEvents(db, [{ id: event.id, outcome: "unsupported", error: reason }]);
          return undefined;
        }
        this.#log.error(
          { err: error, event_id: event.id, type: event.eventType },
          "inbound event failed for good",
        );
        await finishInboundEvents(db, [{ id: event.id, outcome: "failed", error: reason }]);
        return undefined;
      }
      // 1, 2, 4 … 60 s: two minutes in all, long enough for VK's retries of the event that an
      // event ahead of it waits for.
      const delay = Math.min(60_000, 500 * 2 ** event.attempts);
      if (!early) {
        this.#log.warn(
          { err: error, event_id: event.id, type: event.eventType },
          "inbound event will be retried",
        );
      }
      await retryInboundEventLater(db, event.id, delay, reason);
      return undefined;
    }
  }

  #followUp(applied: readonly AppliedEvent[]) {
    const followUp = this.#options.followUp;
    if (!followUp) return;
    const task: Promise<void> = followUp(applied)
      .catch((error) =>
        this.#log.warn({ err: error, events: applied.length }, "a follow-up of events failed"),
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
      // A full batch means more are waiting: go again at once (`runOnce` let the event loop turn).
      if (handled >= this.#options.batchSize || !this.#running) continue;
      await (handled > 1 ? sleep(this.#options.gatherMs) : this.#idle.for(this.#options.pollMs));
    }
  }
}

type ClientMessageEvent = Extract<InboundEvent, { type: "message" }>;

/** Events applied together: consecutive client messages of one channel, or a single other event. */
type Run =
  | {
      kind: "messages";
      channel: ChannelAccount;
      events: [InboundEventRow, ...InboundEventRow[]];
      messages: ClientMessageEvent[];
    }
  | {
      kind: "single";
      channel: ChannelAccount | undefined;
      events: [InboundEventRow];
      /** Undefined when it could not be parsed (or has no channel). */
      parsed: InboundEvent | undefined;
    };

/** Splits claimed events, in order, into runs; an event that cannot be parsed is left to `#process`. */
function runsOf(
  events: readonly InboundEventRow[],
  channels: ReadonlyMap<string, ChannelAccount | undefined>,
) {
  const runs: Run[] = [];
  for (const event of events) {
    const channel = channels.get(event.channelAccountId);
    const parsed = channel ? parseQuietly(channel, event) : undefined;
    const last = runs[runs.length - 1];
    if (channel && parsed?.type === "message") {
      if (last?.kind === "messages" && last.channel.id === channel.id) {
        last.events.push(event);
        last.messages.push(parsed);
      } else runs.push({ kind: "messages", channel, events: [event], messages: [parsed] });
    } else runs.push({ kind: "single", channel, events: [event], parsed });
  }
  return runs;
}

function parseQuietly(channel: ChannelAccount, event: InboundEventRow): InboundEvent | undefined {
  try {
    return inboundAdapters[channel.kind]?.parseEvent(event.payload);
  } catch {
    return undefined;
  }
}
