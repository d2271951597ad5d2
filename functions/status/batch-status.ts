import { z } from 'zod';
import { NotFoundError } from '#lib/errors.ts';
import { countBatch, type BatchCounts, type ReconcileDeps } from '#lib/snapshot/batches.ts';

/** POST /status body: the batch id that fetch answered. */
export const StatusRequest = z.strictObject({
  batchId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'batchId must be the id fetch answered'),
});
export type StatusRequest = z.infer<typeof StatusRequest>;

/** What the use-case reads: the batch's users in PostgreSQL and their versions in Cassandra. */
export type BatchStatusDeps = Pick<ReconcileDeps, 'usersOfBatch' | 'versionsInCassandra'>;

/** How far a batch has come: its users in PostgreSQL, published to Kafka, and landed in Cassandra. */
export type BatchStatus = { readonly batchId: string } & BatchCounts;

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
  return { batchId: request.batchId, ...countBatch(users, landed) };
}
