import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { fetchBatch, type FetchBatchDeps } from '#functions/fetch/fetch-batch.ts';
import { randomuserSource } from '#functions/fetch/source.ts';
import { RawBatch } from '#lib/batch.ts';
import { UpstreamError } from '#lib/errors.ts';
import { s3RawStore } from '#lib/raw-store.ts';
import { localResources } from '#infra/stack/local-stage/resources.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import { awsClients, unique } from '../support/clients.ts';
import { clearFaults, injectFault } from '../support/randomuser-faults.ts';

const { s3 } = awsClients();
const store = s3RawStore(s3, localResources.rawBucket);

function deps(timeoutMs = 5000): FetchBatchDeps {
  return {
    // Short backoff so that the retries of a test take milliseconds, not seconds.
    fetchPage: randomuserSource(
      { RANDOMUSER_BASE_URL: endpoints.randomuser.url, FETCH_TIMEOUT_MS: timeoutMs, FETCH_MAX_ATTEMPTS: 4 },
      { minBackoffMs: 10, maxBackoffMs: 50 },
    ),
    store,
    limiter: { acquire: () => Promise.resolve() },
    now: () => new Date(),
    newSeed: () => unique('seed'),
    limits: { maxCount: 100_000, pageSize: 5000, concurrency: 2 },
    sourceUrl: endpoints.randomuser.url,
  };
}

const objectCount = async (): Promise<number> =>
  (await s3.send(new ListObjectsV2Command({ Bucket: localResources.rawBucket, Prefix: 'raw/' }))).KeyCount ??
  0;

describe('fetch against the source and the S3 raw zone', () => {
  afterEach(clearFaults);
  afterAll(() => {
    s3.destroy();
  });

  it('lands 12,000 users from three pages in S3, with no secret field anywhere', async () => {
    const result = await fetchBatch({ count: 12_000, seed: unique('fetch') }, deps());
    expect(result).toMatchObject({ count: 12_000, requested: 12_000, rejected: [] });
    const stored = await store.get(result.key);
    const batch = RawBatch.parse(stored);
    expect(batch.users).toHaveLength(12_000);
    expect(new Set(batch.users.map((u) => `${u.page}/${u.index}`)).size).toBe(12_000);
    expect(JSON.stringify(stored)).not.toMatch(/"(password|salt|md5|sha1|sha256)"/);
  });

  it.each(['429', '500', '503', 'html', 'malformed', 'no-results', 'short'])(
    'retries past a passing %s fault and lands the batch',
    async (kind) => {
      await injectFault(kind, 2);
      const result = await fetchBatch({ count: 100, seed: unique('retry') }, deps());
      expect(result.count).toBe(100);
    },
  );

  it('retries a page that times out', async () => {
    await injectFault('slow', 1, 1500);
    const result = await fetchBatch({ count: 10, seed: unique('slow') }, deps(500));
    expect(result.count).toBe(10);
  });

  it('gives up with the upstream status when the source keeps failing, and writes nothing', async () => {
    const before = await objectCount();
    await injectFault('503', 10);
    const attempt = fetchBatch({ count: 100, seed: unique('down') }, deps());
    await expect(attempt).rejects.toThrow(UpstreamError);
    await expect(attempt).rejects.toMatchObject({ upstreamStatus: 503 });
    // The source's own words come along, so the failure says what the upstream said.
    await expect(attempt).rejects.toThrow(/answered 503: Uh oh, something has gone wrong/);
    expect(await objectCount()).toBe(before);
  });

  it('fails a page that keeps coming back short rather than landing fewer users, and writes nothing', async () => {
    const before = await objectCount();
    await injectFault('short', 10);
    const attempt = fetchBatch({ count: 100, seed: unique('short') }, deps());
    await expect(attempt).rejects.toThrow(UpstreamError);
    await expect(attempt).rejects.toThrow(/answered 0 of the 100 users asked for page 1/);
    expect(await objectCount()).toBe(before);
  });
});
