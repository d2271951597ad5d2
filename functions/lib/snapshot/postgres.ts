import type pg from 'pg';
import type { PostgresSide } from '#functions/console/api.ts';

/**
 * Users and the outbox, in constant time. The users count is PostgreSQL's own live-row statistic for
 * the table (kept as transactions commit, within a second or so; exact counts are per batch, in the
 * reconciliation): a count(*) takes 200 ms at a million rows on two cores, the whole poll's budget.
 * The backlog and its oldest row come from the partial index on unpublished rows, so they cost what
 * waits, not what was ever published; the published count is the outbox's last id less the backlog.
 */
export async function readPostgresSide(db: Pick<pg.Pool, 'query'>): Promise<PostgresSide> {
  const { rows } = await db.query<{
    users: string;
    backlog: string;
    oldest_ms: string | null;
    last_id: string | null;
  }>(
    `SELECT (SELECT n_live_tup FROM pg_stat_user_tables
               WHERE schemaname = current_schema() AND relname = 'users') AS users,
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
