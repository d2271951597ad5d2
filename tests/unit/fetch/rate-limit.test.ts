import { describe, expect, it } from 'vitest';
import { UserRateLimiter } from '#functions/fetch/rate-limit.ts';

describe('UserRateLimiter', () => {
  it('lets the capacity through at once, then makes later requests wait for the refill', async () => {
    let now = 0;
    const slept: number[] = [];
    const limiter = new UserRateLimiter(
      20_000,
      300_000,
      () => now,
      (ms) => {
        slept.push(ms);
        now += ms;
        return Promise.resolve();
      },
    );
    await limiter.acquire(5000);
    await limiter.acquire(5000);
    await limiter.acquire(5000);
    await limiter.acquire(5000);
    expect(slept).toEqual([]);
    await limiter.acquire(5000);
    // 5000 users at 20,000 per 300 s take 75 s to come back.
    expect(slept).toEqual([75_000]);
    expect(now).toBe(75_000);
  });

  it('stops waiting when the signal aborts, takes nothing, and still serves the callers after it', async () => {
    let now = 0;
    let asleep: () => void = () => undefined;
    const sleeping = new Promise<void>((resolve) => (asleep = resolve));
    const limiter = new UserRateLimiter(
      20_000,
      300_000,
      () => now,
      // A wait with a signal lasts until the signal aborts it; time passes only in the others.
      (ms, signal) =>
        new Promise<void>((resolve, reject) => {
          if (signal === undefined) {
            now += ms;
            resolve();
          } else {
            asleep();
            signal.addEventListener('abort', () => {
              reject(signal.reason as Error);
            });
          }
        }),
    );
    await limiter.acquire(20_000);
    const deadline = new AbortController();
    const waiting = limiter.acquire(5000, deadline.signal);
    await sleeping;
    deadline.abort(new Error('out of time'));
    await expect(waiting).rejects.toThrow('out of time');
    // The aborted caller took no token: the next one waits for 5000 users' refill, not 10,000.
    await limiter.acquire(5000);
    expect(now).toBe(75_000);
  });

  it('refuses at once when the signal is already aborted', async () => {
    const limiter = new UserRateLimiter(20_000, 300_000);
    await expect(limiter.acquire(1, AbortSignal.abort(new Error('too late')))).rejects.toThrow('too late');
  });
});
