import type cassandraDriver from 'cassandra-driver';
import type pg from 'pg';
import type { Freshness } from '#functions/console/api.ts';
import { usersByKey } from '#lib/user-rows.ts';
import { freshnessOf } from './stats.ts';

/** Users sampled per batch: enough for a p99, few enough for ten key queries. */
export const FRESHNESS_SAMPLE = 1000;

/**
 * When PostgreSQL committed each user: the commit timestamp where the server tracks it
 * (track_commit_timestamp, on in the local stack), else `updated_at`, the transaction's start, which
 * makes a long transaction look slower than it is.
 */
async function commitTimes(
  db: Pick<pg.Pool, 'query'>,
  batchIds: readonly string[],
): Promise<Map<string, number>> {
  const tracked = await db.query<{ on: boolean }>(
    `SELECT current_setting('track_commit_timestamp') = 'on' AS on`,
  );
  const at = tracked.rows[0]?.on === true ? 'pg_xact_commit_timestamp(xmin)' : 'updated_at';
  const { rows } = await db.query<{ user_key: string; committed: string }>(
    `SELECT user_key::text, extract(epoch FROM ${at}) * 1000 AS committed
       FROM users WHERE batch_id = ANY($1) LIMIT $2`,
    [batchIds, FRESHNESS_SAMPLE],
  );
  return new Map(rows.map((r) => [r.user_key, Number(r.committed)]));
}

/** When the sink wrote each of `keys` that Cassandra holds (`sunk_at`, epoch ms), read by key. */
export async function sunkAtOf(
  cassandra: Pick<cassandraDriver.Client, 'execute'>,
  keys: readonly string[],
  table: string,
): Promise<Map<string, number>> {
  const rows = await usersByKey(cassandra, keys, ['sunk_at'], table);
  return new Map(
    [...rows].flatMap(([key, row]) => {
      const at = row.get('sunk_at') as Date | null;
      return at === null ? [] : [[key, at.getTime()] as const];
    }),
  );
}

/**
 * PostgreSQL commit → Cassandra write for up to 1,000 users of the given (recent) batches; users not
 * in Cassandra yet are left out (the reconciliation counts them).
 */
export async function readFreshness(
  db: Pick<pg.Pool, 'query'>,
  cassandra: Pick<cassandraDriver.Client, 'execute'>,
  usersTable: string,
  batchIds: readonly string[],
): Promise<Freshness> {
  if (batchIds.length === 0) return freshnessOf([]);
  const committed = await commitTimes(db, batchIds);
  const sunk = await sunkAtOf(cassandra, [...committed.keys()], usersTable);
  return freshnessOf(
    [...committed].flatMap(([key, at]) => {
      const written = sunk.get(key);
      return written === undefined ? [] : [Math.max(0, written - at)];
    }),
  );
}
