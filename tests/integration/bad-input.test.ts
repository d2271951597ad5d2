import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { localRawStore } from '#infra/stack/local-stage/clients.ts';
import { localResources, localStoreDir } from '#infra/stack/local-stage/resources.ts';
import { kafkaClient, unique } from '../support/clients.ts';
import { lambdaContext, stubLocalFunctionEnv, type HttpHandler } from '../support/lambda-events.ts';
import { pipelinePool } from '../support/pipeline-db.ts';

/**
 * The bad-input catalogue: one row per kind of bad request to the HTTP functions and the console's
 * API, each with the 4xx it must get and a fragment of a message a person can act on (it names the
 * field or the problem). After each, every store is as it was: nothing landed in the raw zone, no user
 * or outbox row was written or published, no record reached the users topic.
 *
 * The API key and the method of fetch, persist, publish and status are API Gateway's to check (their
 * `private: true` POST routes in serverless.yml): the handlers never see the key, nor a request
 * another route would take. tests/e2e/ingest.test.ts covers the key through `sls offline`; this file
 * holds what the functions themselves judge. The console's API judges its own methods (routes.ts).
 *
 * Some rows state answers the functions are being brought to: a text/plain body is a 415, malformed
 * JSON and an empty body each say which they are (not one "the body must be a JSON object"), and a
 * persist key with `..` is refused before S3 is asked.
 */

type Target = 'fetch' | 'persist' | 'publish' | 'status' | 'console';

interface BadInput {
  readonly name: string;
  readonly target: Target;
  /** The raw body, as API Gateway hands it over (null: no body at all). */
  readonly body: string | null;
  /** The console's method and path below /console/api/, with its query. */
  readonly method?: string;
  readonly path?: string;
  readonly query?: Record<string, string>;
  readonly contentType?: string;
  readonly status: number;
  readonly message: RegExp;
}

const json = JSON.stringify;
const tenKb = 'a'.repeat(10_240);

/** Objects this file puts in the raw zone before the catalogue runs: a non-batch, and a non-JSON. */
const prefix = `raw/itest-bad-input/${unique('bad')}`;
const notABatchKey = `${prefix}/not-a-batch.json`;
const notJsonKey = `${prefix}/not-json.json`;

const cases: readonly BadInput[] = [
  // The body itself.
  { name: 'malformed JSON', target: 'fetch', body: '{"count": ', status: 400, message: /not valid JSON/i },
  { name: 'an empty body', target: 'fetch', body: '', status: 400, message: /empty/i },
  { name: 'no body at all', target: 'persist', body: null, status: 400, message: /empty/i },
  { name: 'JSON null', target: 'fetch', body: 'null', status: 400, message: /null/i },
  { name: 'an array body', target: 'fetch', body: json([{ count: 1 }]), status: 400, message: /array/ },
  { name: 'a string body', target: 'status', body: json('abc'), status: 400, message: /string/ },
  {
    name: 'text/plain content type',
    target: 'status',
    body: json({ batchId: 'f'.repeat(32) }),
    contentType: 'text/plain',
    status: 415,
    message: /content-type/i,
  },
  {
    name: 'an oversized body (6 MB seed)',
    target: 'fetch',
    body: json({ count: 1, seed: 'a'.repeat(6 * 1024 * 1024) }),
    status: 400,
    message: /seed must be 1 to 64 letters/,
  },
  // fetch's count.
  {
    name: 'count 0',
    target: 'fetch',
    body: json({ count: 0 }),
    status: 400,
    message: /count must be at least 1/,
  },
  {
    name: 'count -1',
    target: 'fetch',
    body: json({ count: -1 }),
    status: 400,
    message: /count must be at least 1/,
  },
  {
    name: 'count 1.5',
    target: 'fetch',
    body: json({ count: 1.5 }),
    status: 400,
    message: /count must be a whole number/,
  },
  {
    name: 'count "10" (a string)',
    target: 'fetch',
    body: json({ count: '10' }),
    status: 400,
    message: /count: .*expected number, received string/,
  },
  {
    name: 'count 10^9',
    target: 'fetch',
    body: json({ count: 1e9 }),
    status: 400,
    message: /count must be at most 100000, not 1000000000/,
  },
  { name: 'no count', target: 'fetch', body: json({ seed: 'abc' }), status: 400, message: /count: / },
  {
    name: 'page 0',
    target: 'fetch',
    body: json({ count: 1, page: 0 }),
    status: 400,
    message: /page must be at least 1/,
  },
  {
    name: 'page 10001',
    target: 'fetch',
    body: json({ count: 1, page: 10_001 }),
    status: 400,
    message: /page must be at most 10000/,
  },
  {
    name: 'count 1e400 (Infinity)',
    target: 'fetch',
    body: '{"count": 1e400}',
    status: 400,
    message: /count: /,
  },
  {
    name: 'an unknown field',
    target: 'fetch',
    body: json({ count: 1, pages: 2 }),
    status: 400,
    message: /Unrecognized key: "pages"/,
  },
  // fetch's seed and nationalities.
  {
    name: 'a seed with SQL',
    target: 'fetch',
    body: json({ count: 1, seed: "x'; DROP TABLE users;--" }),
    status: 400,
    message: /seed must be 1 to 64 letters, digits, _ or -/,
  },
  {
    name: 'a seed with path characters',
    target: 'fetch',
    body: json({ count: 1, seed: '../../etc/passwd' }),
    status: 400,
    message: /seed must be 1 to 64 letters/,
  },
  {
    name: 'a 10 KB seed',
    target: 'fetch',
    body: json({ count: 1, seed: tenKb }),
    status: 400,
    message: /seed must be 1 to 64 letters/,
  },
  {
    name: 'a seed with NUL',
    target: 'fetch',
    body: json({ count: 1, seed: 'ab\u0000cd' }),
    status: 400,
    message: /seed must be 1 to 64 letters/,
  },
  {
    name: 'a seed with a lone surrogate',
    target: 'fetch',
    body: json({ count: 1, seed: 'ab\ud800' }),
    status: 400,
    message: /seed must be 1 to 64 letters/,
  },
  {
    name: 'a seed with a zero-width space',
    target: 'fetch',
    body: json({ count: 1, seed: 'ab\u200bcd' }),
    status: 400,
    message: /seed must be 1 to 64 letters/,
  },
  {
    name: 'an unknown nationality',
    target: 'fetch',
    body: json({ count: 1, nat: 'GB,XX' }),
    status: 400,
    message: /unknown nationality XX; known: /,
  },
  {
    name: 'a nationality with an RTL override',
    target: 'fetch',
    body: json({ count: 1, nat: '\u202eGB' }),
    status: 400,
    message: /unknown nationality \u202eGB/,
  },
  {
    name: 'a nationality with a zero-width joiner',
    target: 'fetch',
    body: json({ count: 1, nat: ['G\u200dB'] }),
    status: 400,
    message: /unknown nationality/,
  },
  {
    name: 'no nationality',
    target: 'fetch',
    body: json({ count: 1, nat: '' }),
    status: 400,
    message: /nat must name/,
  },
  {
    name: 'a nationality with a lone surrogate',
    target: 'fetch',
    body: json({ count: 1, nat: 'G\udc00' }),
    status: 400,
    message: /unknown nationality/,
  },
  // persist's key.
  {
    name: 'an unknown batch key',
    target: 'persist',
    body: json({ key: 'raw/date=2000-01-01/batch=none.json' }),
    status: 404,
    message: /no batch at raw\/date=2000-01-01\/batch=none\.json/,
  },
  {
    name: 'a key with ../',
    target: 'persist',
    body: json({ key: 'raw/../secrets/batch.json' }),
    status: 400,
    message: /\.\./,
  },
  {
    name: 'a key outside the raw zone',
    target: 'persist',
    body: json({ key: 'elsewhere/batch.json' }),
    status: 400,
    message: /key must be a raw-zone key/,
  },
  {
    name: 'a key with NUL',
    target: 'persist',
    body: json({ key: 'raw/a\u0000b.json' }),
    status: 400,
    message: /key must be a raw-zone key/,
  },
  {
    name: 'a key longer than S3 allows',
    target: 'persist',
    body: json({ key: `raw/${tenKb}.json` }),
    status: 404,
    message: /no batch at raw\/a{100}/,
  },
  {
    name: 'a key with an RTL override',
    target: 'persist',
    body: json({ key: 'raw/\u202enosj.json' }),
    status: 400,
    message: /key must be a raw-zone key/,
  },
  {
    name: 'a key with percent-encoded dots',
    target: 'persist',
    body: json({ key: 'raw/%2e%2e/batch.json' }),
    status: 400,
    message: /key must be a raw-zone key/,
  },
  {
    name: 'a non-batch object',
    target: 'persist',
    body: json({ key: notABatchKey }),
    status: 422,
    message: /is not a raw batch \(format: /,
  },
  {
    name: 'an object that is not JSON',
    target: 'persist',
    body: json({ key: notJsonKey }),
    status: 422,
    message: /is not JSON, so not a batch/,
  },
  {
    name: 'a key that is a number',
    target: 'persist',
    body: json({ key: 5 }),
    status: 400,
    message: /key: .*expected string, received number/,
  },
  {
    name: 'an unknown persist field',
    target: 'persist',
    body: json({ key: 'raw/x.json', force: true }),
    status: 400,
    message: /Unrecognized key: "force"/,
  },
  // publish.
  {
    name: 'maxEvents 0',
    target: 'publish',
    body: json({ maxEvents: 0 }),
    status: 400,
    message: /maxEvents: .*>=1/,
  },
  {
    name: 'maxEvents 1.5',
    target: 'publish',
    body: json({ maxEvents: 1.5 }),
    status: 400,
    message: /maxEvents must be a whole number/,
  },
  {
    name: 'maxEvents "10" (a string)',
    target: 'publish',
    body: json({ maxEvents: '10' }),
    status: 400,
    message: /maxEvents: .*expected number, received string/,
  },
  {
    name: 'maxEvents 10^9',
    target: 'publish',
    body: json({ maxEvents: 1e9 }),
    status: 400,
    message: /maxEvents: .*<=10000000/,
  },
  {
    name: 'maxEvents and drain',
    target: 'publish',
    body: json({ maxEvents: 5, drain: true }),
    status: 400,
    message: /give either maxEvents or drain, not both/,
  },
  {
    name: 'drain "yes"',
    target: 'publish',
    body: json({ drain: 'yes' }),
    status: 400,
    message: /drain: .*expected boolean/,
  },
  { name: 'an array body to publish', target: 'publish', body: '[]', status: 400, message: /array/ },
  {
    name: 'an unknown publish field',
    target: 'publish',
    body: json({ topic: 'elsewhere' }),
    status: 400,
    message: /Unrecognized key: "topic"/,
  },
  {
    name: 'malformed JSON to publish',
    target: 'publish',
    body: '{drain: true}',
    status: 400,
    message: /not valid JSON/i,
  },
  { name: 'JSON null to publish', target: 'publish', body: 'null', status: 400, message: /null/i },
  // status.
  {
    name: 'an unknown batch id',
    target: 'status',
    body: json({ batchId: 'f'.repeat(32) }),
    status: 404,
    message: /no user of batch f{32} is in PostgreSQL: persist the batch's key first/,
  },
  {
    name: 'a batch id with ../',
    target: 'status',
    body: json({ batchId: '../../etc' }),
    status: 400,
    message: /batchId must be the id fetch answered/,
  },
  {
    name: 'a batch id with SQL',
    target: 'status',
    body: json({ batchId: "1' OR '1'='1" }),
    status: 400,
    message: /batchId must be the id fetch answered/,
  },
  {
    name: 'a batch id with NUL',
    target: 'status',
    body: json({ batchId: 'ab\u0000cd' }),
    status: 400,
    message: /batchId must be the id fetch answered/,
  },
  { name: 'no batch id', target: 'status', body: json({}), status: 400, message: /batchId: / },
  // The console's API.
  {
    name: 'POST on a GET endpoint',
    target: 'console',
    method: 'POST',
    path: 'snapshot',
    body: '{}',
    status: 400,
    message: /POST is not allowed on snapshot: use GET/,
  },
  {
    name: 'GET on replay',
    target: 'console',
    method: 'GET',
    path: 'dead-letters/replay',
    body: null,
    status: 400,
    message: /GET is not allowed on dead-letters\/replay: use POST/,
  },
  {
    name: 'replay with malformed JSON',
    target: 'console',
    method: 'POST',
    path: 'dead-letters/replay',
    body: '{"reason": ',
    status: 400,
    message: /not valid JSON/i,
  },
  {
    name: 'replay with no reason',
    target: 'console',
    method: 'POST',
    path: 'dead-letters/replay',
    body: '{}',
    status: 400,
    message: /reason: /,
  },
  {
    name: 'replay with a 10 KB reason',
    target: 'console',
    method: 'POST',
    path: 'dead-letters/replay',
    body: json({ reason: tenKb }),
    status: 400,
    message: /reason: .*<=1000/,
  },
  {
    name: 'replay with an unknown field',
    target: 'console',
    method: 'POST',
    path: 'dead-letters/replay',
    body: json({ reason: 'x', all: true }),
    status: 400,
    message: /Unrecognized key: "all"/,
  },
  {
    name: 'a run with no count',
    target: 'console',
    method: 'POST',
    path: 'airflow/runs',
    body: json({ seed: 'abc' }),
    status: 400,
    message: /count: /,
  },
  {
    name: 'a run with an unknown field',
    target: 'console',
    method: 'POST',
    path: 'airflow/runs',
    body: json({ count: 1, pages: 2 }),
    status: 400,
    message: /Unrecognized key: "pages"/,
  },
  {
    name: 'limit 0',
    target: 'console',
    method: 'GET',
    path: 'dead-letters',
    query: { limit: '0' },
    body: null,
    status: 400,
    message: /limit must be a whole number from 1 to 500/,
  },
  {
    name: 'limit 1.5',
    target: 'console',
    method: 'GET',
    path: 'dead-letters',
    query: { limit: '1.5' },
    body: null,
    status: 400,
    message: /limit must be a whole number from 1 to 500/,
  },
  {
    name: 'limit 10^9',
    target: 'console',
    method: 'GET',
    path: 'dead-letters',
    query: { limit: '1000000000' },
    body: null,
    status: 400,
    message: /limit must be a whole number from 1 to 500/,
  },
  {
    name: 'a trace of a non-UUID',
    target: 'console',
    method: 'GET',
    path: "trace/1'%20OR%201=1",
    body: null,
    status: 400,
    message: /a user key is a UUID/,
  },
  {
    name: 'a subject of ..',
    target: 'console',
    method: 'GET',
    path: 'schemas/%2E%2E/versions/1',
    body: null,
    status: 400,
    message: /not a subject name: "\.\."/,
  },
  {
    name: 'a subject with a slash',
    target: 'console',
    method: 'GET',
    path: 'schemas/a%2F..%2Fb/versions/1',
    body: null,
    status: 400,
    message: /not a subject name: "a\/\.\.\/b"/,
  },
  {
    name: 'an unknown subject',
    target: 'console',
    method: 'GET',
    path: 'schemas/no-such-subject/versions/1',
    body: null,
    status: 404,
    message: /the schema registry has no .*no-such-subject/,
  },
  {
    name: 'a subject with NUL',
    target: 'console',
    method: 'GET',
    path: 'schemas/a%00b/versions/1',
    body: null,
    status: 400,
    message: /not a subject name: "a\\u0000b"/,
  },
  {
    name: 'a subject with an RTL override',
    target: 'console',
    method: 'GET',
    path: `schemas/%E2%80%AE${localResources.usersSubject}/versions/1`,
    body: null,
    status: 404,
    message: /the schema registry has no/,
  },
  {
    name: 'schema version 10^9',
    target: 'console',
    method: 'GET',
    path: `schemas/${localResources.usersSubject}/versions/1000000000`,
    body: null,
    status: 404,
    message: /the schema registry has no/,
  },
  {
    name: 'schema version 0',
    target: 'console',
    method: 'GET',
    path: `schemas/${localResources.usersSubject}/versions/0`,
    body: null,
    status: 400,
    message: /a schema version is a whole number from 1/,
  },
  {
    name: 'a trace of a UUID with a zero-width space',
    target: 'console',
    method: 'GET',
    path: 'trace/00000000-0000-4000-8000-%E2%80%8B00000000000',
    body: null,
    status: 400,
    message: /a user key is a UUID/,
  },
  {
    name: 'broken percent-encoding',
    target: 'console',
    method: 'GET',
    path: 'trace/%E0%A4%A',
    body: null,
    status: 400,
    message: /not valid percent-encoding/,
  },
  {
    name: 'an unknown endpoint',
    target: 'console',
    method: 'GET',
    path: '../../health',
    body: null,
    status: 404,
    message: /no console endpoint GET/,
  },
];

/** What the stores hold that a request could have added to. */
interface StoreState {
  readonly rawObjects: readonly string[];
  readonly users: number;
  readonly outbox: number;
  readonly published: number;
  readonly topicEnds: Readonly<Record<number, string>>;
}

describe('the bad-input catalogue, in-process against the local stack', () => {
  const handlers = {} as Record<Target, HttpHandler>;
  const pool = pipelinePool();
  // The raw zone as the local stage's functions keep it: the local store's folder.
  const rawZone = localRawStore();
  const rawFile = (key: string): string => path.join(localStoreDir, localResources.rawBucket, key);
  let admin: Admin;

  const rawObjects = async (): Promise<string[]> => {
    const { objects } = await rawZone.list('', Number.POSITIVE_INFINITY);
    return objects.map((o) => `${o.key} ${o.version}`).sort();
  };

  const storeState = async (): Promise<StoreState> => {
    const [objects, { rows }, offsets] = await Promise.all([
      rawObjects(),
      pool.query<{ users: number; outbox: number; published: number }>(
        `SELECT (SELECT count(*)::int FROM users) AS users,
                o.outbox, o.published
           FROM (SELECT count(*)::int AS outbox, count(published_at)::int AS published FROM outbox) o`,
      ),
      admin.fetchTopicOffsets(localResources.usersTopic),
    ]);
    return {
      rawObjects: objects,
      users: rows[0]?.users ?? -1,
      outbox: rows[0]?.outbox ?? -1,
      published: rows[0]?.published ?? -1,
      topicEnds: Object.fromEntries(offsets.map((o) => [o.partition, o.high])),
    };
  };

  const eventOf = (c: BadInput): APIGatewayProxyEvent => {
    const headers = { 'content-type': c.contentType ?? 'application/json' };
    const common = { headers, body: c.body, requestContext: { requestId: 'itest-bad-input' } };
    if (c.target !== 'console')
      return { ...common, httpMethod: 'POST', path: `/${c.target}`, resource: `/${c.target}` } as never;
    return {
      ...common,
      httpMethod: c.method ?? 'GET',
      path: `/console/api/${c.path ?? ''}`,
      resource: '/console/api/{proxy+}',
      queryStringParameters: c.query ?? null,
    } as never;
  };

  beforeAll(async () => {
    stubLocalFunctionEnv(['fetch', 'persist', 'publish', 'status', 'console']);
    handlers.fetch = (await import('#functions/fetch/handler.ts')).handler;
    handlers.persist = (await import('#functions/persist/handler.ts')).handler;
    handlers.publish = (await import('#functions/publish/handler.ts')).handler;
    handlers.status = (await import('#functions/status/handler.ts')).handler;
    handlers.console = (await import('#functions/console/handler.ts')).handler;
    admin = kafkaClient('itest-bad-input').admin();
    await admin.connect();
    await rawZone.put(notABatchKey, { hello: 'world' });
    // Not JSON, which the store itself never writes: put there by hand.
    await rawZone.put(notJsonKey, null);
    await writeFile(rawFile(notJsonKey), 'not json at all');
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    for (const key of [notABatchKey, notJsonKey])
      for (const file of [rawFile(key), `${rawFile(key)}.metadata.json`]) await rm(file, { force: true });
    await admin.disconnect();
    await pool.end();
  });

  it('holds at least 20 kinds of bad input, each named once', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  // The stores are shared with whatever else runs on the stack: a case whose stores moved is tried
  // again. A handler that writes on a bad input writes on every try, and answers it with a 2xx.
  it.each(cases)('$target: $name → $status', async (c) => {
    let before: StoreState | undefined;
    let after: StoreState | undefined;
    let moved = true;
    for (let attempt = 1; moved && attempt <= 5; attempt++) {
      before = await storeState();
      const answer = await handlers[c.target](eventOf(c), lambdaContext());
      after = await storeState();
      const { message = '' } = JSON.parse(answer.body) as { message?: string };
      expect(answer.statusCode, message.slice(0, 300)).toBe(c.status);
      expect(message.slice(0, 2000)).toMatch(c.message);
      moved = JSON.stringify(after) !== JSON.stringify(before);
    }
    expect(after).toEqual(before);
  });
});
