import { cassandraSession } from '#lib/cassandra.ts';
import { loadSettings, StatusSettings } from '#lib/config.ts';
import { dbPool, withConnection } from '#lib/db.ts';
import { httpHandler } from '#lib/http.ts';
import { batchStatus, StatusRequest, type BatchStatusDeps } from './batch-status.ts';
import { versionsInCassandra } from '#lib/user-rows.ts';
import { usersOfBatch } from '#lib/snapshot/batches.ts';

/**
 * POST /status {batchId}: the composition root. Settings at cold start; the database pool and the
 * Cassandra session on first use, then kept for the container's life.
 */
const settings = loadSettings(StatusSettings);

const deps: BatchStatusDeps = {
  // On a connection of its own, so that a database outage is a 503 like persist's and publish's.
  usersOfBatch: async (batchId) =>
    withConnection(await dbPool(settings), (client) => usersOfBatch(client, batchId)),
  versionsInCassandra: async (keys) => versionsInCassandra(await cassandraSession(settings), keys),
};

export const handler = httpHandler(StatusRequest, (request) => batchStatus(request, deps));
