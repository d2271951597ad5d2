import { describe, expect, it } from 'vitest';
import { fetchBatch, planPages, type FetchBatchDeps } from '#functions/fetch/fetch-batch.ts';
import type { FetchPage, PageRequest } from '#functions/fetch/source.ts';
import { RawBatch } from '#lib/batch.ts';
import { BadRequestError, TransientError, UpstreamError } from '#lib/errors.ts';
import { withoutSecrets, ApiUser } from '#lib/randomuser.ts';
import { numericPostcodeUser } from '#tests/fixtures/randomuser.ts';

const user = withoutSecrets(ApiUser.parse(numericPostcodeUser));

/** A source that answers every page with `results` copies of one user, and records what it was asked. */
function fakeSource(): { fetchPage: FetchPage; asked: PageRequest[] } {
  const asked: PageRequest[] = [];
  return {
    asked,
    fetchPage: (request) => {
      asked.push(request);
      return Promise.resolve({
        users: Array.from({ length: request.results }, (_, index) => ({ index, user })),
        rejected: [],
      });
    },
  };
}

function deps(overrides: Partial<FetchBatchDeps> = {}): FetchBatchDeps & { written: Map<string, unknown> } {
  const written = new Map<string, unknown>();
  return {
    written,
    fetchPage: fakeSource().fetchPage,
    store: {
      put: (key, document) => {
        written.set(key, document);
        return Promise.resolve();
      },
    },
    limiter: { acquire: () => Promise.resolve() },
    now: () => new Date('2026-11-22T10:00:00Z'),
    newSeed: () => 'picked-seed',
    limits: { maxCount: 100_000, pageSize: 5000, concurrency: 2 },
    sourceUrl: 'http://127.0.0.1:3100',
    ...overrides,
  };
}

describe('planPages', () => {
  it('asks full pages and the remainder last', () => {
    expect(planPages(12_000, 5000)).toEqual([
      { page: 1, results: 5000 },
      { page: 2, results: 5000 },
      { page: 3, results: 2000 },
    ]);
    expect(planPages(5000, 5000)).toEqual([{ page: 1, results: 5000 }]);
  });
});

describe('fetchBatch', () => {
  it('lands every user in one batch keyed by date and batch id, and returns its key, count and seed', async () => {
    const source = fakeSource();
    const d = deps({ fetchPage: source.fetchPage });
    const result = await fetchBatch({ count: 12_000, seed: 's1', nat: ['GB', 'GB', 'IR'] }, d);
    expect(result).toMatchObject({ count: 12_000, requested: 12_000, seed: 's1', rejected: [] });
    expect(result.key).toBe(`raw/date=2026-11-22/batch=${result.batchId}.json`);
    expect(source.asked.map((a) => [a.page, a.results, a.nats])).toEqual([
      [1, 5000, ['GB', 'IR']],
      [2, 5000, ['GB', 'IR']],
      [3, 2000, ['GB', 'IR']],
    ]);
    const batch = RawBatch.parse(d.written.get(result.key));
    expect(batch.users).toHaveLength(12_000);
    expect(batch.users.at(-1)).toMatchObject({ page: 3, index: 1999 });
  });

  it('picks and records a seed when none is given, and gives the same request the same batch id', async () => {
    const first = await fetchBatch({ count: 10 }, deps());
    const second = await fetchBatch({ count: 10 }, deps());
    expect(first.seed).toBe('picked-seed');
    expect(second.batchId).toBe(first.batchId);
    expect((await fetchBatch({ count: 11 }, deps())).batchId).not.toBe(first.batchId);
  });

  it('fetches one page of the seed when asked for a page: a chunk of a bigger run, with its own batch id', async () => {
    const source = fakeSource();
    const d = deps({ fetchPage: source.fetchPage });
    const chunk = await fetchBatch({ count: 5000, seed: 's1', page: 7 }, d);
    expect(source.asked.map((a) => [a.page, a.results])).toEqual([[7, 5000]]);
    expect(RawBatch.parse(d.written.get(chunk.key)).users.at(-1)).toMatchObject({ page: 7, index: 4999 });
    const again = await fetchBatch({ count: 5000, seed: 's1', page: 7 }, deps());
    const next = await fetchBatch({ count: 5000, seed: 's1', page: 8 }, deps());
    const whole = await fetchBatch({ count: 5000, seed: 's1' }, deps());
    expect(again.batchId).toBe(chunk.batchId);
    expect(new Set([chunk.batchId, next.batchId, whole.batchId]).size).toBe(3);
  });

  it('refuses a page request of more users than one page holds', async () => {
    await expect(fetchBatch({ count: 5001, seed: 's1', page: 2 }, deps())).rejects.toThrow(
      new BadRequestError('with page, count must be at most 5000 (one page of the source), not 5001'),
    );
  });

  it('refuses a count above the configured maximum', async () => {
    await expect(fetchBatch({ count: 100_001 }, deps())).rejects.toThrow(
      new BadRequestError('count must be at most 100000, not 100001'),
    );
  });

  it('writes nothing when a page keeps failing', async () => {
    const d = deps({
      fetchPage: (request) =>
        request.page === 2
          ? Promise.reject(new UpstreamError('randomuser kept failing', 503))
          : fakeSource().fetchPage(request),
    });
    await expect(fetchBatch({ count: 12_000 }, d)).rejects.toThrow(UpstreamError);
    expect(d.written.size).toBe(0);
  });

  it('reports rejected users with page, index and reason', async () => {
    const d = deps({
      fetchPage: () =>
        Promise.resolve({ users: [{ index: 0, user }], rejected: [{ index: 1, reason: 'email: bad' }] }),
    });
    const result = await fetchBatch({ count: 2 }, d);
    expect(result.count).toBe(1);
    expect(result.rejected).toEqual([{ page: 1, index: 1, reason: 'email: bad' }]);
  });

  it('takes a rate-limit token for every user it asks for', async () => {
    const taken: number[] = [];
    await fetchBatch(
      { count: 7000 },
      deps({ limiter: { acquire: (n) => (taken.push(n), Promise.resolve()) } }),
    );
    expect(taken.sort()).toEqual([2000, 5000]);
  });

  it('answers out of time, retryably, when the pages do not arrive before its deadline, and writes nothing', async () => {
    const asked: PageRequest[] = [];
    const d = deps({
      // A page that never comes: it ends only when the deadline aborts it, as fetch() would.
      fetchPage: (request) => {
        asked.push(request);
        return new Promise((_resolve, reject) => {
          request.signal?.addEventListener('abort', () => {
            reject(
              new UpstreamError('randomuser kept failing', undefined, { cause: request.signal?.reason }),
            );
          });
        });
      },
    });
    const outcome = fetchBatch({ count: 12_000 }, d, AbortSignal.timeout(20));
    await expect(outcome).rejects.toThrow(TransientError);
    await expect(outcome).rejects.toThrow(/out of time/);
    expect(d.written.size).toBe(0);
    // The pages in flight were aborted, and the one still queued never started.
    expect(asked.map((r) => r.page)).toEqual([1, 2]);
  });

  it('passes its deadline to the rate limiter, which may be what it waits for', async () => {
    const signals: (AbortSignal | undefined)[] = [];
    const deadline = AbortSignal.timeout(60_000);
    await fetchBatch(
      { count: 5000 },
      deps({ limiter: { acquire: (_n, signal) => (signals.push(signal), Promise.resolve()) } }),
      deadline,
    );
    expect(signals).toEqual([deadline]);
  });
});
