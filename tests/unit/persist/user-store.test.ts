import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { TransientError } from '#lib/errors.ts';
import { writeUsers } from '#functions/persist/user-store.ts';

/** A pool whose one connection fails every statement, as a connection the server ended does. */
function deadConnectionPool() {
  const released: (Error | boolean | undefined)[] = [];
  const client = {
    query: () => Promise.reject(new Error('Client has encountered a connection error and is not queryable')),
    release: (error?: Error | boolean) => {
      released.push(error);
    },
  };
  const pool = { connect: () => Promise.resolve(client as unknown as pg.PoolClient) };
  return { pool, released };
}

describe('writing users on a connection the database ended', () => {
  it('answers a transient error and gives the connection back broken, so the pool drops it', async () => {
    const { pool, released } = deadConnectionPool();
    await expect(writeUsers(pool, [])).rejects.toBeInstanceOf(TransientError);
    expect(released).toHaveLength(1);
    expect(released[0]).toBeInstanceOf(Error);
  });
});
