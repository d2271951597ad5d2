/**
 * A user's content in one canonical line, whichever store it came from, so that PostgreSQL and
 * Cassandra can be compared user by user and by checksum (the end-to-end tests, the chaos run).
 */
import { createHash } from 'node:crypto';
import cassandraDriver from 'cassandra-driver';
import type pg from 'pg';
import { userContentFields } from '#lib/user-event.ts';

function canonical(row: Record<string, unknown>): string {
  return userContentFields
    .map((field) => {
      const value = row[field];
      if (value === null || value === undefined) return '∅';
      if (value instanceof Date) return value.toISOString();
      if (value instanceof cassandraDriver.types.Uuid) return value.toString();
      if (field === 'latitude' || field === 'longitude') return Number(value).toFixed(4);
      if (typeof value === 'string' || typeof value === 'number') return String(value);
      throw new Error(`unexpected ${field} value in a user row`);
    })
    .join('\u001f');
}

/** The count and a sha256 over the canonical lines, sorted. */
function checksum(lines: Iterable<string>): { count: number; checksum: string } {
  const sorted = [...lines].sort();
  return { count: sorted.length, checksum: createHash('sha256').update(sorted.join('\n')).digest('hex') };
}

/** A seed's users in PostgreSQL: canonical line and commit time (created_at, ms) by user key. */
export async function postgresUsers(
  db: Pick<pg.Pool, 'query'> | pg.Client,
  seed: string,
): Promise<Map<string, { line: string; createdAtMs: number }>> {
  const { rows } = await db.query<Record<string, unknown>>(
    `SELECT ${userContentFields.join(', ')}, created_at FROM users WHERE source_seed = $1`,
    [seed],
  );
  return new Map(
    rows.map((row) => [
      String(row['user_key']),
      { line: canonical(row), createdAtMs: (row['created_at'] as Date).getTime() },
    ]),
  );
}

/** The given users in Cassandra: canonical line by user key (a key it lacks is absent). */
export async function cassandraUsers(
  client: cassandraDriver.Client,
  keyspace: string,
  keys: readonly string[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const query = `SELECT ${userContentFields.join(', ')} FROM ${keyspace}.users WHERE user_key IN ?`;
  for (let start = 0; start < keys.length; start += 100) {
    const result = await client.execute(query, [keys.slice(start, start + 100)], { prepare: true });
    for (const row of result.rows) {
      const fields = Object.fromEntries(userContentFields.map((f) => [f, (row[f] as unknown) ?? null]));
      found.set(String(row['user_key'] as cassandraDriver.types.Uuid), canonical(fields));
    }
  }
  return found;
}

/** The users of `seed` in PostgreSQL: count and checksum of their content, and their keys. */
export async function postgresChecksum(
  db: Pick<pg.Pool, 'query'> | pg.Client,
  seed: string,
): Promise<{ count: number; checksum: string; keys: string[] }> {
  const users = await postgresUsers(db, seed);
  return { ...checksum([...users.values()].map((u) => u.line)), keys: [...users.keys()] };
}

/** The users of the given keys in Cassandra: count and checksum of their content. */
export async function cassandraChecksum(
  client: cassandraDriver.Client,
  keyspace: string,
  keys: readonly string[],
): Promise<{ count: number; checksum: string }> {
  return checksum((await cassandraUsers(client, keyspace, keys)).values());
}
