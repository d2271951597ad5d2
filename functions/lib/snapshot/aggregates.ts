import type cassandraDriver from 'cassandra-driver';
import type pg from 'pg';
import type { Aggregates } from '#functions/console/api.ts';

type Cql = Pick<cassandraDriver.Client, 'execute'>;

/** A bigint column arrives as the driver's Long: its decimal text is exact. */
const longValue = (value: unknown): number =>
  value === null || value === undefined ? 0 : Number((value as { toString(): string }).toString());

/**
 * Spark's users per minute for `minute`, over every country and gender: one partition read, summed
 * here (Amazon Keyspaces has no sum()).
 */
async function usersInMinute(cassandra: Cql, keyspace: string, minute: Date): Promise<number> {
  const result = await cassandra.execute(
    `SELECT users FROM ${keyspace}.users_per_minute WHERE window_start = ?`,
    [minute],
    { prepare: true },
  );
  return result.rows.reduce((sum, row) => sum + longValue(row.get('users')), 0);
}

/**
 * A minute this far past its end holds every user it ever will: a persist transaction (which stamps
 * created_at when it starts) lasts at most its function's 25 s.
 */
export const SETTLED_MS = 30_000;

/**
 * How many of a batch's new users Spark's `users_per_minute` aggregate counts. The job windows a
 * created user by its `updated_at` as published, which for a user not updated before it was relayed
 * is the minute it was created (`created_at`, used here). Other users created in the same minutes are
 * counted there too, so PostgreSQL's count of them is taken off. A minute's PostgreSQL total is a
 * range count on the created_at index, taken once the minute has settled and then remembered. A
 * minute still open (at 5,000 users/s, 300,000 rows to count at every poll) makes the answer null,
 * "not yet", unless `countOpenMinutes` (the demo, which follows one batch). Keep one per process.
 */
export function batchAggregates(
  db: () => Promise<Pick<pg.Pool, 'query'>>,
  cassandra: () => Promise<Cql>,
  keyspace: string,
  options: { readonly countOpenMinutes?: boolean; readonly now?: () => number } = {},
) {
  const now = options.now ?? Date.now;
  const settledTotals = new Map<number, number>();
  const settled = (minute: Date): boolean => minute.getTime() + 60_000 + SETTLED_MS < now();
  const minuteTotal = async (minute: Date): Promise<number> => {
    const known = settledTotals.get(minute.getTime());
    if (known !== undefined) return known;
    const { rows } = await (
      await db()
    ).query<{ n: string }>(
      `SELECT count(*) AS n FROM users WHERE created_at >= $1 AND created_at < $1 + interval '1 minute'`,
      [minute],
    );
    const total = Number(rows[0]?.n ?? 0);
    if (settled(minute)) settledTotals.set(minute.getTime(), total);
    return total;
  };
  // A batch's own users per minute, by the batch's fingerprint (batchFingerprint): they change only
  // with the batch.
  const minutesOfBatch = new Map<string, { minute: Date; own: string }[]>();
  return async (batchId: string, fingerprint = ''): Promise<number | null> => {
    const cacheKey = `${batchId}/${fingerprint}`;
    let rows = fingerprint === '' ? undefined : minutesOfBatch.get(cacheKey);
    if (rows === undefined) {
      rows = (
        await (
          await db()
        ).query<{ minute: Date; own: string }>(
          `SELECT date_trunc('minute', created_at) AS minute, count(*) AS own
             FROM users WHERE batch_id = $1 GROUP BY 1`,
          [batchId],
        )
      ).rows;
      if (fingerprint !== '') minutesOfBatch.set(cacheKey, rows);
      if (minutesOfBatch.size > 50) minutesOfBatch.delete(minutesOfBatch.keys().next().value ?? '');
    }
    if (options.countOpenMinutes !== true && !rows.every((r) => settled(r.minute))) return null;
    let users = 0;
    for (const { minute, own } of rows) {
      const [aggregated, total] = await Promise.all([
        usersInMinute(await cassandra(), keyspace, minute),
        minuteTotal(minute),
      ]);
      users += Math.max(0, aggregated - (total - Number(own)));
    }
    return users;
  };
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
