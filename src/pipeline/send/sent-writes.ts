/**
 * The bookkeeping of sends that went out, written in groups: every send finished while the
 * previous group was being written goes into the next one, as one transaction (`sent`, and the
 * announcements). A caller waits for its own group, so a send counts as recorded only once it is.
 * A crash before the write leaves the rows `sending`; the dispatcher takes them over after their
 * lease and the platform's idempotency key (VK `random_id`) drops the repeat, as for any crash
 * between send and bookkeeping.
 */
import { type Db, isUniqueViolation } from "../../store/database.ts";
import type { ChannelKind } from "../../store/repositories/channel-accounts.ts";
import { type Message, markSent, type SentOnPlatform } from "../../store/repositories/messages.ts";
import { announceStatus } from "./status-events.ts";

interface Pending {
  row: Pick<Message, "id" | "channelAccountId">;
  sent: SentOnPlatform;
  kind: ChannelKind;
  done: () => void;
  failed: (error: unknown) => void;
}

export class SentWrites {
  readonly #db: Db;
  #pending: Pending[] = [];
  #writing: Promise<void> | undefined;

  constructor(db: Db) {
    this.#db = db;
  }

  /** Records a part the platform took; resolves once it is written. */
  record(
    row: Pick<Message, "id" | "channelAccountId">,
    sent: SentOnPlatform,
    kind: ChannelKind,
  ): Promise<void> {
    return new Promise((done, failed) => {
      this.#pending.push({ row, sent, kind, done, failed });
      this.#writing ??= this.#drain();
    });
  }

  async #drain() {
    // Let the sends finishing in this turn of the event loop join the group.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.#pending.length > 0) {
      const group = this.#pending;
      this.#pending = [];
      try {
        await this.#write(group).catch((error) => {
          // The parts went out: failing them would send them again. See `markSent`.
          if (!isUniqueViolation(error, "message_external_key")) throw error;
          return this.#write(group, { takeOverExternalIds: true });
        });
        for (const p of group) p.done();
      } catch (error) {
        for (const p of group) p.failed(error);
      }
    }
    this.#writing = undefined;
  }

  #write(group: readonly Pending[], options: { takeOverExternalIds?: boolean } = {}) {
    return this.#db.transaction(async (tx) => {
      await markSent(tx, group, options);
      for (const kind of new Set(group.map((p) => p.kind)))
        await announceStatus(
          tx,
          group.filter((p) => p.kind === kind).map((p) => p.row.id),
          "sending",
          kind,
        );
    });
  }
}
