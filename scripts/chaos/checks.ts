/**
 * The chaos run's end checks, each a comparison with PostgreSQL (the source of truth):
 * - Cassandra holds every user of the run's seeds with the same content;
 * - how many users' events Kafka carries more than once (at-least-once publish after a crash);
 * - Spark's per-minute aggregates equal PostgreSQL's GROUP BY over the same minutes;
 * - the dead-letter queue holds exactly the planted poison.
 * Each finding keeps a time, so the report can charge it to the fault in whose window it happened.
 */
import type cassandraDriver from 'cassandra-driver';
import type { Kafka } from 'kafkajs';
import type pg from 'pg';
import { readTopicRange } from '../topic-reader.ts';
import { cassandraUsers, postgresUsers } from '../user-checksums.ts';

/** A finding with the moment it belongs to (a commit, a record's timestamp, a minute). */
export interface Timed {
  readonly atMs: number;
}

export interface StoreComparison {
  readonly seed: string;
  readonly postgres: number;
  readonly cassandra: number;
  /** In PostgreSQL, not in Cassandra: when each was committed. */
  readonly lost: Timed[];
  /** In both, with other content in Cassandra. */
  readonly differing: Timed[];
}

/** PostgreSQL's users of `seed` against Cassandra's rows of the same keys. */
export async function compareStores(
  db: Pick<pg.Pool, 'query'>,
  cassandra: cassandraDriver.Client,
  keyspace: string,
  seed: string,
): Promise<StoreComparison & { keys: string[] }> {
  const source = await postgresUsers(db, seed);
  const keys = [...source.keys()];
  const sunk = await cassandraUsers(cassandra, keyspace, keys);
  const lost: Timed[] = [];
  const differing: Timed[] = [];
  for (const [key, { line, createdAtMs }] of source) {
    const there = sunk.get(key);
    if (there === undefined) lost.push({ atMs: createdAtMs });
    else if (there !== line) differing.push({ atMs: createdAtMs });
  }
  return { seed, postgres: source.size, cassandra: sunk.size, lost, differing, keys };
}

/**
 * Reads `topic` between two sets of offsets (from inclusive, to exclusive) and counts the records of
 * each of `keys`: a user with more than one was sent again. Records at `skip` (partition:offset) are
 * left out (the planted poison reuses real keys).
 */
export async function redeliveries(
  kafka: Kafka,
  topic: string,
  from: ReadonlyMap<number, string>,
  to: ReadonlyMap<number, string>,
  keys: ReadonlySet<string>,
  skip: ReadonlySet<string>,
): Promise<{ records: number; resent: Timed[] }> {
  const seen = new Map<string, number>();
  const resent: Timed[] = [];
  let records = 0;
  const complete = await readTopicRange(
    kafka,
    topic,
    from,
    to,
    (message, partition) => {
      records += 1;
      const key = message.key?.toString('utf8') ?? '';
      if (!keys.has(key) || skip.has(`${partition}:${message.offset}`)) return;
      const count = (seen.get(key) ?? 0) + 1;
      seen.set(key, count);
      if (count === 2) resent.push({ atMs: Number(message.timestamp) });
    },
    600_000,
  );
  if (!complete) throw new Error(`reading ${topic} back did not finish within 10 min`);
  return { records, resent };
}

export interface AggregateCell {
  readonly minuteMs: number;
  readonly country: string;
  readonly gender: string;
  readonly postgres: number;
  readonly spark: number;
}

/**
 * Spark's `users_per_minute` against PostgreSQL's count of users created in each minute of
 * [fromMs, toMs), by country and gender (Spark windows a created user by its event time, the
 * minute it was committed). Returns the cells that differ, and how many cells were compared.
 */
export async function compareAggregates(
  db: Pick<pg.Pool, 'query'>,
  cassandra: cassandraDriver.Client,
  keyspace: string,
  fromMs: number,
  toMs: number,
): Promise<{ cells: number; off: AggregateCell[] }> {
  const start = Math.floor(fromMs / 60_000) * 60_000;
  const end = Math.ceil(toMs / 60_000) * 60_000;
  const { rows } = await db.query<{ minute: Date; country: string; gender: string; n: string }>(
    `SELECT date_trunc('minute', created_at) AS minute, country, gender, count(*) AS n
       FROM users WHERE created_at >= $1 AND created_at < $2 GROUP BY 1, 2, 3`,
    [new Date(start), new Date(end)],
  );
  const cells = new Map<
    string,
    { minuteMs: number; country: string; gender: string; postgres: number; spark: number }
  >();
  const cell = (minuteMs: number, country: string, gender: string) => {
    const id = `${minuteMs}|${country}|${gender}`;
    let found = cells.get(id);
    if (found === undefined) {
      found = { minuteMs, country, gender, postgres: 0, spark: 0 };
      cells.set(id, found);
    }
    return found;
  };
  for (const row of rows) cell(row.minute.getTime(), row.country, row.gender).postgres = Number(row.n);
  for (let minute = start; minute < end; minute += 60_000) {
    const result = await cassandra.execute(
      `SELECT country, gender, users FROM ${keyspace}.users_per_minute WHERE window_start = ?`,
      [new Date(minute)],
      { prepare: true },
    );
    for (const row of result.rows) {
      cell(minute, String(row.get('country')), String(row.get('gender'))).spark = Number(
        String(row.get('users')),
      );
    }
  }
  const all = [...cells.values()];
  return { cells: all.length, off: all.filter((c) => c.postgres !== c.spark) };
}

/** A dead letter as the comparison needs it. */
export interface LetterSeen {
  readonly partition: number;
  readonly offset: number;
  readonly reason: string;
}

/**
 * The letters the run added against the poison it planted (`partition:offset` → the reason it must
 * carry): each planted one found once with its reason, none missing, none else.
 */
export function compareDeadLetters(
  planted: ReadonlyMap<string, string>,
  letters: readonly LetterSeen[],
): { found: number; missing: string[]; wrongReason: string[]; unexpected: LetterSeen[]; duplicates: number } {
  const counts = new Map<string, number>();
  const wrongReason: string[] = [];
  const unexpected: LetterSeen[] = [];
  for (const letter of letters) {
    const at = `${letter.partition}:${letter.offset}`;
    const reason = planted.get(at);
    if (reason === undefined) {
      unexpected.push(letter);
      continue;
    }
    counts.set(at, (counts.get(at) ?? 0) + 1);
    if (!letter.reason.includes(reason)) wrongReason.push(`${at}: ${letter.reason}`);
  }
  return {
    found: counts.size,
    missing: [...planted.keys()].filter((at) => !counts.has(at)),
    wrongReason,
    unexpected,
    duplicates: [...counts.values()].reduce((sum, n) => sum + n - 1, 0),
  };
}
