import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { connectOrUnavailable } from '#lib/db.ts';
import { TransientError, UnprocessableError } from '#lib/errors.ts';
import { USER_COLUMNS, type UserRow } from './normalize.ts';

/** What one persist call did to the users table and the outbox. */
export interface PersistCounts {
  readonly inserted: number;
  readonly updated: number;
  readonly unchanged: number;
  /** Outbox rows written: one per inserted or changed user. */
  readonly queued: number;
}

/** Escapes a value for COPY's text format. */
function copyField(value: string | number | null): string {
  if (value === null) return '\\N';
  return String(value).replace(
    /[\\\t\n\r]/g,
    (c) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[c] ?? c,
  );
}

/** One COPY text-format line per row, in USER_COLUMNS order; `counter` counts the rows read. */
export function* copyLines(rows: Iterable<UserRow>, counter = { rows: 0 }): Generator<string> {
  for (const row of rows) {
    counter.rows++;
    yield `${USER_COLUMNS.map((c) => (c === 'content_hash' ? `\\\\x${row[c]}` : copyField(row[c]))).join('\t')}\n`;
  }
}

const columns = USER_COLUMNS.join(', ');
const updates = USER_COLUMNS.filter((c) => c !== 'user_key')
  .map((c) => `${c} = EXCLUDED.${c}`)
  .join(', ');

/**
 * Upserts users and writes their outbox rows in ONE transaction, set-based: the rows are COPYed into
 * a temporary table, then one statement upserts them into `users` (a row changes only when its
 * content hash does, and then its version goes up) and inserts an outbox row for each user that
 * was new or changed. The same batch twice changes no content, version or outbox row; a user that
 * arrives unchanged in another batch moves to that batch (`batch_id`). Any failure rolls everything back.
 */
export async function writeUsers(
  pool: Pick<pg.Pool, 'connect'>,
  rows: Iterable<UserRow>,
): Promise<PersistCounts> {
  const client = await connectOrUnavailable<pg.PoolClient>(pool);
  // Set when the connection cannot even roll back: it is released broken, so the pool drops it.
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query(
      `CREATE TEMP TABLE staging_users ON COMMIT DROP AS SELECT ${columns} FROM users WITH NO DATA`,
    );
    const counter = { rows: 0 };
    await pipeline(
      Readable.from(copyLines(rows, counter)),
      client.query(copyFrom(`COPY staging_users (${columns}) FROM STDIN`)),
    );
    const {
      rows: [counts],
    } = await client.query<{ inserted: number; updated: number; queued: number }>(`
      WITH upserted AS (
        INSERT INTO users AS u (${columns})
        SELECT DISTINCT ON (user_key) ${columns} FROM staging_users
        ON CONFLICT (user_key) DO UPDATE SET ${updates}, version = u.version + 1,
          updated_at = greatest(now(), u.updated_at + interval '1 millisecond')
        WHERE u.content_hash IS DISTINCT FROM EXCLUDED.content_hash
        RETURNING u.user_key, u.version, (u.xmax = 0) AS inserted
      ), queued AS (
        INSERT INTO outbox (event_type, user_key, user_version)
        SELECT CASE WHEN inserted THEN 'user.created' ELSE 'user.updated' END, user_key, version FROM upserted
        RETURNING 1
      )
      SELECT count(*) FILTER (WHERE inserted)::int AS inserted,
             count(*) FILTER (WHERE NOT inserted)::int AS updated,
             (SELECT count(*)::int FROM queued) AS queued
      FROM upserted`);
    const inserted = counts?.inserted ?? 0;
    const updated = counts?.updated ?? 0;
    if (counter.rows > inserted + updated) {
      // Unchanged users keep their version and queue nothing, but now belong to this batch: the
      // status function (Airflow's verify) finds a batch's users by batch_id, replays included.
      await client.query(
        `UPDATE users u SET batch_id = s.batch_id FROM staging_users s
          WHERE u.user_key = s.user_key AND u.batch_id IS DISTINCT FROM s.batch_id`,
      );
    }
    await client.query('COMMIT');
    return { inserted, updated, unchanged: counter.rows - inserted - updated, queued: counts?.queued ?? 0 };
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    const code = (error as { code?: unknown }).code;
    // Data exceptions (22) and integrity violations (23): the batch itself is at fault, and a retry
    // would fail the same way. Anything else (connection, serialization, disk) may pass later.
    if (typeof code === 'string' && /^2[23]/.test(code)) {
      throw new UnprocessableError(
        `the batch holds a value PostgreSQL refuses (SQLSTATE ${code}); nothing was written`,
        {
          cause: error,
        },
      );
    }
    throw new TransientError('the database write failed and was rolled back', { cause: error });
  } finally {
    client.release(broken);
  }
}
