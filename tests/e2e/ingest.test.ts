import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localRawStore } from '#infra/stack/local-stage/clients.ts';
import { localApiKey } from '#infra/stack/local-stage/resources.ts';
import { unique } from '../support/clients.ts';
import { postJson } from '#scripts/http-client.ts';
import { countsForSeed, pipelinePool } from '../support/pipeline-db.ts';
import { clearFaults, injectFault } from '../support/randomuser-faults.ts';
import { startOffline, type Offline } from '#scripts/offline.ts';

/** Ingest over HTTP through `sls offline`: fetch and persist, as Airflow will call them. */
describe('fetch and persist over HTTP', () => {
  let offline: Offline;
  let apiKey: string;
  const pool = pipelinePool();

  const call = (path: string, body: string, key = apiKey) =>
    postJson(`${offline.baseUrl}/${path}`, body, key === '' ? {} : { 'x-api-key': key });

  beforeAll(async () => {
    apiKey = await localApiKey();
    offline = await startOffline({ http: 3010, lambda: 3012 });
  });

  afterAll(async () => {
    await offline.stop();
    await pool.end();
  });

  it('fetches 20,000 users, persists them, and a replay of the same calls changes no count', async () => {
    const seed = unique('e2e');
    const fetched = await call('fetch', JSON.stringify({ count: 20_000, seed }));
    expect(fetched.status).toBe(200);
    expect(fetched.body).toMatchObject({ count: 20_000, requested: 20_000, seed, rejected: [] });
    const key = String(fetched.body['key']);

    const persisted = await call('persist', JSON.stringify({ key }));
    expect(persisted.status).toBe(200);
    expect(persisted.body).toMatchObject({ users: 20_000, inserted: 20_000, updated: 0, queued: 20_000 });
    expect(await countsForSeed(pool, seed)).toEqual({ users: 20_000, outbox: 20_000, maxVersion: 1 });

    // No secret field in the raw zone, and none in PostgreSQL.
    const raw = JSON.stringify(await localRawStore().get(key));
    expect(raw).not.toMatch(/"(password|salt|md5|sha1|sha256)"/);
    const { rows } = await pool.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name IN ('users', 'outbox')",
    );
    expect(rows.map((r) => r.column_name).filter((c) => /password|salt|md5|sha1|sha256/.test(c))).toEqual([]);

    // The same calls again: the same batch, and no count moves.
    const refetched = await call('fetch', JSON.stringify({ count: 20_000, seed }));
    expect(refetched.body['batchId']).toBe(fetched.body['batchId']);
    const repersisted = await call('persist', JSON.stringify({ key }));
    expect(repersisted.body).toMatchObject({ inserted: 0, updated: 0, unchanged: 20_000, queued: 0 });
    expect(await countsForSeed(pool, seed)).toEqual({ users: 20_000, outbox: 20_000, maxVersion: 1 });
  });

  it('refuses a call without the API key, or with a wrong one', async () => {
    expect((await call('fetch', '{"count": 1}', '')).status).toBe(403);
    expect((await call('persist', '{"key": "raw/x.json"}', 'not-the-key')).status).toBe(403);
  });

  it.each([
    ['fetch', '{"count": ', 400, /^the body is not valid JSON: /],
    // serverless-offline hands a JSON `null` body to the function as no body at all (API Gateway
    // passes the text "null", which bad-input.test.ts sends in-process and which gets its own message).
    ['fetch', 'null', 400, /^the body is empty: send a JSON object/],
    ['fetch', '{"count": 10, "pages": 2}', 400, /Unrecognized key: "pages"/],
    ['fetch', '{"count": 0}', 400, /count must be at least 1/],
    ['fetch', '{"count": -4}', 400, /count must be at least 1/],
    ['fetch', '{"count": 1.5}', 400, /count must be a whole number/],
    ['fetch', '{"count": 100001}', 400, /count must be at most 100000/],
    ['fetch', '{"count": 5, "nat": "GB,XX"}', 400, /unknown nationality XX/],
    ['persist', '{"key": "elsewhere/batch.json"}', 400, /key must be a raw-zone key/],
    ['persist', '{"key": "raw/date=2000-01-01/batch=none.json"}', 404, /no batch at raw\/date=2000-01-01/],
  ])('%s %s answers %s with a message that says what is wrong', async (path, body, status, message) => {
    const response = await call(path, body);
    expect(response.status).toBe(status);
    expect(response.body['message']).toMatch(message);
  });

  it('answers 502 with the upstream status when the source keeps failing', async () => {
    await injectFault('503', 10);
    try {
      const response = await call('fetch', JSON.stringify({ count: 10, seed: unique('down') }));
      expect(response.status).toBe(502);
      expect(response.body).toMatchObject({ error: 'upstream', upstreamStatus: 503 });
    } finally {
      await clearFaults();
    }
  });

  it('answers 422 for a raw object that is not a batch', async () => {
    const key = `raw/${unique('garbage')}.json`;
    await localRawStore().put(key, { hello: 'world' });
    const response = await call('persist', JSON.stringify({ key }));
    expect(response.status).toBe(422);
    expect(response.body['message']).toMatch(/is not a raw batch/);
  });
});
