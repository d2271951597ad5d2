import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { SinkBatchResult } from '#functions/sink/sink-batch.ts';
import type { KafkaRecord } from '#functions/sink/kafka-event.ts';
import { localQueue } from '#infra/stack/local-stage/clients.ts';
import { localQueueUrl, localResources, localStoreDir } from '#infra/stack/local-stage/resources.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import { cassandraClient, unique } from '../support/clients.ts';
import { stubLocalFunctionEnv } from '../support/lambda-events.ts';
import { pipelinePool } from '../support/pipeline-db.ts';
import { cassandraChecksum, postgresChecksum } from '#scripts/user-checksums.ts';
import { generatedBatch } from '../support/stream.ts';
import { normalizeBatch } from '#functions/persist/normalize.ts';
import { writeUsers } from '#functions/persist/user-store.ts';
import { kafkaRecord, mskEvent, userEvent } from '../fixtures/kafka-events.ts';
import type { UserEvent } from '#lib/user-event.ts';
import { eventOf, USER_EVENT_COLUMNS, type UserEventRow } from '#functions/publish/outbox-store.ts';

type Sink = (event: unknown, context: Context) => Promise<SinkBatchResult>;

const context = { awsRequestId: 'itest-sink', functionName: 'sink' } as unknown as Context;
const registry = new SchemaRegistry({ host: endpoints.registry.url });
const cassandra = cassandraClient();
const pool = pipelinePool();

/** The sink handler as a fresh container would load it, with the environment serverless.yml gives it. */
async function loadSink(overrides: Record<string, string> = {}): Promise<Sink> {
  vi.resetModules();
  stubLocalFunctionEnv('sink', { DEAD_LETTER_QUEUE_URL: deadLetterQueueUrl, ...overrides });
  return (await import('#functions/sink/handler.ts')).handler;
}

/** A dead-letter queue of the test's own, in the local store as the local stage keeps them. */
let deadLetterQueue = '';
let deadLetterQueueUrl = '';
let schemaId = 0;

/** The users of a generated batch as the events publish would send, and their PostgreSQL rows. */
async function persistedEvents(seed: string, count: number): Promise<UserEvent[]> {
  const rows = normalizeBatch(generatedBatch(seed, count));
  await writeUsers(pool, rows);
  const { rows: users } = await pool.query<{ user_key: string }>(
    'SELECT user_key FROM users WHERE source_seed = $1',
    [seed],
  );
  expect(users).toHaveLength(count);
  const pg = await postgresChecksum(pool, seed);
  expect(pg.count).toBe(count);
  // The events as publish builds them: its columns and its row mapping.
  const { rows: events } = await pool.query<UserEventRow>(
    `SELECT ${USER_EVENT_COLUMNS} FROM outbox o JOIN users u ON u.user_key = o.user_key
      WHERE u.source_seed = $1`,
    [seed],
  );
  return events.map(eventOf);
}

/** Records of the events, encoded through the registry, spread over three partitions. */
async function recordsOf(events: UserEvent[], firstOffset = 0): Promise<KafkaRecord[]> {
  return Promise.all(
    events.map(async (event, i) =>
      kafkaRecord({
        key: event.user_key,
        value: await registry.encode(schemaId, event),
        partition: i % 3,
        offset: firstOffset + i,
      }),
    ),
  );
}

async function deadLetters(): Promise<
  { reason: string; offset: number; partition: number; value: string | null }[]
> {
  const letters: { reason: string; offset: number; partition: number; value: string | null }[] = [];
  for (const message of await localQueue(deadLetterQueue).receive(Number.POSITIVE_INFINITY, 0)) {
    letters.push(JSON.parse(message.body) as (typeof letters)[number]);
  }
  return letters.sort((a, b) => a.offset - b.offset);
}

describe('sink, in-process against the registry, Cassandra and the dead-letter queue', () => {
  beforeAll(async () => {
    schemaId = await registry.getLatestSchemaId(localResources.usersSubject);
  });

  beforeEach(() => {
    deadLetterQueue = unique('sink-dlq');
    deadLetterQueueUrl = localQueueUrl(deadLetterQueue);
  });

  afterEach(async () => {
    await rm(path.join(localStoreDir, deadLetterQueue), { recursive: true, force: true });
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await cassandra.shutdown();
    await pool.end();
  });

  it('lands a batch so that Cassandra holds the same users as PostgreSQL, by checksum', async () => {
    const seed = unique('sink');
    const events = await persistedEvents(seed, 1500);
    const sink = await loadSink();
    const result = await sink(mskEvent(await recordsOf(events)), context);
    expect(result).toEqual({ records: 1500, written: 1500, deadLettered: 0, skipped: 0 });
    const pg = await postgresChecksum(pool, seed);
    expect(await cassandraChecksum(cassandra, localResources.keyspace, pg.keys)).toEqual({
      count: pg.count,
      checksum: pg.checksum,
    });
    expect(await deadLetters()).toEqual([]);
  });

  it('never lets a late or replayed older version overwrite a newer one', async () => {
    const sink = await loadSink();
    const key = '6f1d2c3b-4a5e-5f60-8172-93a4b5c6d7e8';
    const v1 = userEvent({ user_key: key, version: 1, city: 'Older' });
    // persist gives each version a later updated_at, which is the write time.
    const v2 = userEvent({
      user_key: key,
      version: 2,
      city: 'Newer',
      event_type: 'user.updated',
      updated_at: v1.updated_at + 1,
    });
    await sink(mskEvent(await recordsOf([v2])), context);
    await sink(mskEvent(await recordsOf([v1])), context);
    const { rows } = await cassandra.execute(
      `SELECT city, version, writetime(city) AS written FROM ${localResources.keyspace}.users WHERE user_key = ?`,
      [key],
      { prepare: true },
    );
    expect(rows[0]?.['city']).toBe('Newer');
    expect(rows[0]?.['version']).toBe(2);
    expect(String(rows[0]?.['written'])).toBe(String(v2.updated_at * 1000));
  });

  it('dead-letters poison records with topic, partition, offset, reason and original bytes, and lands the rest', async () => {
    const sink = await loadSink();
    const good = await recordsOf([userEvent({ user_key: 'a3c1d2e4-0b5f-5a6b-9c7d-8e9f0a1b2c3d' })], 0);
    const unknownId = Buffer.from(await registry.encode(schemaId, userEvent()));
    unknownId.writeInt32BE(987_654, 1);
    const poison = [
      kafkaRecord({ key: 'p1', value: Buffer.from('not avro at all'), offset: 101 }),
      kafkaRecord({ key: 'p2', value: unknownId, offset: 102 }),
      kafkaRecord({
        key: null,
        value: Buffer.from(await registry.encode(schemaId, userEvent())),
        offset: 103,
      }),
    ];
    const result = await sink(mskEvent([...good, ...poison]), context);
    expect(result).toEqual({ records: 4, written: 1, deadLettered: 3, skipped: 0 });
    const letters = await deadLetters();
    expect(letters.map((l) => [l.partition, l.offset, l.reason])).toEqual([
      [0, 101, 'undecodable: not in the Confluent wire format (magic byte 0 + schema id)'],
      [0, 102, 'unknown schema id 987654'],
      [0, 103, 'missing key'],
    ]);
    expect(Buffer.from(letters[0]?.value ?? '', 'base64').toString()).toBe('not avro at all');
  });

  it('rejects the batch, dead-lettering nothing, when Cassandra or the registry is unreachable', async () => {
    const records = await recordsOf([userEvent({ user_key: 'b4d2e3f5-1c6a-5b7c-8d9e-0f1a2b3c4d5e' })]);
    const noCassandra = await loadSink({ CASSANDRA_CONTACT_POINTS: '127.0.0.2' });
    // Errors are compared by kind: each load is a fresh module graph, with its own error classes.
    await expect(noCassandra(mskEvent(records), context)).rejects.toMatchObject({
      kind: 'transient',
      message: 'Cassandra is unavailable',
    });
    const noRegistry = await loadSink({ SCHEMA_REGISTRY_URL: 'http://127.0.0.1:9/apis/ccompat/v7' });
    await expect(noRegistry(mskEvent(records), context)).rejects.toMatchObject({
      kind: 'transient',
      message: expect.stringContaining('the schema registry could not serve schema') as unknown,
    });
    expect(await deadLetters()).toEqual([]);
  });
});
