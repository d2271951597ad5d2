import type pg from 'pg';
import type { PostgresSide } from '#functions/console/api.ts';

/**
 * Users and the outbox. The users count is an index-only scan of the primary key (tens of ms at a
 * million rows); the backlog and its oldest row come from the partial index on unpublished rows, so
 * they cost what waits, not what was ever published.
 */
export async function readPostgresSide(db: Pick<pg.Pool, 'query'>): Promise<PostgresSide> {
  const { rows } = await db.query<{
    users: string;
    backlog: string;
    oldest_ms: string | null;
    last_id: string | null;
  }>(
    `SELECT (SELECT count(*) FROM users) AS users,
            (SELECT count(*) FROM outbox WHERE published_at IS NULL) AS backlog,
            (SELECT extract(epoch FROM now() - min(created_at)) * 1000
               FROM outbox WHERE published_at IS NULL) AS oldest_ms,
            (SELECT max(id) FROM outbox) AS last_id`,
  );
  const row = rows[0];
  const backlog = Number(row?.backlog ?? 0);
  return {
    users: Number(row?.users ?? 0),
    outboxBacklog: backlog,
    oldestUnpublishedAgeMs:
      row?.oldest_ms === null || row?.oldest_ms === undefined ? null : Math.round(Number(row.oldest_ms)),
    published: Math.max(0, Number(row?.last_id ?? 0) - backlog),
  };
}
