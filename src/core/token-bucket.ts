/**
 * A token bucket: `burst` requests at once, then `rate` per second. Pure: the caller passes
 * the time, so tests and the dispatcher can drive it with their own clock.
 */
export class TokenBucket {
  #tokens: number;
  #updatedAt: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    this.#tokens = burst;
    this.#updatedAt = now;
  }

  /** Takes one token; returns 0 when it was there, else the milliseconds until one will be. */
  take(now: number): number {
    this.#refill(now);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.#tokens) / this.rate) * 1000);
  }

  /** Tokens available now, rounded down. */
  available(now: number): number {
    this.#refill(now);
    return Math.floor(this.#tokens);
  }

  /** True when the bucket is full again, so a keyed limiter may forget it. */
  isFull(now: number): boolean {
    this.#refill(now);
    return this.#tokens >= this.burst;
  }

  #refill(now: number) {
    const elapsed = Math.max(0, now - this.#updatedAt) / 1000;
    this.#tokens = Math.min(this.burst, this.#tokens + elapsed * this.rate);
    this.#updatedAt = now;
  }
}

/** One bucket per key (API key, recipient, token...), forgetting buckets that refilled. */
export class KeyedLimiter {
  readonly #buckets = new Map<string, TokenBucket>();
  #sweptAt = 0;

  constructor(
    readonly rate: number,
    readonly burst: number,
  ) {}

  take(key: string, now: number): { waitMs: number; remaining: number } {
    this.#sweep(now);
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.rate, this.burst, now);
      this.#buckets.set(key, bucket);
    }
    const waitMs = bucket.take(now);
    return { waitMs, remaining: bucket.available(now) };
  }

  #sweep(now: number) {
    if (now - this.#sweptAt < 60_000) return;
    this.#sweptAt = now;
    for (const [key, bucket] of this.#buckets) if (bucket.isFull(now)) this.#buckets.delete(key);
  }
}
