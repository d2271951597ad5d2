import { RAW_BATCH_FORMAT, type RawBatch } from '#lib/batch.ts';
import { ApiUser, withoutSecrets } from '#lib/randomuser.ts';
import { apiResponse } from '../fixtures/randomuser.ts';

/** A raw batch of the four fixture users (page 1, indexes 0–3), as fetch would land it. */
export function fixtureBatch(overrides: Partial<RawBatch> = {}): RawBatch {
  return {
    format: RAW_BATCH_FORMAT,
    batchId: '0123456789abcdef0123456789abcdef',
    seed: 'fixture',
    nats: [],
    requested: 4,
    pageSize: 5000,
    source: 'http://127.0.0.1:3100',
    fetchedAt: '2026-11-22T10:00:00.000Z',
    users: apiResponse.results.map((raw, index) => ({
      page: 1,
      index,
      user: withoutSecrets(ApiUser.parse(raw)),
    })),
    rejected: [],
    ...overrides,
  };
}
