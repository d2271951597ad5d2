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

/**
 * What changes whenever a batch's users do: how many there are and their newest write. A new version
 * moves `updated_at`, a user taken over by a later batch leaves the count. One query for all the
 * batches, by the batch_id index, no user rows sent.
 */
export async function batchFingerprints(
  db: Pick<pg.Pool, 'query'>,
  batchIds: readonly string[],
): Promise<Map<string, string>> {
  const { rows } = await db.query<{ batch_id: string; n: string; newest: Date }>(
    `SELECT batch_id, count(*) AS n, max(updated_at) AS newest
       FROM users WHERE batch_id = ANY($1) GROUP BY batch_id`,
    [batchIds],
  );
  const prints = new Map(rows.map((r) => [r.batch_id, `${r.n}@${r.newest.toISOString()}`]));
  return new Map(batchIds.map((id) => [id, prints.get(id) ?? '0@']));
}

/** What reconciling batches reads. */
export interface ReconcileDeps {
  readonly usersOfBatch: (batchId: string) => Promise<readonly BatchUser[]>;
  readonly fingerprints: (batchIds: readonly string[]) => Promise<ReadonlyMap<string, string>>;
  /** The version Cassandra holds for each key it has; keys it lacks are absent from the map. */
  readonly versionsInCassandra: (userKeys: readonly string[]) => Promise<ReadonlyMap<string, number>>;
  /**
   * Users of the batch that Spark's aggregates count; null while that cannot be told yet. The
   * fingerprint lets it remember what depends on the batch alone.
   */
  readonly aggregatedUsers: (batchId: string, fingerprint: string) => Promise<number | null>;
}

/** Batches a reconciler remembers. */
const REMEMBERED_BATCHES = 20;

/** What a reconciler remembers of a batch. */
interface Remembered {
  /** Users seen in Cassandra, with the version seen there. */
  readonly landed: Map<string, number>;
  /** The batch as last counted, complete in Cassandra, with its fingerprint then. */
  finished?: { readonly fingerprint: string; readonly counts: BatchCounts; aggregates: number | null };
}

/**
 * Reconciles batches across the stores, remembering what it saw. A poll reads Cassandra only for the
 * users it has not seen land at their version (a version never goes back); a batch it saw whole in
 * Cassandra costs one fingerprint query while it stays the same, plus Spark's count until that is
 * known. Memory: the last 20 batches' keys.
 */
export function batchReconciler(deps: ReconcileDeps) {
  const remembered = new Map<string, Remembered>();
  const memoryOf = (batchId: string): Remembered => {
    const known = remembered.get(batchId);
    if (known !== undefined) return known;
    const fresh: Remembered = { landed: new Map() };
    remembered.set(batchId, fresh);
    if (remembered.size > REMEMBERED_BATCHES) {
      const oldest = remembered.keys().next().value;
      if (oldest !== undefined) remembered.delete(oldest);
    }
    return fresh;
  };
  const countNow = async (batchId: string, memory: Remembered): Promise<BatchCounts> => {
    const users = await deps.usersOfBatch(batchId);
    const unseen = users.filter((u) => (memory.landed.get(u.userKey) ?? 0) < u.version).map((u) => u.userKey);
    if (unseen.length > 0) {
      for (const [key, version] of await deps.versionsInCassandra(unseen)) memory.landed.set(key, version);
    }
    return countBatch(users, memory.landed);
  };
  const reconcileOne = async (
    batchId: string,
    at: string,
    fingerprint: string,
  ): Promise<BatchReconciliation> => {
    const memory = memoryOf(batchId);
    let counts: BatchCounts;
    let aggregates: number | null;
    if (memory.finished?.fingerprint === fingerprint) {
      counts = memory.finished.counts;
      // Kept once Spark counts them all; a count short of that may still grow (Spark lagging).
      if (memory.finished.aggregates === null || memory.finished.aggregates < counts.users)
        memory.finished.aggregates = await deps.aggregatedUsers(batchId, fingerprint).catch(() => null);
      aggregates = memory.finished.aggregates;
    } else {
      counts = await countNow(batchId, memory);
      aggregates = counts.complete
        ? await deps.aggregatedUsers(batchId, fingerprint).catch(() => null)
        : null;
      if (counts.complete) memory.finished = { fingerprint, counts, aggregates };
    }
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
  return async (batches: readonly { batchId: string; at: string }[]): Promise<BatchReconciliation[]> => {
    const prints = await deps.fingerprints(batches.map((b) => b.batchId));
    return Promise.all(batches.map((b) => reconcileOne(b.batchId, b.at, prints.get(b.batchId) ?? '')));
  };
}
