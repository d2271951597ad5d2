/** Reads of the pipeline's stores that the demo and the benchmark share. */
import type cassandraDriver from 'cassandra-driver';
import type pg from 'pg';
import { usersByKey } from '#lib/user-rows.ts';
import { localResources } from '#infra/stack/local-stage/resources.ts';

/**
 * When the sink wrote each of `keys` that Cassandra holds (its `sunk_at`, epoch ms), read by key as
 * the status function reads versions. A key missing from the result is not in Cassandra.
 */
export async function sunkAtOf(
  cassandra: cassandraDriver.Client,
  keys: readonly string[],
): Promise<Map<string, number>> {
  const rows = await usersByKey(cassandra, keys, ['sunk_at'], `${localResources.keyspace}.users`);
  return new Map([...rows].map(([key, row]) => [key, (row.get('sunk_at') as Date).getTime()]));
}

/**
 * How many of a batch's new users Spark's `users_per_minute` aggregate counts. The job windows a
 * created user by its `updated_at` as published, which for a user not updated before it was relayed
 * is the minute it was created (`created_at`, used here). Other users created in the same minutes are
 * counted there too, so PostgreSQL's count of them is taken off.
 */
export async function aggregatedUsersOfBatch(
  pool: pg.Pool,
  cassandra: cassandraDriver.Client,
  batchId: string,
): Promise<{ users: number }> {
  const { rows } = await pool.query<{ minute: Date; others: string }>(
    `WITH minutes AS (
       SELECT DISTINCT to_timestamp(floor(extract(epoch FROM created_at) / 60) * 60) AS minute
         FROM users WHERE batch_id = $1)
     SELECT m.minute, count(u.user_key) FILTER (WHERE u.batch_id <> $1) AS others
       FROM minutes m
       JOIN users u ON u.created_at >= m.minute AND u.created_at < m.minute + interval '1 minute'
      GROUP BY m.minute`,
    [batchId],
  );
  let users = 0;
  for (const { minute, others } of rows) {
    const result = await cassandra.execute(
      `SELECT sum(users) AS users FROM ${localResources.keyspace}.users_per_minute WHERE window_start = ?`,
      [minute],
      { prepare: true },
    );
    // sum() of a bigint column arrives as the driver's Long: its decimal text is exact.
    const aggregated = Number(String(result.first()['users'] ?? 0));
    users += Math.max(0, aggregated - Number(others));
  }
  return { users };
}
