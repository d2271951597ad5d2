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
});
