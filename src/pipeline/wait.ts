import { setImmediate } from "node:timers/promises";

/** A pause that ends early when woken: how the workers sleep between polls and NOTIFYs. */
export class Wait {
  #wake: (() => void) | undefined;

  for(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        if (self.#wake === done) self.#wake = undefined;
        resolve();
      }
      this.#wake = done;
    });
  }

  /** Ends the pause under way, if any; a wake with none under way is not remembered. */
  wake() {
    this.#wake?.();
  }
}

/**
 * Lets the event loop turn between a worker's transactions. PGlite answers its queries in
 * microtasks, never giving the loop a turn: a worker going from one transaction to the next would
 * keep HTTP requests (VK's events waiting for their `ok`) and timers waiting until it ran out of
 * work.
 */
export function nextTurn(): Promise<void> {
  return setImmediate();
}
