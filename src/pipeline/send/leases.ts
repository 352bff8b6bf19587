import type { Db } from "../../store/database.ts";
import { renewLeases } from "../../store/repositories/messages.ts";

/**
 * Keeps the leases of the messages this process is sending from running out while a send takes
 * longer than a lease: a slow download or upload, or a long wait inside the retry window. A
 * dispatcher takes over a `sending` row only once its lease has run out, and that must mean its
 * sender died, not that it is slow; otherwise both would send it (VK's random_id keeps the
 * client from a second message, but attachments would be uploaded twice).
 */
export class LeaseKeeper {
  readonly #db: Db;
  readonly #leaseMs: number;
  /** How many sends hold each message (a conversation send and a dispatcher may meet on one). */
  readonly #held = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(db: Db, leaseMs: number) {
    this.#db = db;
    this.#leaseMs = leaseMs;
  }

  /** Runs `work` with the leases of `ids` renewed every third of a lease until it settles. */
  async holding<T>(ids: readonly string[], work: () => Promise<T>): Promise<T> {
    for (const id of ids) this.#held.set(id, (this.#held.get(id) ?? 0) + 1);
    this.#timer ??= setInterval(() => this.#renew(), this.#leaseMs / 3).unref();
    try {
      return await work();
    } finally {
      for (const id of ids) {
        const count = (this.#held.get(id) ?? 1) - 1;
        if (count > 0) this.#held.set(id, count);
        else this.#held.delete(id);
      }
      if (this.#held.size === 0) this.close();
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #renew() {
    // A renewal that fails (the store away for a moment) leaves the lease as it was: the next
    // one may succeed, and at worst the row is taken over as if this process had died.
    renewLeases(this.#db, [...this.#held.keys()], this.#leaseMs).catch(() => {});
  }
}
