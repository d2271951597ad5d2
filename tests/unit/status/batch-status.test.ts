import { describe, expect, it } from 'vitest';
import { NotFoundError } from '#lib/errors.ts';
import { batchStatus, StatusRequest } from '#functions/status/batch-status.ts';
import type { BatchUser } from '#lib/snapshot/batches.ts';

const user = (n: number, version: number, published: boolean): BatchUser => ({
  userKey: `00000000-0000-5000-8000-${String(n).padStart(12, '0')}`,
  version,
  published,
});

/** A batch of four users in PostgreSQL and what Cassandra holds of them. */
function depsOf(users: BatchUser[], cassandra: Record<string, number>) {
  const asked: string[][] = [];
  return {
    asked,
    deps: {
      usersOfBatch: (batchId: string) => Promise.resolve(batchId === 'b1' ? users : []),
      versionsInCassandra: (keys: readonly string[]) => {
        asked.push([...keys]);
        return Promise.resolve(new Map(Object.entries(cassandra).filter(([key]) => keys.includes(key))));
      },
    },
  };
}

describe('batchStatus', () => {
  it('counts users in PostgreSQL, published, and in Cassandra at their version or newer', async () => {
    const [first, second, third, fourth] = [
      user(1, 1, true),
      user(2, 2, true),
      user(3, 1, true),
      user(4, 1, false),
    ];
    const users = [first, second, third, fourth];
    const { deps, asked } = depsOf(users, {
      [first.userKey]: 1,
      [second.userKey]: 1,
      [third.userKey]: 3,
    });
    await expect(batchStatus({ batchId: 'b1' }, deps)).resolves.toEqual({
      batchId: 'b1',
      users: 4,
      published: 3,
      // user 2 is at version 1 in Cassandra but 2 in PostgreSQL: not landed yet; user 3 is newer: landed.
      inCassandra: 2,
      complete: false,
    });
    expect(asked).toEqual([users.map((u) => u.userKey)]);
  });

  it('is complete once every user is in Cassandra', async () => {
    const users = [user(1, 1, true), user(2, 1, true)];
    const { deps } = depsOf(users, Object.fromEntries(users.map((u) => [u.userKey, 1])));
    await expect(batchStatus({ batchId: 'b1' }, deps)).resolves.toMatchObject({
      inCassandra: 2,
      complete: true,
    });
  });

  it('answers not found, saying what to do, for a batch with no user in PostgreSQL', async () => {
    const { deps } = depsOf([], {});
    const status = batchStatus({ batchId: 'unknown' }, deps);
    await expect(status).rejects.toBeInstanceOf(NotFoundError);
    await expect(status).rejects.toThrow('no user of batch unknown is in PostgreSQL: persist the batch');
  });

  it('accepts only a batch id shaped like the ones fetch answers', () => {
    expect(StatusRequest.safeParse({ batchId: 'a1b2_c-3' }).success).toBe(true);
    expect(StatusRequest.safeParse({ batchId: "x' OR 1=1" }).success).toBe(false);
    expect(StatusRequest.safeParse({ batchId: 'b1', extra: 1 }).success).toBe(false);
    expect(StatusRequest.safeParse({}).success).toBe(false);
  });
});
