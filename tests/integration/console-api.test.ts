import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DeadLetters, Schemas, SchemaVersion, Snapshot, Trace } from '#functions/console/api.ts';
import { deadLetterOf, sendDeadLetters } from '#functions/sink/dead-letter.ts';
import { localQueue } from '#infra/stack/local-stage/clients.ts';
import { localResources } from '#infra/stack/local-stage/resources.ts';
import { up } from '#infra/stack/stack.ts';
import { kafkaRecord } from '../fixtures/kafka-events.ts';
import { unique } from '../support/clients.ts';
import {
  apiGatewayPost,
  lambdaContext,
  stubLocalFunctionEnv,
  type HttpHandler,
} from '../support/lambda-events.ts';
import { pipelinePool } from '../support/pipeline-db.ts';

/** A request to the console function as API Gateway's proxy integration sends it. */
const consoleEvent = (
  method: string,
  path: string,
  query: Record<string, string> = {},
  body: string | null = null,
): APIGatewayProxyEvent =>
  ({
    httpMethod: method,
    path: path === '' ? '/console' : `/console/${path}`,
    // The route serverless.yml gives the request, as API Gateway names it.
    resource: path.startsWith('api/')
      ? '/console/api/{proxy+}'
      : path === ''
        ? '/console'
        : '/console/{proxy+}',
    // As the page sends it: a body as application/json, a GET without a content type.
    headers: body === null ? {} : { 'content-type': 'application/json' },
    queryStringParameters: query,
    body,
    requestContext: { requestId: 'itest-console' },
  }) as unknown as APIGatewayProxyEvent;

/**
 * The console's API in-process, against the real stack: its answers equal what the stores hold. No
 * sink runs in this project (no `sls offline`), so published users wait in the topic: the sink's
 * consumer group shows them as lag.
 */
describe('the console API, in-process against the local stack', () => {
  let consoleHandler: HttpHandler;
  let fetchHandler: HttpHandler;
  let persistHandler: HttpHandler;
  let publishHandler: HttpHandler;
  const pool = pipelinePool();

  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the answer's type (api.ts)
  const api = async <T>(
    method: string,
    path: string,
    query: Record<string, string> = {},
    body: string | null = null,
  ): Promise<{ status: number; body: T }> => {
    const answer = await consoleHandler(consoleEvent(method, `api/${path}`, query, body), lambdaContext());
    return { status: answer.statusCode, body: JSON.parse(answer.body) as T };
  };

  beforeAll(async () => {
    // The integration suite's stack is the pipeline's services; the Airflow panel needs Airflow too.
    await up(['airflow']);
    stubLocalFunctionEnv(['fetch', 'persist', 'publish', 'console']);
    consoleHandler = (await import('#functions/console/handler.ts')).handler;
    fetchHandler = (await import('#functions/fetch/handler.ts')).handler;
    persistHandler = (await import('#functions/persist/handler.ts')).handler;
    publishHandler = (await import('#functions/publish/handler.ts')).handler;
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await pool.end();
  });

  it('counts an ingest in every store, shows the unconsumed events as the sink group lag, and traces a user', async () => {
    const before = (await api<Snapshot>('GET', 'snapshot')).body;
    const seed = unique('console');
    const fetched = await fetchHandler(apiGatewayPost(JSON.stringify({ count: 120, seed })), lambdaContext());
    const { key, batchId } = JSON.parse(fetched.body) as { key: string; batchId: string };
    expect((await persistHandler(apiGatewayPost(JSON.stringify({ key })), lambdaContext())).statusCode).toBe(
      200,
    );
    expect((await publishHandler(apiGatewayPost('{}'), lambdaContext())).statusCode).toBe(200);

    const { status, body: after } = await api<Snapshot>('GET', 'snapshot');
    expect(status).toBe(200);
    // Every part read: the stack is whole.
    for (const part of [
      'raw',
      'postgres',
      'topic',
      'batches',
      'freshness',
      'aggregates',
      'deadLetters',
      'failedBatches',
    ] as const)
      expect(after[part], part).toMatchObject({ ok: true });
    expect(after.services.filter((s) => !s.up)).toEqual([]);
    if (!after.raw.ok || !after.postgres.ok || !after.topic.ok || !after.batches.ok)
      throw new Error('unread');
    expect(after.raw.data.latest[0]).toMatchObject({ key, users: 120 });

    const { rows } = await pool.query<{ users: number; backlog: number }>(
      `SELECT (SELECT count(*)::int FROM users) AS users,
              (SELECT count(*)::int FROM outbox WHERE published_at IS NULL) AS backlog`,
    );
    expect(after.postgres.data.outboxBacklog).toBe(rows[0]?.backlog);
    // The users count is PostgreSQL's live-row statistic: it catches up within seconds of a commit.
    await expect
      .poll(
        async () => {
          const snapshot = (await api<Snapshot>('GET', 'snapshot')).body;
          return snapshot.postgres.ok ? snapshot.postgres.data.users : undefined;
        },
        { timeout: 20_000, interval: 1000 },
      )
      .toBe(rows[0]?.users);

    expect(after.batches.data[0]).toEqual({
      batchId,
      at: expect.any(String) as unknown,
      postgres: 120,
      published: 120,
      cassandra: 0,
      aggregates: null,
      complete: false,
      stoppedAt: 'kafka-or-sink',
    });
    const sinkLag = (snapshot: Snapshot) =>
      snapshot.topic.ok ? (snapshot.topic.data.groups.find((g) => g.label === 'sink')?.lag ?? 0) : 0;
    const records = (snapshot: Snapshot) => (snapshot.topic.ok ? snapshot.topic.data.records : 0);
    expect(records(after) - records(before)).toBeGreaterThanOrEqual(120);
    expect(sinkLag(after) - sinkLag(before)).toBeGreaterThanOrEqual(120);
    expect(after.topic.data.partitions.length).toBeGreaterThan(0);

    const { rows: someone } = await pool.query<{ user_key: string; email: string }>(
      'SELECT user_key::text, email FROM users WHERE batch_id = $1 LIMIT 1',
      [batchId],
    );
    const user = someone[0];
    if (user === undefined) throw new Error('no user of the batch');
    const trace = (await api<Trace>('GET', `trace/${user.user_key}`)).body;
    expect(trace.postgres).toMatchObject({ ok: true, data: { version: 1, batchId } });
    expect(trace.postgres.ok && trace.postgres.data?.email).not.toBe(user.email);
    expect(trace.raw).toMatchObject({ ok: true, data: { key, exists: true } });
    expect(trace.outbox).toMatchObject({
      ok: true,
      data: [{ version: 1, publishedAt: expect.any(String) as unknown }],
    });
    expect(trace.kafka).toMatchObject({ ok: true, data: { partition: expect.any(Number) as unknown } });
    expect(trace.cassandra).toMatchObject({ ok: true, data: null });
    const revealed = (await api<Trace>('GET', `trace/${user.user_key}`, { reveal: '1' })).body;
    expect(revealed.postgres.ok && revealed.postgres.data?.email).toBe(user.email);
  });

  it('lists a planted poison letter under its reason, and counts it in the queue depth', async () => {
    const before = (await api<Snapshot>('GET', 'snapshot')).body;
    const reason = unique('undecodable: planted by the console test');
    const poisonKey = unique('poison-key');
    await sendDeadLetters(localQueue(localResources.deadLetterQueue), [
      deadLetterOf(
        kafkaRecord({ key: poisonKey, value: Buffer.from('not avro'), offset: 7 }),
        reason,
        new Date(),
      ),
    ]);
    const after = (await api<Snapshot>('GET', 'snapshot')).body;
    const depth = (s: Snapshot) =>
      s.deadLetters.ok ? s.deadLetters.data.visible + s.deadLetters.data.inFlight : 0;
    expect(depth(after) - depth(before)).toBe(1);
    const letters = (await api<DeadLetters>('GET', 'dead-letters', { limit: '500' })).body;
    expect(letters.byReason).toContainEqual({ reason, count: 1 });
    expect(letters.latest.find((l) => l.reason === reason)).toMatchObject({ key: poisonKey, offset: 7 });
  });

  it('shows the registry subjects with their versions and compatibility, and one version parsed', async () => {
    const { subjects } = (await api<Schemas>('GET', 'schemas')).body;
    const users = subjects.find((s) => s.subject === localResources.usersSubject);
    expect(users?.versions.length).toBeGreaterThan(0);
    expect(users?.compatibility).toMatch(/^[A-Z_]+$/);
    const version = (await api<SchemaVersion>('GET', `schemas/${localResources.usersSubject}/versions/1`))
      .body;
    expect(version).toMatchObject({
      subject: localResources.usersSubject,
      version: 1,
      schema: { type: 'record' },
    });
  });

  it("lists the DAG's runs, and relays Airflow's own refusal of a bad trigger as a 400", async () => {
    const runs = await api<{ dagId: string; runs: unknown[] }>('GET', 'airflow/runs');
    expect(runs.status).toBe(200);
    expect(runs.body.dagId).toBe('users_pipeline');
    const refused = await api<{ message: string }>('POST', 'airflow/runs', {}, JSON.stringify({ count: 0 }));
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/Airflow refused the run: .*count/);
  });

  it('answers bad requests with a message a person can act on', async () => {
    expect(await api('GET', 'trace/not-a-key')).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/UUID/) as unknown },
    });
    expect(await api('GET', 'nothing-here')).toMatchObject({ status: 404 });
    expect(await api('POST', 'snapshot')).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/use GET/) as unknown },
    });
    expect(await api('GET', 'dead-letters', { limit: '0' })).toMatchObject({ status: 400 });
    expect(await api('POST', 'dead-letters/replay', {}, '{"reason": ""}')).toMatchObject({ status: 400 });
    expect(await api('POST', 'airflow/runs', {}, 'not json')).toMatchObject({ status: 400 });
  });

  it('serves the page without data at /console, redirecting to its entry', async () => {
    const entry = await consoleHandler(consoleEvent('GET', ''), lambdaContext());
    expect(entry).toMatchObject({ statusCode: 302, headers: { location: 'console/index.html' } });
    const page = await consoleHandler(consoleEvent('GET', 'index.html'), lambdaContext());
    expect(page.statusCode).toBe(200);
    expect(page.headers?.['content-type']).toMatch(/text\/html/);
    expect(page.headers?.['content-security-policy']).toMatch(/script-src 'self' 'sha256-[^']+'/);
    const missing = await consoleHandler(consoleEvent('GET', 'assets/none.js'), lambdaContext());
    expect(missing.statusCode).toBe(404);
    // The API answers only on its own route (behind the key), never on the page's public one.
    const sneaked = await consoleHandler(
      { ...consoleEvent('GET', 'api/snapshot'), resource: '/console/{proxy+}' },
      lambdaContext(),
    );
    expect(sneaked.statusCode).toBe(404);
  });
});
