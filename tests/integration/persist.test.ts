import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { normalizeBatch } from '#functions/persist/normalize.ts';
import { persistBatch, type PersistBatchDeps } from '#functions/persist/persist-batch.ts';
import { writeUsers } from '#functions/persist/user-store.ts';
import type { RawBatch } from '#lib/batch.ts';
import { NotFoundError, TransientError, UnprocessableError } from '#lib/errors.ts';
import { s3RawStore } from '#lib/raw-store.ts';
import { localResources } from '#infra/stack/local-stage/resources.ts';
import { fixtureBatch } from '../support/batches.ts';
import { awsClients, unique } from '../support/clients.ts';
import { countsForSeed, pipelinePool } from '../support/pipeline-db.ts';

const { s3 } = awsClients();
const store = s3RawStore(s3, localResources.rawBucket);
const pool = pipelinePool();
const deps: PersistBatchDeps = { store, writeUsers: (rows) => writeUsers(pool, rows) };

/** The fixture batch under a seed of its own, stored in the raw zone. */
async function storedBatch(overrides: Partial<RawBatch> = {}): Promise<{ key: string; batch: RawBatch }> {
  const batch = fixtureBatch({ seed: unique('persist'), ...overrides });
  const key = `raw/date=2026-11-22/batch=${batch.batchId}-${batch.seed}.json`;
  await store.put(key, batch);
  return { key, batch };
}

/** The same batch with its first user's e-mail changed, stored beside it; returns its key. */
async function storedWithNewEmail(key: string, batch: RawBatch, email: string): Promise<string> {
  const changed = {
    ...batch,
    users: batch.users.map((u, i) => (i === 0 ? { ...u, user: { ...u.user, email } } : u)),
  };
  const changedKey = key.replace('.json', `-${email.split('@')[0] ?? 'changed'}.json`);
  await store.put(changedKey, changed);
  return changedKey;
}

describe('persist against PostgreSQL and the S3 raw zone', () => {
  afterAll(async () => {
    s3.destroy();
    await pool.end();
  });

  it('upserts the users and queues one outbox row each, in typed columns', async () => {
    const { key, batch } = await storedBatch();
    const result = await persistBatch({ key }, deps);
    expect(result).toMatchObject({ users: 4, inserted: 4, updated: 0, unchanged: 0, queued: 4 });
    expect(await countsForSeed(pool, batch.seed)).toEqual({ users: 4, outbox: 4, maxVersion: 1 });
    const { rows } = await pool.query<{
      postcode: string;
      date_of_birth: Date;
      national_id_value: string | null;
    }>(
      'SELECT postcode, date_of_birth, national_id_value FROM users WHERE source_seed = $1 ORDER BY source_index',
      [batch.seed],
    );
    expect(rows.map((r) => r.postcode)).toEqual(['74103', 'BA1 5LR', '81465', '79000']);
    expect(rows[0]?.date_of_birth).toEqual(new Date('1971-03-15T09:20:11.402Z'));
    expect(rows[2]?.national_id_value).toBeNull();
  });

  it('leaves every count unchanged when the same batch comes twice', async () => {
    const { key, batch } = await storedBatch();
    await persistBatch({ key }, deps);
    const again = await persistBatch({ key }, deps);
    expect(again).toMatchObject({ inserted: 0, updated: 0, unchanged: 4, queued: 0 });
    expect(await countsForSeed(pool, batch.seed)).toEqual({ users: 4, outbox: 4, maxVersion: 1 });
  });

  it('bumps the version and queues an update event only for users whose content changed', async () => {
    const { key, batch } = await storedBatch();
    await persistBatch({ key }, deps);
    const changedKey = await storedWithNewEmail(key, batch, 'new.address@example.com');
    expect(await persistBatch({ key: changedKey }, deps)).toMatchObject({
      inserted: 0,
      updated: 1,
      unchanged: 3,
      queued: 1,
    });
    expect(await countsForSeed(pool, batch.seed)).toEqual({ users: 4, outbox: 5, maxVersion: 2 });
    const { rows } = await pool.query<{ event_type: string; user_version: number }>(
      `SELECT event_type, user_version FROM outbox JOIN users USING (user_key)
        WHERE source_seed = $1 AND event_type = 'user.updated'`,
      [batch.seed],
    );
    expect(rows).toEqual([{ event_type: 'user.updated', user_version: 2 }]);
  });

  it('gives each new version a later updated_at than the last, even when the clock says otherwise', async () => {
    // The sink's write time is updated_at: it must rise with the version, whatever now() says (a
    // transaction that started before the last update committed, or a clock stepped back).
    const { key, batch } = await storedBatch();
    await persistBatch({ key }, deps);
    const userKey = (
      await pool.query<{ user_key: string }>(
        'SELECT user_key FROM users WHERE source_seed = $1 AND source_index = 0',
        [batch.seed],
      )
    ).rows[0]?.user_key;
    const ahead = new Date(Date.now() + 3_600_000);
    await pool.query('UPDATE users SET updated_at = $2 WHERE user_key = $1', [userKey, ahead]);
    const changedKey = await storedWithNewEmail(key, batch, 'later@example.com');
    await persistBatch({ key: changedKey }, deps);
    const { rows } = await pool.query<{ version: number; updated_at: Date }>(
      'SELECT version, updated_at FROM users WHERE user_key = $1',
      [userKey],
    );
    expect(rows[0]?.version).toBe(2);
    expect(rows[0]?.updated_at.getTime()).toBe(ahead.getTime() + 1);
  });

  it('refuses, as unprocessable, a batch holding a value PostgreSQL rejects, and writes none of it', async () => {
    const { batch } = await storedBatch();
    const rows = normalizeBatch(batch);
    const broken = rows.map((r, i) => (i === 3 ? { ...r, street_number: 1e12 } : r));
    await expect(writeUsers(pool, broken)).rejects.toThrow(UnprocessableError);
    expect(await countsForSeed(pool, batch.seed)).toEqual({ users: 0, outbox: 0, maxVersion: 0 });
  });

  it('rolls back the upsert and the outbox when the commit fails, and reports it as transient', async () => {
    const { batch } = await storedBatch();
    // A pool whose connections fail at COMMIT, after the users and outbox statements ran.
    const failingCommit = {
      connect: async () => {
        const client = await pool.connect();
        const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
        return Object.assign(client, {
          query: (...args: unknown[]) =>
            args[0] === 'COMMIT' ? Promise.reject(new Error('connection lost at commit')) : query(...args),
        });
      },
    } as unknown as Pick<typeof pool, 'connect'>;
    await expect(writeUsers(failingCommit, normalizeBatch(batch))).rejects.toThrow(TransientError);
    expect(await countsForSeed(pool, batch.seed)).toEqual({ users: 0, outbox: 0, maxVersion: 0 });
  });

  it('answers not found for an unknown key and unprocessable for an object that is not a batch', async () => {
    await expect(persistBatch({ key: `raw/${unique('missing')}.json` }, deps)).rejects.toThrow(NotFoundError);
    const key = `raw/${unique('not-a-batch')}.json`;
    await s3.send(
      new PutObjectCommand({ Bucket: localResources.rawBucket, Key: key, Body: '{"results": []}' }),
    );
    await expect(persistBatch({ key }, deps)).rejects.toThrow(UnprocessableError);
  });

  it('reports a database that is down as transient, having written nothing', async () => {
    const { key } = await storedBatch();
    const downPool = { connect: () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')) };
    await expect(
      persistBatch({ key }, { store, writeUsers: (rows) => writeUsers(downPool, rows) }),
    ).rejects.toThrow(new TransientError('the database is unavailable'));
  });
});
