/**
 * A token bucket over users: `capacity` users per `windowMs`, refilled continuously. It exists
 * because randomuser.me publishes a per-IP limit (20,000 users per 5 minutes) and no maintained
 * library offers an awaitable bucket weighted by request size. One bucket lives per container.
 */
export class UserRateLimiter {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly capacity: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.tokens = capacity;
    this.last = now();
  }

  /** Waits until `users` may be requested, then takes them. Callers are served in order. */
  acquire(users: number): Promise<void> {
    const need = Math.min(users, this.capacity);
    const turn = this.queue.then(async () => {
      for (;;) {
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
        await this.sleep(Math.ceil(((need - this.tokens) * this.windowMs) / this.capacity));
      }
    });
    this.queue = turn;
    return turn;
  }
}
