import { z } from 'zod';
import { NotFoundError } from '#lib/errors.ts';

/** POST /status body: the batch id that fetch answered. */
export const StatusRequest = z.strictObject({
  batchId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'batchId must be the id fetch answered'),
});
export type StatusRequest = z.infer<typeof StatusRequest>;

/** A user of the batch as PostgreSQL holds it. */
export interface BatchUser {
  readonly userKey: string;
  readonly version: number;
  /** No outbox row of this user waits to be published. */
  readonly published: boolean;
}

/** What the use-case reads: the batch's users in PostgreSQL and their versions in Cassandra. */
export interface BatchStatusDeps {
  readonly usersOfBatch: (batchId: string) => Promise<readonly BatchUser[]>;
  /** The version Cassandra holds for each key it has; keys it lacks are absent from the map. */
  readonly versionsInCassandra: (userKeys: readonly string[]) => Promise<ReadonlyMap<string, number>>;
}

/** How far a batch has come: its users in PostgreSQL, published to Kafka, and landed in Cassandra. */
export interface BatchStatus {
  readonly batchId: string;
  /** Users whose latest write came from this batch. */
  readonly users: number;
  readonly published: number;
  /** Users that Cassandra holds at PostgreSQL's version or newer. */
  readonly inCassandra: number;
  /** Every user of the batch is in Cassandra. */
  readonly complete: boolean;
}

/**
 * Counts a batch's users at each stage after fetch. Read-only, so Airflow's verify step polls it;
 * an unknown batch is a 404 that says what to do.
 */
export async function batchStatus(request: StatusRequest, deps: BatchStatusDeps): Promise<BatchStatus> {
  const users = await deps.usersOfBatch(request.batchId);
  if (users.length === 0) {
    throw new NotFoundError(
      `no user of batch ${request.batchId} is in PostgreSQL: persist the batch's key first`,
    );
  }
  const landed = await deps.versionsInCassandra(users.map((u) => u.userKey));
  const inCassandra = users.filter((u) => (landed.get(u.userKey) ?? 0) >= u.version).length;
  return {
    batchId: request.batchId,
    users: users.length,
    published: users.filter((u) => u.published).length,
    inCassandra,
    complete: inCassandra === users.length,
  };
}
