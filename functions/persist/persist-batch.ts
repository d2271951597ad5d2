import { z } from 'zod';
import { RawBatch } from '#lib/batch.ts';
import { NotFoundError, UnprocessableError } from '#lib/errors.ts';
import { logger } from '#lib/logger.ts';
import { INVALID_JSON, type RawStore } from '#lib/raw-store.ts';
import { normalizedRows, type UserRow } from './normalize.ts';
import type { PersistCounts } from './user-store.ts';

/**
 * POST /persist body: the raw-zone key fetch returned. Letters, digits and `_=.-` only (so no NUL,
 * control character or space), and no empty, `.` or `..` segment: S3 keys are literal, so no
 * traversal could happen, but such a key is never one fetch wrote, and saying so beats a 404.
 */
export const PersistRequest = z.strictObject({
  key: z
    .string()
    .regex(/^raw\/[\w=./-]+\.json$/, 'key must be a raw-zone key such as raw/date=…/batch=….json')
    .refine(
      (key) => !key.split('/').some((segment) => segment === '.' || segment === '..'),
      'key must not have a . or .. segment: raw-zone keys name their batch directly',
    )
    .refine(
      (key) => !key.split('/').includes(''),
      'key must not have an empty segment (//): raw-zone keys are raw/date=…/batch=….json',
    ),
});
export type PersistRequest = z.infer<typeof PersistRequest>;

export interface PersistBatchDeps {
  readonly store: Pick<RawStore, 'get'>;
  readonly writeUsers: (rows: Iterable<UserRow>) => Promise<PersistCounts>;
}

export interface PersistBatchResult extends PersistCounts {
  readonly key: string;
  readonly batchId: string;
  readonly users: number;
}

/**
 * Reads a batch from the raw zone, normalises its users and writes them with their outbox rows in
 * one transaction. An unknown key is a NotFoundError; an object that is not a batch is refused with
 * the reason, before anything is written.
 */
export async function persistBatch(
  request: PersistRequest,
  deps: PersistBatchDeps,
): Promise<PersistBatchResult> {
  const document = await deps.store.get(request.key);
  if (document === undefined) throw new NotFoundError(`no batch at ${request.key}`);
  if (document === INVALID_JSON) throw new UnprocessableError(`${request.key} is not JSON, so not a batch`);
  const parsed = RawBatch.safeParse(document);
  if (!parsed.success) {
    const where = parsed.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    throw new UnprocessableError(`${request.key} is not a raw batch (${where})`);
  }
  const users = parsed.data.users.length;
  const counts = await deps.writeUsers(normalizedRows(parsed.data));
  logger.info('batch persisted', {
    key: request.key,
    batchId: parsed.data.batchId,
    users,
    ...counts,
  });
  return { key: request.key, batchId: parsed.data.batchId, users, ...counts };
}
