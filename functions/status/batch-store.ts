import type pg from 'pg';
import type { BatchUser } from './batch-status.ts';

/**
 * The batch's users with their version, and whether an outbox row of theirs still waits (the partial
 * index on unpublished rows keeps the anti-join small).
 */
export async function usersOfBatch(db: Pick<pg.Pool, 'query'>, batchId: string): Promise<BatchUser[]> {
  const result = await db.query<{ user_key: string; version: number; published: boolean }>(
    `SELECT u.user_key, u.version,
            NOT EXISTS (SELECT 1 FROM outbox o WHERE o.user_key = u.user_key AND o.published_at IS NULL)
              AS published
       FROM users u
      WHERE u.batch_id = $1`,
    [batchId],
  );
  return result.rows.map((r) => ({ userKey: r.user_key, version: r.version, published: r.published }));
}
