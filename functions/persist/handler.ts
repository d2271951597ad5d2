import { s3Client } from '../lib/aws.js';
import { loadSettings, PersistSettings } from '../lib/config.js';
import { dbPool } from '../lib/db.js';
import { httpHandler } from '../lib/http.js';
import { s3RawStore } from '../lib/raw-store.js';
import { persistBatch, PersistRequest, type PersistBatchDeps } from './persist-batch.js';
import { writeUsers } from './user-store.js';

/**
 * POST /persist {key}: the composition root. Settings and the S3 client are built at cold start;
 * the database pool on first use (its credentials come from Secrets Manager), then kept.
 */
const settings = loadSettings(PersistSettings);

const deps: PersistBatchDeps = {
  store: s3RawStore(s3Client(settings), settings.RAW_BUCKET),
  writeUsers: async (rows) => writeUsers(await dbPool(settings), rows),
};

export const handler = httpHandler(PersistRequest, (request) => persistBatch(request, deps));
