/**
 * The dispatcher: delivers the queued messages (`src/store/repositories/outbound-queue.ts`)
 * through their routes, within each account's limits, until they are sent or end `failed`,
 * `expired` or `rate_limited`.
 *
 * - **One lane per account.** Each channel account with due messages is driven by one lane, in
 *   the one process that holds the account's lock (`Store.tryLock`): its limits and priorities
 *   live in that lane's memory, so they hold exactly however many hub processes share the
 *   database; different accounts spread over the processes. A lane with nothing due for a while
 *   lets its account go, so another process may pick it up next time.
 * - **Claims** are small (what the account's per-second window admits) and take replies first,
 *   so a `reply` queued behind thousands of `bulk` messages goes out within about a second.
 *   Rows are taken with `FOR UPDATE SKIP LOCKED` and leased: a row whose process died is taken
 *   again when its lease ends, and sent with the same platform idempotency key (VK `random_id`).
 * - **Order per recipient**: two messages to one client never travel at once; up to
 *   `maxInFlight` messages to different clients do.
 * - **Failures**: passing ones (the catalogue's `retryable` and `rate_limited` classes) come back
 *   after an exponential back-off or the platform's `retryAfter`, within the message's time to
 *   live; ones that are final for the route (the adapter says which) move the message to its
 *   next route; anything else fails it. The per-recipient daily quota is checked before a send:
 *   a message the quota delays past its time to live ends `rate_limited` (Devino's RATELIMIT).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { OutboundAdapter, SendLimits } from "../../channels/adapter.ts";
import { AppError } from "../../errors/app-error.ts";
import type { ErrorCode } from "../../errors/catalogue.ts";
import type { HeldLock, Store } from "../../store/database.ts";
import { type ChannelAccount, findChannelAccount } from "../../store/repositories/channel-accounts.ts";
import { type Conversation, openDirectConversations } from "../../store/repositories/conversations.ts";
import { getMessage, isOnPlatform, listParts, type Message } from "../../store/repositories/messages.ts";
import {
  accountsWithDueMessages,
  assignConversations,
  claimDue,
  expireOverdue,
  finishUndelivered,
  moveToRoute,
  nextDueAt,
  notificationsSince,
  outboundChannel,
  requeue,
  type UndeliveredStatus,
} from "../../store/repositories/outbound-queue.ts";
import { singleRecipients } from "../../store/repositories/recipients.ts";
import { Wait } from "../wait.ts";
import { conversationEvent, recordEvents } from "../webhooks/events.ts";
import { AccountPace, resolveLimits } from "./limits.ts";
import { isPassing } from "./retry.ts";
import type { PreparedRoute, SendService } from "./service.ts";
import { announceStatus } from "./status-events.ts";

/** What a lane looked up for one claimed batch (see `AccountLane.#prepare`). */
interface Batch {
  /** The conversation each send-API message (by id) goes out in. */
  conversations: Map<string, Conversation>;
  recipients: Map<string, { externalId: string; refused: boolean }>;
  /** When each contact got notifications from this account in the last 24 hours. */
  quotaHistory: Map<string, Date[]>;
  limits: SendLimits;
}

export interface DispatcherOptions {
  /** How often to look for due messages when no notification comes. */
  pollMs: number;
  /** How long a taken message is reserved before another dispatcher may take it over. */
  leaseMs: number;
  /** Messages one account sends at once (to different recipients). */
  maxInFlight: number;
  /** A lane with nothing due for this long lets its account go. */
  idleReleaseMs: number;
  /** How often a lane ends the messages whose time to live passed while they waited. */
  expirySweepMs: number;
  /** The longest back-off between two attempts at one message. */
  maxBackoffMs: number;
  /** A failure that is not catalogued (a bug) is retried this many times, then the message fails. */
  maxUnexpectedAttempts: number;
  /** Accounts with due messages looked at per poll; the next poll goes on from the last. */
  scanLimit: number;
  now: () => number;
}

export const dispatcherDefaults: DispatcherOptions = {
  pollMs: 1_000,
  leaseMs: 60_000,
  maxInFlight: 16,
  idleReleaseMs: 10_000,
  expirySweepMs: 5_000,
  maxBackoffMs: 300_000,
  maxUnexpectedAttempts: 5,
  scanLimit: 1_000,
  now: () => Date.now(),
};

const day = 86_400_000;

/** A claim takes what the account's pace lets out in this long (see `AccountPace.admits`). */
const claimAheadMs = 300;

/** Failures after which this route will never deliver the message, whatever the platform. */
const routeFinalCodes = new Set<ErrorCode>([
  "contact_refused_messages",
  "recipient_unknown",
  "channel_disabled",
  "channel_send_unsupported",
  "recipient_daily_quota",
]);

export class Dispatcher {
  readonly #store: Store;
  readonly #sender: SendService;
  readonly #log: Logger;
  readonly #options: DispatcherOptions;
  readonly #lanes = new Map<string, AccountLane>();
  /** Where the next scan for accounts with due messages starts (see `#startLanes`). */
  #scannedUpTo: string | undefined;
  readonly #idle = new Wait();
  #running = false;
  #loop: Promise<void> | undefined;
  #unlisten: (() => Promise<void>) | undefined;

  constructor(store: Store, sender: SendService, logger: Logger, options: Partial<DispatcherOptions> = {}) {
    this.#store = store;
    this.#sender = sender;
    this.#log = logger.child({ component: "dispatcher" });
    this.#options = { ...dispatcherDefaults, ...options };
  }

  async start() {
    this.#running = true;
    try {
      this.#unlisten = await this.#store.listen(outboundChannel, () => this.wake());
    } catch (error) {
      this.#log.warn({ err: error }, "no notifications; the dispatcher falls back to polling");
    }
    this.#loop = this.#run();
  }

  /** Looks for due messages now (new ones were queued). */
  wake() {
    this.#idle.wake();
    for (const lane of this.#lanes.values()) lane.wake();
  }

  async stop() {
    this.#running = false;
    this.wake();
    await this.#loop;
    await Promise.all([...this.#lanes.values()].map((lane) => lane.stop()));
    await this.#unlisten?.();
  }

  async #run() {
    while (this.#running) {
      try {
        await this.#startLanes();
      } catch (error) {
        this.#log.error({ err: error }, "looking for due messages failed");
      }
      await this.#idle.for(this.#options.pollMs);
    }
  }

  /**
   * Starts a lane for each account with due messages whose lock this process can take. With more
   * such accounts than one scan takes, each scan goes on where the last stopped, so accounts that
   * stay busy (here or in other processes) never keep the others from being seen.
   */
  async #startLanes() {
    const now = new Date(this.#options.now());
    const { scanLimit } = this.#options;
    const due = await accountsWithDueMessages(this.#store.db, now, scanLimit, this.#scannedUpTo);
    this.#scannedUpTo = due.length < scanLimit ? undefined : due[due.length - 1];
    for (const accountId of due) {
      if (!this.#running || this.#lanes.has(accountId)) continue;
      const lock = await this.#store.tryLock(`dispatch:${accountId}`);
      if (!lock) continue;
      const lane = new AccountLane(accountId, lock, {
        store: this.#store,
        sender: this.#sender,
        log: this.#log.child({ channel_id: accountId }),
        options: this.#options,
      });
      this.#lanes.set(accountId, lane);
      lane.done.finally(() => this.#lanes.delete(accountId));
    }
  }
}

interface LaneDeps {
  store: Store;
  sender: SendService;
  log: Logger;
  options: DispatcherOptions;
}

/** Sends one account's messages, in the process that holds the account's lock. */
class AccountLane {
  readonly done: Promise<void>;
  readonly #accountId: string;
  readonly #lock: HeldLock;
  readonly #deps: LaneDeps;
  readonly #wait = new Wait();
  /** The send in flight to each recipient; the next message to that recipient waits for it. */
  readonly #inFlight = new Map<string, Promise<void>>();
  #stopping = false;
  #pace: { key: string; pace: AccountPace } | undefined;
  /** The queue of sends waiting for the pace (see `#admit`). */
  #turns: Promise<void> = Promise.resolve();

  constructor(accountId: string, lock: HeldLock, deps: LaneDeps) {
    this.#accountId = accountId;
    this.#lock = lock;
    this.#deps = deps;
    lock.signal.addEventListener("abort", () => this.wake());
    this.done = this.#run()
      .catch((error) => deps.log.error({ err: error }, "a dispatch lane failed"))
      .finally(async () => {
        await Promise.allSettled([...this.#inFlight.values()]);
        await lock.release();
      });
  }

  wake() {
    this.#wait.wake();
  }

  async stop() {
    this.#stopping = true;
    this.wake();
    await this.done;
  }

  get #active() {
    return !this.#stopping && !this.#lock.signal.aborted;
  }

  async #run() {
    const { options, store } = this.#deps;
    let idleSince = options.now();
    let sweptAt = 0;
    while (this.#active) {
      const now = options.now();
      const channel = await findChannelAccount(store.db, this.#accountId);
      const adapter = channel && this.#deps.sender.adapter(channel.kind);
      if (!channel || !adapter) return;
      if (now - sweptAt >= options.expirySweepMs) {
        sweptAt = now;
        await store.db.transaction(async (tx) => {
          const expired = await expireOverdue(tx, this.#accountId, new Date(now));
          await announceStatus(tx, expired, "queued", channel.kind);
        });
      }
      const pace = this.#paceFor(channel, adapter);
      // Claim when half the slots are free, not after every send: a claim is a round trip.
      const free = options.maxInFlight - this.#inFlight.size;
      const room = free >= options.maxInFlight / 2 ? Math.min(free, pace.admits(claimAheadMs)) : 0;
      if (room <= 0) {
        // More than half the slots are busy: wait for one to finish.
        await Promise.race(this.#inFlight.values());
        continue;
      }
      const claimed = await claimDue(store.db, this.#accountId, {
        limit: room,
        now: new Date(now),
        leaseUntil: new Date(now + options.leaseMs),
      });
      if (claimed.length === 0) {
        if (this.#inFlight.size === 0 && now - idleSince >= options.idleReleaseMs) return;
        const next = await nextDueAt(store.db, this.#accountId);
        const until = next ? Math.max(1, next.getTime() - now) : options.pollMs;
        await this.#wait.for(Math.min(until, options.pollMs));
        continue;
      }
      idleSince = now;
      const batch = await this.#prepare(claimed, channel, pace.limits, now);
      for (const row of claimed) this.#start(row, channel, adapter, batch);
    }
  }

  /** The account's pace, rebuilt when its limits change (an admin's PATCH, a token lost). */
  #paceFor(channel: ChannelAccount, adapter: OutboundAdapter): AccountPace {
    const limits = resolveLimits(adapter.sendLimits(channel), channel.limits);
    const key = JSON.stringify(limits);
    if (this.#pace?.key !== key) this.#pace = { key, pace: new AccountPace(limits) };
    return this.#pace.pace;
  }

  /**
   * What the claimed messages need, looked up for all of them at once: the conversations of the
   * send API's messages (opened where missing), the recipients, and the quota history. A message
   * this cannot prepare (a part of a split message, a contact with several identities) is looked
   * up on its own when sent.
   */
  async #prepare(
    claimed: Message[],
    channel: ChannelAccount,
    limits: SendLimits,
    now: number,
  ): Promise<Batch> {
    const db = this.#deps.store.db;
    const heads = claimed.filter((row) => row.partOf === null && row.contactId !== null);
    const contactIds = heads.map((row) => row.contactId as string);
    const unassigned = heads.filter((row) => row.conversationId === null);
    const conversations = new Map<string, Conversation>();
    if (unassigned.length > 0) {
      // A message to a contact with no open conversation opens one, announced like any other.
      const opened = await db.transaction(async (tx) => {
        const opened = await openDirectConversations(
          tx,
          channel.workspaceId,
          channel.id,
          unassigned.map((row) => row.contactId as string),
        );
        await assignConversations(
          tx,
          unassigned.flatMap((row) => {
            const conversation = opened.byContact.get(row.contactId as string);
            return conversation
              ? [{ messageId: row.id, conversationId: conversation.id, at: row.sentAt }]
              : [];
          }),
        );
        await recordEvents(
          tx,
          [...opened.created].map((contactId) =>
            conversationEvent("conversation.created", opened.byContact.get(contactId) as Conversation),
          ),
        );
        return opened.byContact;
      });
      for (const row of unassigned) {
        const conversation = opened.get(row.contactId as string);
        if (conversation) conversations.set(row.id, conversation);
      }
    }
    const recipients = await singleRecipients(db, channel, contactIds);
    const quotaHistory =
      limits.perRecipientPerDay > 0
        ? await notificationsSince(
            db,
            channel.id,
            heads.filter((row) => row.queueRank > 0).map((row) => row.contactId as string),
            new Date(now - day),
          )
        : new Map<string, Date[]>();
    return { conversations, recipients, quotaHistory, limits };
  }

  /** Sends `row`'s message after the one in flight to the same recipient, if any. */
  #start(row: Message, channel: ChannelAccount, adapter: OutboundAdapter, batch: Batch) {
    const recipient = row.contactId ?? row.conversationId ?? row.id;
    const before = this.#inFlight.get(recipient) ?? Promise.resolve();
    const task: Promise<void> = before
      .then(() => this.#dispatch(row, channel, adapter, batch))
      .catch((error) => this.#deps.log.error({ err: error, message_id: row.id }, "dispatching failed"))
      .finally(() => {
        if (this.#inFlight.get(recipient) === task) this.#inFlight.delete(recipient);
        this.wake();
      });
    this.#inFlight.set(recipient, task);
  }

  async #dispatch(row: Message, channel: ChannelAccount, adapter: OutboundAdapter, batch: Batch) {
    const { store, options, sender } = this.#deps;
    const db = store.db;
    const stored = row.partOf ? await getMessage(db, row.workspaceId, row.partOf) : row;
    if (!stored || (stored.id !== row.id && stored.channelAccountId !== channel.id)) return;
    const assigned = batch.conversations.get(stored.id);
    const head = assigned ? { ...stored, conversationId: assigned.id } : stored;
    const unsent = async () =>
      (await listParts(db, head.id)).filter((part) => !isOnPlatform(part)).map((part) => part.id);
    const now = options.now();
    if (head.expiresAt && head.expiresAt.getTime() <= now) {
      await this.#finish(await unsent(), "expired", head.errorCode ?? "message_expired", channel);
      return;
    }
    try {
      if (head.queueRank > 0 && head.contactId) this.#checkQuota(head, batch, now);
      const notification = head.queueRank > 0;
      await sender.attempt(head, {
        prepared: this.#preparedRoute(head, channel, batch),
        admit: async () => {
          await this.#admit(notification);
          // The pace may have held it past its time to live.
          if (head.expiresAt && head.expiresAt.getTime() <= options.now())
            throw new AppError("message_expired", { expiresAt: head.expiresAt.toISOString() });
        },
      });
    } catch (error) {
      await this.#failed(head, await unsent(), channel, adapter, error);
    }
  }

  /**
   * One more platform message may leave when the account's pace allows it; turns are taken in
   * the order asked, so a wait never lets a later message overtake.
   */
  #admit(notification: boolean): Promise<void> {
    const pace = this.#pace?.pace;
    const now = this.#deps.options.now;
    const turn = this.#turns.then(async () => {
      if (!pace) return;
      for (let wait = pace.waitMs(notification, now()); wait > 0; wait = pace.waitMs(notification, now()))
        await sleep(wait);
      pace.record(notification, now());
    });
    this.#turns = turn.catch(() => {});
    return turn;
  }

  /** The batch's look-ups for a message of the send API, when it has them all. */
  #preparedRoute(head: Message, channel: ChannelAccount, batch: Batch): PreparedRoute | undefined {
    const conversation = batch.conversations.get(head.id);
    const recipient = head.contactId ? batch.recipients.get(head.contactId) : undefined;
    if (!conversation || !recipient || head.routes.length === 0) return undefined;
    return { channel, conversation, peer: recipient.externalId, refused: recipient.refused, single: true };
  }

  /**
   * Throws `recipient_daily_quota` when the recipient had their notifications for 24 hours. The
   * batch's history is updated as this lane sends, so one batch cannot overrun the quota.
   */
  #checkQuota(head: Message, batch: Batch, now: number) {
    const { perRecipientPerDay } = batch.limits;
    if (perRecipientPerDay <= 0) return;
    const contactId = head.contactId as string;
    const sent = (batch.quotaHistory.get(contactId) ?? []).filter((at) => at.getTime() > now - day);
    if (sent.length >= perRecipientPerDay) {
      const availableAt = new Date((sent[sent.length - perRecipientPerDay] as Date).getTime() + day);
      throw new AppError(
        "recipient_daily_quota",
        { limit: perRecipientPerDay, availableAt: availableAt.toISOString() },
        { retryAfter: Math.ceil((availableAt.getTime() - now) / 1000) },
      );
    }
    batch.quotaHistory.set(contactId, [...sent, new Date(now)]);
  }

  async #failed(
    head: Message,
    unsent: string[],
    channel: ChannelAccount,
    adapter: OutboundAdapter,
    error: unknown,
  ) {
    const { store, options, log } = this.#deps;
    const db = store.db;
    const now = options.now();
    if (!(error instanceof AppError)) {
      log.error({ err: error, message_id: head.id }, "sending failed unexpectedly");
      if (head.attempts >= options.maxUnexpectedAttempts)
        await this.#finish(unsent, "failed", "internal_error", channel);
      else await requeue(db, unsent, new Date(now + this.#backoffMs(head)), "internal_error");
      return;
    }
    if (error.code === "message_expired") {
      await this.#finish(unsent, "expired", head.errorCode ?? error.code, channel);
      return;
    }
    const quota = error.code === "recipient_daily_quota";
    const retryAt = now + (quota ? (error.retryAfter ?? 0) * 1000 : this.#backoffMs(head, error));
    const withinTtl = !head.expiresAt || retryAt <= head.expiresAt.getTime();
    if ((isPassing(error) && !quota) || (quota && withinTtl)) {
      if (withinTtl) await requeue(db, unsent, new Date(retryAt), error.code);
      else await this.#finish(unsent, "expired", error.code, channel);
      return;
    }
    if (quota || routeFinalCodes.has(error.code) || adapter.isFinalForRoute(error)) {
      if (await this.#nextRoute(head, error.code)) return;
      await this.#finish(unsent, quota ? "rate_limited" : "failed", error.code, channel);
      return;
    }
    await this.#finish(unsent, "failed", error.code, channel);
  }

  /** Ends messages undelivered (leased by this lane: `sending`), announcing each. */
  async #finish(ids: string[], status: UndeliveredStatus, code: string, channel: ChannelAccount) {
    await this.#deps.store.db.transaction(async (tx) => {
      await finishUndelivered(tx, ids, status, code);
      await announceStatus(tx, ids, "sending", channel.kind);
    });
  }

  /** Moves the message to its next usable route; false when it has none left. */
  async #nextRoute(head: Message, reason: string): Promise<boolean> {
    const db = this.#deps.store.db;
    for (let index = head.routeIndex + 1; index < head.routes.length; index += 1) {
      const channel = await findChannelAccount(db, head.routes[index] as string);
      if (!channel || channel.state === "disabled" || !this.#deps.sender.adapter(channel.kind)) continue;
      // A template gave each route's kind its own text and keyboard; other messages send theirs everywhere.
      const body = head.bodyByKind
        ? head.bodyByKind[channel.kind]
        : { text: head.text, keyboard: head.keyboard };
      if (!body) continue;
      await moveToRoute(db, head, { index, channelAccountId: channel.id, body }, reason);
      await this.#deps.store.notify(outboundChannel);
      return true;
    }
    return false;
  }

  /** Exponential in the attempts so far, with jitter, never shorter than the platform asked. */
  #backoffMs(head: Message, error?: AppError): number {
    const exponential = Math.min(
      this.#deps.options.maxBackoffMs,
      1_000 * 2 ** Math.max(0, head.attempts - 1),
    );
    return Math.round(Math.max(exponential * (0.8 + 0.4 * Math.random()), (error?.retryAfter ?? 0) * 1000));
  }
}
