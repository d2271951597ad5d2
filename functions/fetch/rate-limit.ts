import { setTimeout as sleepFor } from 'node:timers/promises';

/**
 * A token bucket over users: `capacity` users per `windowMs`, refilled continuously. It exists
 * because randomuser.me publishes a per-IP limit (20,000 users per 5 minutes) and no maintained
 * library offers an awaitable bucket weighted by request size. One bucket lives per container: on
 * AWS, where every container leaves through the same NAT address, serverless.yml keeps fetch to one
 * container at a time (its reserved concurrency), so that this bucket is the address's too.
 */
export class UserRateLimiter {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly capacity: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void> = (ms, signal) =>
      sleepFor(ms, undefined, signal === undefined ? {} : { signal }),
  ) {
    this.tokens = capacity;
    this.last = now();
  }

  /**
   * Waits until `users` may be requested, then takes them. Callers are served in order. When `signal`
   * aborts first (the invocation's deadline), it rejects with the signal's reason, having taken
   * nothing, and the callers behind it are served as if it had never asked.
   */
  acquire(users: number, signal?: AbortSignal): Promise<void> {
    const need = Math.min(users, this.capacity);
    const turn = this.queue.then(async () => {
      for (;;) {
        signal?.throwIfAborted();
        const now = this.now();
        this.tokens = Math.min(
          this.capacity,
          this.tokens + ((now - this.last) * this.capacity) / this.windowMs,
        );
        this.last = now;
        if (this.tokens >= need) {
          this.tokens -= need;
          return;
        }
        await this.sleep(Math.ceil(((need - this.tokens) * this.windowMs) / this.capacity), signal);
      }
    });
    // The next caller waits for this one's turn to end, however it ends.
    this.queue = turn.catch(() => undefined);
    return turn;
  }
}
