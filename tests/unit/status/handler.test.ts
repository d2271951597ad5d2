import { afterAll, describe, expect, it, vi } from 'vitest';
import type * as db from '#lib/db.ts';
import { apiGatewayPost, lambdaContext, stubLocalFunctionEnv } from '#tests/support/lambda-events.ts';

/** A pool whose database is down: connecting fails as pg fails when nothing listens. */
const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
const downPool = {
  connect: () => Promise.reject(refused),
  query: () => Promise.reject(refused),
};

vi.mock('#lib/db.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof db>()),
  dbPool: () => Promise.resolve(downPool),
}));

describe('the status handler', () => {
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it('answers a database outage with 503, as persist and publish do', async () => {
    stubLocalFunctionEnv('status');
    const { handler } = await import('#functions/status/handler.ts');
    const result = await handler(apiGatewayPost('{"batchId": "b1"}'), lambdaContext());
    expect(result.statusCode).toBe(503);
    expect(JSON.parse(result.body)).toEqual({ error: 'transient', message: 'the database is unavailable' });
  });
});
