import type pg from 'pg';
import type { BatchReconciliation } from '#functions/console/api.ts';

/** A user of a batch as PostgreSQL holds it. */
export interface BatchUser {
  readonly userKey: string;
  readonly version: number;
  /** No outbox row of this user waits to be published. */
  readonly published: boolean;
}

/**
 * A batch's users with their version, and whether an outbox row of theirs still waits (the partial
 * index on unpublished rows keeps the anti-join small). Read by the batch_id index: bounded by the
 * batch, not by the table.
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

/** A batch's users at each stage: the status function's answer, and the console's row. */
export interface BatchCounts {
  /** Users whose latest write came from this batch. */
  readonly users: number;
  readonly published: number;
  /** Users that Cassandra holds at PostgreSQL's version or newer. */
  readonly inCassandra: number;
  readonly complete: boolean;
}

/** Counts `users` at each stage, given the version Cassandra holds for each key it has. */
export function countBatch(users: readonly BatchUser[], landed: ReadonlyMap<string, number>): BatchCounts {
  const inCassandra = users.filter((u) => (landed.get(u.userKey) ?? 0) >= u.version).length;
  return {
    users: users.length,
    published: users.filter((u) => u.published).length,
    inCassandra,
    complete: users.length > 0 && inCassandra === users.length,
  };
}

/**
 * Where a batch's missing users stopped: not in PostgreSQL yet (persist), still in the outbox, in
 * Kafka or the sink, or only Spark's aggregates are behind; null when it is all through.
 */
export function stoppedAt(counts: BatchCounts, aggregates: number | null): BatchReconciliation['stoppedAt'] {
  if (counts.users === 0) return 'persist';
  if (counts.published < counts.users) return 'outbox';
  if (counts.inCassandra < counts.users) return 'kafka-or-sink';
  if (aggregates !== null && aggregates < counts.users) return 'aggregates';
  return null;
}

/** What reconciling batches reads. */
export interface ReconcileDeps {
  readonly usersOfBatch: (batchId: string) => Promise<readonly BatchUser[]>;
  /** The version Cassandra holds for each key it has; keys it lacks are absent from the map. */
  readonly versionsInCassandra: (userKeys: readonly string[]) => Promise<ReadonlyMap<string, number>>;
  /** Users of the batch that Spark's aggregates count. */
  readonly aggregatedUsers: (batchId: string) => Promise<number>;
}

/** Batches whose landed users a reconciler remembers. */
const REMEMBERED_BATCHES = 20;

/**
 * Reconciles batches across the stores, remembering which users it already saw in Cassandra at their
 * version: a poll reads Cassandra only for the users it has not seen land (a version never goes
 * back), so a finished batch costs its PostgreSQL read alone. Memory: the last 20 batches' keys.
 */
export function batchReconciler(deps: ReconcileDeps) {
  const landedByBatch = new Map<string, Map<string, number>>();
  return async (batchId: string, at: string): Promise<BatchReconciliation> => {
    const users = await deps.usersOfBatch(batchId);
    let landed = landedByBatch.get(batchId);
    if (landed === undefined) {
      landed = new Map();
      landedByBatch.set(batchId, landed);
      if (landedByBatch.size > REMEMBERED_BATCHES) {
        const oldest = landedByBatch.keys().next().value;
        if (oldest !== undefined) landedByBatch.delete(oldest);
      }
    }
    const known = landed;
    const unseen = users.filter((u) => (known.get(u.userKey) ?? 0) < u.version).map((u) => u.userKey);
    if (unseen.length > 0) {
      for (const [key, version] of await deps.versionsInCassandra(unseen)) known.set(key, version);
    }
    const counts = countBatch(users, known);
    const aggregates = counts.complete ? await deps.aggregatedUsers(batchId).catch(() => null) : null;
    return {
      batchId,
      at,
      postgres: counts.users,
      published: counts.published,
      cassandra: counts.inCassandra,
      aggregates,
      complete: counts.complete && (aggregates === null || aggregates >= counts.users),
      stoppedAt: stoppedAt(counts, aggregates),
    };
  };
}
