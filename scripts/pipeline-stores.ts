/** Reads of the pipeline's stores that the demo and the benchmark share. */
import type cassandraDriver from 'cassandra-driver';
import type pg from 'pg';
import { localResources } from '../infra/local/resources.js';

/** The user keys PostgreSQL holds for the given source seeds. */
export async function userKeysOfSeeds(pool: pg.Pool, seeds: readonly string[]): Promise<string[]> {
  const { rows } = await pool.query<{ user_key: string }>(
    'SELECT user_key::text FROM users WHERE source_seed = ANY($1)',
    [seeds],
  );
  return rows.map((row) => row.user_key);
}

/**
 * When the sink wrote each of `keys` that Cassandra holds (its `sunk_at`, epoch ms): read in chunks
 * of 100 keys, 8 queries in flight. A key missing from the result is not in Cassandra.
 */
export async function sunkAtOf(
  cassandra: cassandraDriver.Client,
  keys: readonly string[],
): Promise<Map<string, number>> {
  const sunk = new Map<string, number>();
  const chunks: string[][] = [];
  for (let i = 0; i < keys.length; i += 100) chunks.push(keys.slice(i, i + 100));
  let next = 0;
  const query = `SELECT user_key, sunk_at FROM ${localResources.keyspace}.users WHERE user_key IN ?`;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let chunk = chunks[next++]; chunk !== undefined; chunk = chunks[next++]) {
        const result = await cassandra.execute(query, [chunk], { prepare: true });
        for (const row of result.rows) {
          sunk.set(String(row['user_key']), (row['sunk_at'] as Date).getTime());
        }
      }
    }),
  );
  return sunk;
}
