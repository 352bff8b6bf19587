import type { Store } from "../../store/database.ts";
import {
  inboundEventKey,
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
 *
 * A write starts on the event loop's next turn, after the requests already received have been
 * read: PGlite runs a statement synchronously, so requests that arrive meanwhile are parsed only
 * once it returns, and a write started at once would find a queue of one every time.
 */
export class InboundWriter {
  readonly #store: Store;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  #queue: Pending[] = [];
  #inFlight = 0;
  #pumpScheduled = false;

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
      this.#schedulePump();
    });
  }

  #schedulePump() {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  #pump() {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      this.#inFlight += 1;
      this.#flush(batch).finally(() => {
        this.#inFlight -= 1;
        this.#schedulePump();
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
    } catch (error) {
      const [only] = batch;
      if (only && batch.length === 1) return only.failed(error);
      // One event the store refuses (its channel deleted meanwhile) must not fail the events
      // written with it: each is written alone, and only it fails.
      for (const item of batch) await this.#flush([item]);
    }
  }
}
