import type cassandraDriver from 'cassandra-driver';
import pLimit from 'p-limit';

/* Reads of Cassandra's users table by key: the status function, the sink (on Keyspaces) and the tools share them. */

/** Keys per query: one partition each, so a bigger IN only moves the fan-out into the coordinator. */
const KEYS_PER_QUERY = 100;
const QUERIES_IN_FLIGHT = 16;

/**
 * The `columns` of each of `userKeys` that Cassandra's users table holds, by key, read by key (never
 * a scan): IN queries of 100 keys, 16 in flight. A key missing from the result is not in Cassandra.
 * `table` is the users table's name as the session sees it (qualified when it has no keyspace set).
 */
export async function usersByKey(
  client: Pick<cassandraDriver.Client, 'execute'>,
  userKeys: readonly string[],
  columns: readonly string[],
  table = 'users',
): Promise<Map<string, cassandraDriver.types.Row>> {
  const limit = pLimit(QUERIES_IN_FLIGHT);
  const chunks: string[][] = [];
  for (let i = 0; i < userKeys.length; i += KEYS_PER_QUERY)
    chunks.push(userKeys.slice(i, i + KEYS_PER_QUERY));
  const query = `SELECT user_key, ${columns.join(', ')} FROM ${table} WHERE user_key IN ?`;
  const rows = new Map<string, cassandraDriver.types.Row>();
  await Promise.all(
    chunks.map((keys) =>
      limit(async () => {
        const result = await client.execute(query, [keys], { prepare: true });
        for (const row of result.rows) rows.set(String(row.get('user_key')), row);
      }),
    ),
  );
  return rows;
}

/** The version Cassandra holds for each of `userKeys` that it has (`table` as in usersByKey). */
export async function versionsInCassandra(
  client: Pick<cassandraDriver.Client, 'execute'>,
  userKeys: readonly string[],
  table = 'users',
): Promise<Map<string, number>> {
  const rows = await usersByKey(client, userKeys, ['version'], table);
  return new Map([...rows].map(([key, row]) => [key, Number(row.get('version'))]));
}
