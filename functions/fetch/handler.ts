import { randomBytes } from 'node:crypto';
import { FetchSettings, loadSettings } from '#lib/config.ts';
import { httpHandler } from '#lib/http.ts';
import { rawStoreOf } from '#lib/raw-store.ts';
import { fetchBatch, type FetchBatchDeps } from './fetch-batch.ts';
import { UserRateLimiter } from './rate-limit.ts';
import { FetchRequest } from './request.ts';
import { randomuserSource } from './source.ts';

/**
 * POST /fetch {count, seed?, nat?}: the composition root. Settings, the S3 client and the rate
 * limiter are built once per container (at cold start) and shared by its invocations.
 */
const settings = loadSettings(FetchSettings);

/**
 * What each call keeps of its time for landing the batch: serialising up to 20,000 users (some
 * 25 MB of JSON) and putting them to S3. The waiting for the rate limit and the pages gets the rest.
 */
const LANDING_RESERVE_MS = 3000;

const deps: FetchBatchDeps = {
  fetchPage: randomuserSource(settings),
  store: rawStoreOf(settings),
  limiter: new UserRateLimiter(
    settings.FETCH_RATE_LIMIT_USERS,
    settings.FETCH_RATE_LIMIT_WINDOW_SECONDS * 1000,
  ),
  now: () => new Date(),
  newSeed: () => randomBytes(8).toString('hex'),
  limits: {
    maxCount: settings.FETCH_MAX_COUNT,
    pageSize: settings.FETCH_PAGE_SIZE,
    concurrency: settings.FETCH_CONCURRENCY,
  },
  sourceUrl: settings.RANDOMUSER_BASE_URL,
};

export const handler = httpHandler(FetchRequest, (request, context) =>
  fetchBatch(
    request,
    deps,
    AbortSignal.timeout(Math.max(0, context.getRemainingTimeInMillis() - LANDING_RESERVE_MS)),
  ),
);
