import { loadSettings, PersistSettings } from '#lib/config.ts';
import { dbPool } from '#lib/db.ts';
import { httpHandler } from '#lib/http.ts';
import { rawStoreOf } from '#lib/raw-store.ts';
import { persistBatch, PersistRequest, type PersistBatchDeps } from './persist-batch.ts';
import { writeUsers } from './user-store.ts';

/**
 * POST /persist {key}: the composition root. Settings and the S3 client are built at cold start;
 * the database pool on first use (its credentials come from Secrets Manager), then kept.
 */
const settings = loadSettings(PersistSettings);

const deps: PersistBatchDeps = {
  store: rawStoreOf(settings),
  writeUsers: async (rows) => writeUsers(await dbPool(settings), rows),
};

export const handler = httpHandler(PersistRequest, (request) => persistBatch(request, deps));
