import type cassandraDriver from 'cassandra-driver';
import type pg from 'pg';
import type { Freshness } from '#functions/console/api.ts';
import { usersByKey } from '#lib/user-rows.ts';
import { freshnessOf } from './stats.ts';

/** Users sampled over the batches: enough for a p99, few enough for ten key queries. */
export const FRESHNESS_SAMPLE = 1000;
/** Batches whose final delays a reader remembers. */
const REMEMBERED_BATCHES = 20;

/**
 * When PostgreSQL committed each user: the commit timestamp where the server tracks it
 * (track_commit_timestamp, on in the local stack), else `updated_at`, the transaction's start, which
 * makes a long transaction look slower than it is.
 */
async function commitTimes(
  db: Pick<pg.Pool, 'query'>,
  batchIds: readonly string[],
  sample: number,
): Promise<Map<string, number>> {
  const tracked = await db.query<{ on: boolean }>(
    `SELECT current_setting('track_commit_timestamp') = 'on' AS on`,
  );
  const at = tracked.rows[0]?.on === true ? 'pg_xact_commit_timestamp(xmin)' : 'updated_at';
  const { rows } = await db.query<{ user_key: string; committed: string | null }>(
    `SELECT user_key::text, extract(epoch FROM ${at}) * 1000 AS committed
       FROM users WHERE batch_id = ANY($1) LIMIT $2`,
    [batchIds, sample],
  );
  // A row committed before the server tracked commit times has none: left out.
  return new Map(
    rows.flatMap((r) => (r.committed === null ? [] : [[r.user_key, Number(r.committed)] as const])),
  );
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
 * PostgreSQL commit → Cassandra write for up to 1,000 users of the given (recent) batches, shared
 * among them; users not in Cassandra yet are left out (the reconciliation counts them). A batch whose
 * sampled users have all landed has its delays remembered: they are final, and a poll reads it no
 * more. Keep one per process.
 */
export function freshnessReader(
  db: () => Promise<Pick<pg.Pool, 'query'>>,
  cassandra: () => Promise<Pick<cassandraDriver.Client, 'execute'>>,
  usersTable: string,
) {
  const final = new Map<string, number[]>();
  const delaysOf = async (batchId: string, sample: number): Promise<number[]> => {
    const known = final.get(batchId);
    if (known !== undefined) return known;
    const committed = await commitTimes(await db(), [batchId], sample);
    const sunk = await sunkAtOf(await cassandra(), [...committed.keys()], usersTable);
    const delays = [...committed].flatMap(([key, at]) => {
      const written = sunk.get(key);
      return written === undefined || written < at ? [] : [written - at];
    });
    if (committed.size > 0 && delays.length === committed.size) {
      final.set(batchId, delays);
      if (final.size > REMEMBERED_BATCHES) final.delete(final.keys().next().value ?? '');
    }
    return delays;
  };
  return async (batchIds: readonly string[]): Promise<Freshness> => {
    const sample = Math.ceil(FRESHNESS_SAMPLE / Math.max(1, batchIds.length));
    const delays = await Promise.all(batchIds.map((id) => delaysOf(id, sample)));
    return freshnessOf(delays.flat());
  };
}
