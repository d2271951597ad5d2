import type cassandraDriver from 'cassandra-driver';
import type pg from 'pg';
import type { Aggregates } from '#functions/console/api.ts';

type Cql = Pick<cassandraDriver.Client, 'execute'>;

/** sum() of a bigint column arrives as the driver's Long: its decimal text is exact. */
const longValue = (value: unknown): number =>
  value === null || value === undefined ? 0 : Number((value as { toString(): string }).toString());

/** Spark's users per minute for `minute`, over every country and gender: one partition read. */
async function usersInMinute(cassandra: Cql, keyspace: string, minute: Date): Promise<number> {
  const result = await cassandra.execute(
    `SELECT sum(users) AS users FROM ${keyspace}.users_per_minute WHERE window_start = ?`,
    [minute],
    { prepare: true },
  );
  return longValue(result.first()['users']);
}

/**
 * How many of a batch's new users Spark's `users_per_minute` aggregate counts. The job windows a
 * created user by its `updated_at` as published, which for a user not updated before it was relayed
 * is the minute it was created (`created_at`, used here). Other users created in the same minutes are
 * counted there too, so PostgreSQL's count of them is taken off. Bounded: the batch's rows (by its
 * index) and the users created in its minutes (by the created_at index).
 */
export async function aggregatedUsersOfBatch(
  pool: Pick<pg.Pool, 'query'>,
  cassandra: Cql,
  keyspace: string,
  batchId: string,
): Promise<number> {
  const { rows } = await pool.query<{ minute: Date; others: string }>(
    `WITH minutes AS (
       SELECT DISTINCT date_trunc('minute', created_at) AS minute FROM users WHERE batch_id = $1)
     SELECT m.minute, count(u.user_key) FILTER (WHERE u.batch_id <> $1) AS others
       FROM minutes m
       JOIN users u ON u.created_at >= m.minute AND u.created_at < m.minute + interval '1 minute'
      GROUP BY m.minute`,
    [batchId],
  );
  let users = 0;
  for (const { minute, others } of rows) {
    users += Math.max(0, (await usersInMinute(cassandra, keyspace, minute)) - Number(others));
  }
  return users;
}

/** Minutes of aggregates the console sums. */
export const RECENT_MINUTES = 15;

/** Spark's users_per_minute over the last minutes: one partition read per minute. */
export async function readAggregates(cassandra: Cql, keyspace: string, now: Date): Promise<Aggregates> {
  const last = Math.floor(now.getTime() / 60_000) * 60_000;
  const minutes = Array.from({ length: RECENT_MINUTES }, (_, i) => new Date(last - i * 60_000));
  const results = await Promise.all(
    minutes.map((minute) =>
      cassandra.execute(
        `SELECT users, computed_at FROM ${keyspace}.users_per_minute WHERE window_start = ?`,
        [minute],
        { prepare: true },
      ),
    ),
  );
  let rows = 0;
  let users = 0;
  let lastComputedAt: Date | undefined;
  for (const row of results.flatMap((r) => r.rows)) {
    rows += 1;
    users += longValue(row.get('users'));
    const at = row.get('computed_at') as Date | null;
    if (at !== null && (lastComputedAt === undefined || at > lastComputedAt)) lastComputedAt = at;
  }
  return { rows, users, lastComputedAt: lastComputedAt?.toISOString() ?? null };
}
