import type cassandraDriver from 'cassandra-driver';
import pLimit from 'p-limit';
import type pg from 'pg';
import type { BatchUser } from './batch-status.js';

/**
 * The batch's users with their version, and whether an outbox row of theirs still waits (the partial
 * index on unpublished rows keeps the anti-join small).
 */
export async function usersOfBatch(db: Pick<pg.Pool, 'query'>, batchId: string): Promise<BatchUser[]> {
  const result = await db.query<{ user_key: string; version: number; published: boolean }>(
    `SELECT u.user_key, u.version,
            NOT EXISTS (SELECT 1 FROM outbox o WHERE o.user_key = u.user_key AND o.published_at IS NULL)
              AS published
       FROM users u
      WHERE u.batch_id = $1`,
    [batchId],
  );
  return result.rows.map((r) => ({ userKey: r.user_key, version: r.version, published: r.published }));
}

/** Keys per query: one partition each, so a bigger IN only moves the fan-out into the coordinator. */
const KEYS_PER_QUERY = 100;
const QUERIES_IN_FLIGHT = 16;

/** The version Cassandra holds for each of `userKeys` that it has. */
export async function versionsInCassandra(
  client: Pick<cassandraDriver.Client, 'execute'>,
  userKeys: readonly string[],
): Promise<Map<string, number>> {
  const limit = pLimit(QUERIES_IN_FLIGHT);
  const chunks: string[][] = [];
  for (let i = 0; i < userKeys.length; i += KEYS_PER_QUERY)
    chunks.push(userKeys.slice(i, i + KEYS_PER_QUERY));
  const versions = new Map<string, number>();
  await Promise.all(
    chunks.map((keys) =>
      limit(async () => {
        const result = await client.execute(
          'SELECT user_key, version FROM users WHERE user_key IN ?',
          [keys],
          {
            prepare: true,
          },
        );
        for (const row of result.rows) {
          versions.set(String(row.get('user_key')), Number(row.get('version')));
        }
      }),
    ),
  );
  return versions;
}
