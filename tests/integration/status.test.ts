import cassandraDriver from 'cassandra-driver';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { UserEvent } from '#lib/user-event.ts';
import { eventOf, USER_EVENT_COLUMNS, type UserEventRow } from '#functions/publish/outbox-store.ts';
import { writeUsers as sinkUsers } from '#functions/sink/user-table.ts';
import { localResources } from '#infra/stack/local-stage/resources.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import { unique } from '../support/clients.ts';
import {
  apiGatewayPost,
  lambdaContext,
  type HttpHandler,
  stubLocalFunctionEnv,
} from '../support/lambda-events.ts';
import { pipelinePool } from '../support/pipeline-db.ts';
import { normalizeBatch } from '#functions/persist/normalize.ts';
import { writeUsers } from '#functions/persist/user-store.ts';
import { generatedBatch, persistGeneratedUsers } from '../support/stream.ts';

const post = (body: unknown) => apiGatewayPost(JSON.stringify(body));

/** The status handler in-process, configured as serverless.yml configures the local stage. */
describe('status, in-process against PostgreSQL and Cassandra', () => {
  let status: HttpHandler;
  const pool = pipelinePool();
  const cassandra = new cassandraDriver.Client({
    contactPoints: [...endpoints.cassandra.contactPoints],
    localDataCenter: endpoints.cassandra.localDataCenter,
    keyspace: localResources.keyspace,
  });

  beforeAll(async () => {
    stubLocalFunctionEnv('status');
    status = (await import('#functions/status/handler.ts')).handler;
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await Promise.all([pool.end(), cassandra.shutdown()]);
  });

  it("follows a batch from PostgreSQL through the outbox into Cassandra, at each user's version", async () => {
    const seed = unique('status');
    const { batchId } = generatedBatch(seed, 1);
    const keys = await persistGeneratedUsers(pool, seed, 250);
    const ask = async () => JSON.parse((await status(post({ batchId }), lambdaContext())).body) as unknown;

    expect(await ask()).toEqual({ batchId, users: 250, published: 0, inCassandra: 0, complete: false });

    // 100 users published and written to Cassandra as the sink writes them.
    const landed = keys.slice(0, 100);
    await pool.query('UPDATE outbox SET published_at = now() WHERE user_key = ANY($1::uuid[])', [landed]);
    const { rows } = await pool.query<UserEventRow>(
      `SELECT ${USER_EVENT_COLUMNS} FROM outbox o JOIN users u ON u.user_key = o.user_key
        WHERE u.user_key = ANY($1::uuid[])`,
      [landed],
    );
    const events: UserEvent[] = rows.map(eventOf);
    await sinkUsers(cassandra, events, 32);
    expect(await ask()).toEqual({ batchId, users: 250, published: 100, inCassandra: 100, complete: false });

    // A user whose PostgreSQL version moved on is not landed until Cassandra has that version.
    await pool.query('UPDATE users SET version = version + 1 WHERE user_key = $1', [landed[0]]);
    expect(await ask()).toMatchObject({ inCassandra: 99 });
  });

  it('follows users that a later batch delivered unchanged (a replay of the seed with a smaller count)', async () => {
    const seed = unique('status-replay');
    await persistGeneratedUsers(pool, seed, 150);
    const replay = { ...generatedBatch(seed, 100), batchId: unique('replay') };
    expect(await writeUsers(pool, normalizeBatch(replay))).toMatchObject({ unchanged: 100, queued: 0 });
    const answer = await status(post({ batchId: replay.batchId }), lambdaContext());
    expect(JSON.parse(answer.body)).toMatchObject({ batchId: replay.batchId, users: 100, published: 0 });
    const first = await status(post({ batchId: generatedBatch(seed, 1).batchId }), lambdaContext());
    expect(JSON.parse(first.body)).toMatchObject({ users: 50 });
  });

  it('answers 404 for an unknown batch and 400 for a malformed request', async () => {
    const unknown = await status(post({ batchId: unique('nobatch') }), lambdaContext());
    expect(unknown.statusCode).toBe(404);
    expect(JSON.parse(unknown.body)).toMatchObject({ error: 'not-found' });
    const malformed = await status(post({ batch: 'x' }), lambdaContext());
    expect(malformed.statusCode).toBe(400);
    expect(JSON.parse(malformed.body)).toMatchObject({
      message: expect.stringContaining('batchId') as string,
    });
  });
});
