import type { Store } from "../../store/database.ts";
import {
  inboundEventKey,
  inboundEventsChannel,
  type NewInboundEvent,
  storeInboundEvents,
} from "../../store/repositories/inbound-events.ts";

interface Pending {
  event: NewInboundEvent;
  done: (isNew: boolean) => void;
  failed: (error: unknown) => void;
}

/**
 * Writes webhook events durably before they are acknowledged, gathering those that arrive
 * together into one INSERT: under load a commit is paid per batch, not per event (principle 4).
 * Batches form by themselves: events queue while a write is under way and go in the next one,
 * so a lone event waits for nothing but its own write.
 */
export class InboundWriter {
  readonly #store: Store;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  #queue: Pending[] = [];
  #inFlight = 0;

  constructor(store: Store, options: { maxBatch?: number; maxInFlight?: number } = {}) {
    this.#store = store;
    this.#maxBatch = options.maxBatch ?? 500;
    // PGlite runs one statement at a time; a server takes several at once.
    this.#maxInFlight = options.maxInFlight ?? (store.mode === "server" ? 4 : 1);
  }

  /** Resolves once the event is committed: true when it was new, false for a repeat. */
  write(event: NewInboundEvent): Promise<boolean> {
    return new Promise((done, failed) => {
      this.#queue.push({ event, done, failed });
      this.#pump();
    });
  }

  #pump() {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      this.#inFlight += 1;
      this.#flush(batch).finally(() => {
        this.#inFlight -= 1;
        this.#pump();
      });
    }
  }

  async #flush(batch: Pending[]) {
    try {
      const inserted = await storeInboundEvents(
        this.#store.db,
        batch.map((item) => item.event),
      );
      for (const item of batch) item.done(inserted.has(inboundEventKey(item.event)));
      // One wake-up per batch, sent after the answers: workers need not hold up the platform.
      if (inserted.size > 0) this.#store.notify(inboundEventsChannel).catch(() => {});
    } catch (error) {
      for (const item of batch) item.failed(error);
    }
  }
}
