import { cassandraSession } from '../lib/cassandra.js';
import { loadSettings, StatusSettings } from '../lib/config.js';
import { dbPool } from '../lib/db.js';
import { httpHandler } from '../lib/http.js';
import { batchStatus, StatusRequest, type BatchStatusDeps } from './batch-status.js';
import { usersOfBatch, versionsInCassandra } from './batch-store.js';

/**
 * POST /status {batchId}: the composition root. Settings at cold start; the database pool and the
 * Cassandra session on first use, then kept for the container's life.
 */
const settings = loadSettings(StatusSettings);

const deps: BatchStatusDeps = {
  usersOfBatch: async (batchId) => usersOfBatch(await dbPool(settings), batchId),
  versionsInCassandra: async (keys) => versionsInCassandra(await cassandraSession(settings), keys),
};

export const handler = httpHandler(StatusRequest, (request) => batchStatus(request, deps));
