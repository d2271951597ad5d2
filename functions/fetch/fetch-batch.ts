import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { RAW_BATCH_FORMAT, type RawBatch } from '#lib/batch.ts';
import { BadRequestError, TransientError } from '#lib/errors.ts';
import { logger } from '#lib/logger.ts';
import type { RawStore } from '#lib/raw-store.ts';
import { USERS_METADATA } from '#lib/snapshot/raw-zone.ts';
import type { FetchRequest } from './request.ts';
import type { FetchPage } from './source.ts';

/** What fetchBatch needs: narrow ports, so that tests pass real or fake ones. */
export interface FetchBatchDeps {
  readonly fetchPage: FetchPage;
  readonly store: Pick<RawStore, 'put'>;
  readonly limiter: { acquire(users: number, signal?: AbortSignal): Promise<void> };
  readonly now: () => Date;
  readonly newSeed: () => string;
  readonly limits: { readonly maxCount: number; readonly pageSize: number; readonly concurrency: number };
  readonly sourceUrl: string;
}

/** What fetch answers. */
export interface FetchBatchResult {
  readonly batchId: string;
  readonly key: string;
  /** Users landed (valid ones). */
  readonly count: number;
  readonly requested: number;
  readonly seed: string;
  /** Users that failed validation, with their page, index and reason; none is dropped silently. */
  readonly rejected: RawBatch['rejected'];
}

/** The pages to request: full pages of `pageSize`, the last one holding the remainder. */
export function planPages(count: number, pageSize: number): { page: number; results: number }[] {
  const pages = Math.ceil(count / pageSize);
  return Array.from({ length: pages }, (_, i) => ({
    page: i + 1,
    results: i < pages - 1 ? pageSize : count - pageSize * (pages - 1),
  }));
}

/**
 * Fetches `count` users in pages (bounded concurrency, rate-limited), validates each, drops the
 * secret login fields, and lands the batch in the raw zone, all or nothing: when a page keeps
 * failing, the UpstreamError propagates and nothing is written. Without a seed it picks one and
 * records it, so that the batch can be replayed exactly; the same request gives the same batch id.
 *
 * `deadline` bounds the waiting (the rate limit, the pages and their retries): when it aborts first,
 * nothing is written and the call fails with a TransientError (503, worth retrying), before the
 * function's own timeout would end it with no answer at all.
 */
export async function fetchBatch(
  request: FetchRequest,
  deps: FetchBatchDeps,
  deadline?: AbortSignal,
): Promise<FetchBatchResult> {
  const { maxCount, pageSize, concurrency } = deps.limits;
  if (request.count > maxCount)
    throw new BadRequestError(`count must be at most ${maxCount}, not ${request.count}`);
  if (request.page !== undefined && request.count > pageSize)
    throw new BadRequestError(
      `with page, count must be at most ${pageSize} (one page of the source), not ${request.count}`,
    );
  const seed = request.seed ?? deps.newSeed();
  const nats = [...new Set(request.nat ?? [])];
  const limit = pLimit(concurrency);
  const pages = await Promise.all(
    (request.page === undefined
      ? planPages(request.count, pageSize)
      : [{ page: request.page, results: request.count }]
    ).map(({ page, results }) =>
      limit(async () => {
        await deps.limiter.acquire(results, deadline);
        // A page whose slot freed as the deadline passed must not start.
        deadline?.throwIfAborted();
        const signal = deadline === undefined ? {} : { signal: deadline };
        return { page, ...(await deps.fetchPage({ seed, nats, page, results, ...signal })) };
      }),
    ),
  ).catch((error: unknown) => {
    // The batch is lost: pages not yet started must not spend the upstream's patience or our rate limit.
    limit.clearQueue();
    if (deadline?.aborted === true) {
      throw new TransientError(
        `out of time: ${request.count} users did not arrive within this call's time; nothing was written, retry`,
        { cause: error },
      );
    }
    throw error;
  });
  const batchId = createHash('sha256')
    .update(
      `${seed}|${nats.join(',')}|${request.count}|` +
        (request.page === undefined ? String(pageSize) : `page=${request.page}`),
    )
    .digest('hex')
    .slice(0, 32);
  const now = deps.now();
  const key = `raw/date=${now.toISOString().slice(0, 10)}/batch=${batchId}.json`;
  const batch: RawBatch = {
    format: RAW_BATCH_FORMAT,
    batchId,
    seed,
    nats: nats as RawBatch['nats'],
    requested: request.count,
    pageSize,
    source: deps.sourceUrl,
    fetchedAt: now.toISOString(),
    users: pages.flatMap(({ page, users }) => users.map(({ index, user }) => ({ page, index, user }))),
    rejected: pages.flatMap(({ page, rejected }) =>
      rejected.map(({ index, reason }) => ({ page, index, reason })),
    ),
  };
  // The users count as metadata: the console counts a batch without reading it.
  await deps.store.put(key, batch, { [USERS_METADATA]: String(batch.users.length) });
  logger.info('batch landed', { batchId, key, users: batch.users.length, rejected: batch.rejected.length });
  return {
    batchId,
    key,
    count: batch.users.length,
    requested: request.count,
    seed,
    rejected: batch.rejected,
  };
}
