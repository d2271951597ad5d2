import pg from 'pg';
import { localDatabaseUrl } from '#infra/stack/local-stage/resources.ts';

/** A pool on the pipeline database of the local stack, as the functions' pool would be. */
export const pipelinePool = (): pg.Pool => new pg.Pool({ connectionString: localDatabaseUrl, max: 2 });

/** Users and outbox rows of one source seed: the counts a test asserts on. */
export async function countsForSeed(
  db: pg.Pool | pg.Client,
  seed: string,
): Promise<{ users: number; outbox: number; maxVersion: number }> {
  const { rows } = await db.query<{ users: number; outbox: number; max_version: number | null }>(
    `SELECT (SELECT count(*)::int FROM users WHERE source_seed = $1) AS users,
            (SELECT count(*)::int FROM outbox o JOIN users u USING (user_key) WHERE u.source_seed = $1) AS outbox,
            (SELECT max(version) FROM users WHERE source_seed = $1) AS max_version`,
    [seed],
  );
  const row = rows[0];
  return { users: row?.users ?? 0, outbox: row?.outbox ?? 0, maxVersion: row?.max_version ?? 0 };
}
