import { describe, expect, it } from 'vitest';
import { TransientError } from '#lib/errors.ts';
import {
  CLAIM_LOCK_KEY,
  outboxStore,
  type OutboxClient,
  type OutboxPool,
} from '#functions/publish/outbox-store.ts';
import { userEvent } from '#tests/fixtures/kafka-events.ts';

/** A statement as the store sent it: its text, whitespace collapsed, and its values. */
interface Statement {
  readonly sql: string;
  readonly values?: unknown[];
}

/**
 * A pool whose connections record every statement and answer it with `answer` (rows, or an error to
 * throw), and which records how each connection was released.
 */
function recordingPool(answer: (sql: string) => Record<string, unknown>[] | Error = () => []) {
  const statements: Statement[] = [];
  const released: (Error | undefined)[] = [];
  const client: OutboxClient = {
    query: (text, values) => {
      const sql = text.replace(/\s+/g, ' ').trim();
      statements.push(values === undefined ? { sql } : { sql, values });
      const rows = answer(sql);
      return rows instanceof Error ? Promise.reject(rows) : Promise.resolve({ rows });
    },
    release: (error) => {
      released.push(error);
    },
  };
  const pool: OutboxPool = { connect: () => Promise.resolve(client) };
  return { pool, statements, released };
}

/** An outbox row as pg returns the claim: bigint id and epoch milliseconds as strings. */
const claimedRow = (id: string, userKey: string) => ({
  ...userEvent({ user_key: userKey }),
  id,
  updated_at: '1763800000000',
  date_of_birth: '320000000000',
  registered_at: '1262300000000',
});

describe('the outbox store', () => {
  it('claims with FOR UPDATE SKIP LOCKED in a transaction, maps the rows to events, and marks them before committing', async () => {
    const { pool, statements } = recordingPool((sql) =>
      sql.startsWith('SELECT o.id')
        ? [
            claimedRow('7', '00000000-0000-5000-8000-000000000007'),
            claimedRow('9', '00000000-0000-5000-8000-000000000009'),
          ]
        : [],
    );
    const connection = await outboxStore(pool).connect();

    const result = await connection.transaction(async (outbox) => {
      const claimed = await outbox.claim(10);
      await outbox.markPublished(claimed.map(({ id }) => id));
      return claimed;
    });

    expect(result).toEqual([
      {
        id: '7',
        event: {
          ...userEvent({ user_key: '00000000-0000-5000-8000-000000000007' }),
          updated_at: 1_763_800_000_000,
          date_of_birth: 320_000_000_000,
          registered_at: 1_262_300_000_000,
        },
      },
      {
        id: '9',
        event: {
          ...userEvent({ user_key: '00000000-0000-5000-8000-000000000009' }),
          updated_at: 1_763_800_000_000,
          date_of_birth: 320_000_000_000,
          registered_at: 1_262_300_000_000,
        },
      },
    ]);
    expect(statements.map((s) => s.sql.split(' ').slice(0, 2).join(' '))).toEqual([
      'BEGIN',
      'SELECT o.id,',
      'SELECT pg_advisory_xact_lock_shared($1,',
      'UPDATE outbox',
      'COMMIT',
    ]);
    const [, claim, announce, mark] = statements;
    // The claim says how many rows it holds, for other calls' backlog to tell them apart.
    expect(announce?.values).toEqual([CLAIM_LOCK_KEY, 2]);
    expect(claim?.sql).toMatch(
      /WHERE o\.published_at IS NULL ORDER BY o\.id LIMIT \$1 FOR UPDATE OF o SKIP LOCKED$/,
    );
    expect(claim?.values).toEqual([10]);
    expect(mark).toEqual({
      sql: 'UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])',
      values: [['7', '9']],
    });
  });

  it('rolls back and throws the same error when the work fails, committing nothing', async () => {
    const { pool, statements } = recordingPool();
    const connection = await outboxStore(pool).connect();
    const failure = new Error('Kafka did not acknowledge');

    await expect(
      connection.transaction(async (outbox) => {
        await outbox.claim(5);
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(statements.map((s) => s.sql.split(' ')[0])).toEqual(['BEGIN', 'SELECT', 'ROLLBACK']);
  });

  it('reports a failed statement as transient, still rolling back, and a failed rollback does not hide it', async () => {
    const { pool, statements } = recordingPool((sql) =>
      sql.startsWith('UPDATE') || sql === 'ROLLBACK' ? new Error('connection terminated') : [],
    );
    const connection = await outboxStore(pool).connect();

    const outcome = connection.transaction(async (outbox) => {
      await outbox.markPublished(['1']);
    });
    await expect(outcome).rejects.toBeInstanceOf(TransientError);
    await expect(outcome).rejects.toThrow('the outbox could not be read or marked');
    expect(statements.map((s) => s.sql.split(' ')[0])).toEqual(['BEGIN', 'UPDATE', 'ROLLBACK']);
  });

  it('reports a database it cannot connect to as transient', async () => {
    const store = outboxStore({ connect: () => Promise.reject(new Error('ECONNREFUSED')) });
    await expect(store.connect()).rejects.toThrow(new TransientError('the database is unavailable'));
    await expect(store.backlog()).rejects.toBeInstanceOf(TransientError);
  });

  it('counts the unpublished rows, those other claims hold apart, on a connection of its own, and gives it back', async () => {
    const { pool, statements, released } = recordingPool(() => [{ unpublished: 42, in_flight: 40 }]);
    expect(await outboxStore(pool).backlog()).toEqual({ remaining: 2, inFlight: 40 });
    expect(statements).toHaveLength(1);
    expect(statements[0]?.sql).toMatch(
      /^SELECT \(SELECT count\(\*\)::int FROM outbox WHERE published_at IS NULL\)/,
    );
    expect(statements[0]?.values).toEqual([CLAIM_LOCK_KEY]);
    expect(released).toEqual([undefined]);
  });

  it('gives the counting connection back broken when its statement fails', async () => {
    const lost = new Error('Connection terminated unexpectedly');
    const { pool, released } = recordingPool(() => lost);
    await expect(outboxStore(pool).backlog()).rejects.toBeInstanceOf(TransientError);
    expect(released).toHaveLength(1);
    expect(released[0]).toBeInstanceOf(TransientError);
  });

  it('gives a connection back with the error that broke it, so the pool drops it', async () => {
    const { pool, released } = recordingPool();
    const connection = await outboxStore(pool).connect();
    const broken = new Error('broken');
    connection.release(broken);
    expect(released).toEqual([broken]);
  });
});
