import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { unique } from '../support/clients.ts';
import {
  apiGatewayPost,
  lambdaContext,
  type HttpHandler,
  stubLocalFunctionEnv,
} from '../support/lambda-events.ts';
import { countsForSeed, pipelinePool } from '../support/pipeline-db.ts';

type Handler = HttpHandler;

const post = (body: string) => apiGatewayPost(body, { 'x-correlation-id': 'itest-correlation' });

/** The fetch and persist handlers in-process, configured as serverless.yml configures the local stage. */
describe('the fetch and persist handlers, in-process against the local stack', () => {
  let fetchHandler: Handler;
  let persistHandler: Handler;
  const pool = pipelinePool();

  beforeAll(async () => {
    stubLocalFunctionEnv(['fetch', 'persist']);
    fetchHandler = (await import('#functions/fetch/handler.ts')).handler;
    persistHandler = (await import('#functions/persist/handler.ts')).handler;
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await pool.end();
  });

  it('fetches into the raw zone and persists into PostgreSQL, reading the database secret from Secrets Manager', async () => {
    const seed = unique('handlers');
    const fetched = await fetchHandler(
      post(JSON.stringify({ count: 7000, seed, nat: 'ua,rs' })),
      lambdaContext(),
    );
    expect(fetched.statusCode).toBe(200);
    const { key, count } = JSON.parse(fetched.body) as { key: string; count: number };
    expect(count).toBe(7000);

    const persisted = await persistHandler(post(JSON.stringify({ key })), lambdaContext());
    expect(persisted.statusCode).toBe(200);
    expect(JSON.parse(persisted.body)).toMatchObject({ users: 7000, inserted: 7000, queued: 7000 });
    expect(await countsForSeed(pool, seed)).toEqual({ users: 7000, outbox: 7000, maxVersion: 1 });
  });

  it('answers each bad input with its status', async () => {
    expect((await fetchHandler(post('{"count": 0}'), lambdaContext())).statusCode).toBe(400);
    expect((await fetchHandler(post('{"count": 100001}'), lambdaContext())).statusCode).toBe(400);
    expect((await persistHandler(post('{"key": "raw/none.json"}'), lambdaContext())).statusCode).toBe(404);
    expect((await persistHandler(post('{"key": "elsewhere/x.json"}'), lambdaContext())).statusCode).toBe(400);
    const asText = apiGatewayPost('{"count": 1}', { 'content-type': 'text/plain' });
    expect((await fetchHandler(asText, lambdaContext())).statusCode).toBe(415);
  });
});
