import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { localApiKey } from '#infra/stack/local-stage/resources.ts';
import { localResources } from '#infra/stack/local-stage/resources.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import { waitUntil } from '#infra/stack/lib/wait.ts';
import { cassandraClient, kafkaClient, unique } from '../support/clients.ts';
import { startOffline, type Offline } from '#scripts/offline.ts';
import { pipelineClient } from '#scripts/http-client.ts';
import { receiveDeadLetters, skipSinkBacklog, waitForCassandra } from '../support/stream-waits.ts';
import { pipelinePool } from '../support/pipeline-db.ts';
import { cassandraChecksum, postgresChecksum } from '#scripts/user-checksums.ts';
import { readTopicBetween, topicEnds } from '../support/stream.ts';
import { userEvent } from '../fixtures/kafka-events.ts';

const ports = { http: 3020, lambda: 3022 };

/**
 * The whole flow over HTTP through `sls offline`, with the project's Kafka trigger running the sink:
 * fetch → persist → publish as Airflow calls them, and Cassandra filling by itself.
 */
describe('the stream, end to end through sls offline and its Kafka trigger', () => {
  let offline: Offline;
  let api: ReturnType<typeof pipelineClient>;
  let apiKey: string;
  const pool = pipelinePool();
  const cassandra = cassandraClient();
  const kafka = kafkaClient('stream-e2e');

  beforeAll(async () => {
    apiKey = await localApiKey();
    await skipSinkBacklog();
    offline = await startOffline(ports);
    api = pipelineClient(offline.baseUrl, apiKey);
  });

  afterAll(async () => {
    await offline.stop();
    await pool.end();
    await cassandra.shutdown();
  });

  it('lands 20,000 fetched users in Cassandra with the content PostgreSQL holds; the same run again changes nothing', async () => {
    const seed = unique('stream');
    const fetched = await api.fetch(20_000, seed);
    await api.persist(String(fetched['key']));
    await api.drain();

    const pg = await postgresChecksum(pool, seed);
    expect(pg.count).toBe(20_000);
    expect(await waitForCassandra(cassandra, pg.keys)).toEqual({ count: 20_000, checksum: pg.checksum });

    // The whole flow again with the same seed: no new event, no count or checksum moves.
    const again = await api.fetch(20_000, seed);
    expect(again['batchId']).toBe(fetched['batchId']);
    const persisted = await api.persist(String(again['key']));
    expect(persisted).toMatchObject({ inserted: 0, updated: 0, unchanged: 20_000, queued: 0 });
    await api.drain();
    const pgAgain = await postgresChecksum(pool, seed);
    expect({ count: pgAgain.count, checksum: pgAgain.checksum }).toEqual({
      count: pg.count,
      checksum: pg.checksum,
    });
    expect(await cassandraChecksum(cassandra, localResources.keyspace, pg.keys)).toEqual({
      count: 20_000,
      checksum: pg.checksum,
    });
  });

  it('sends poison records produced straight into the topic to the DLQ with their reasons, and lands the rest', async () => {
    const registry = new SchemaRegistry({ host: endpoints.registry.url });
    const schemaId = await registry.getLatestSchemaId(localResources.usersSubject);
    const good = userEvent({ user_key: crypto.randomUUID() });
    const marker = unique('poison');
    const unknownSchema = Buffer.from(await registry.encode(schemaId, userEvent()));
    unknownSchema.writeInt32BE(2_000_000_000, 1);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      await producer.send({
        topic: localResources.usersTopic,
        acks: -1,
        messages: [
          { key: `${marker}-json`, value: '{"first_name": "not avro"}' },
          { key: `${marker}-unknown-schema`, value: unknownSchema },
          {
            key: `${marker}-truncated`,
            value: (await registry.encode(schemaId, userEvent())).subarray(0, 30),
          },
          { key: good.user_key, value: await registry.encode(schemaId, good) },
        ],
      });
    } finally {
      await producer.disconnect();
    }
    const keyOf = (key: string | null) => Buffer.from(key ?? '', 'base64').toString();
    const letters = await receiveDeadLetters((l) => keyOf(l.key).startsWith(marker), 3);
    const reasons = Object.fromEntries(letters.map((l) => [keyOf(l.key).slice(marker.length + 1), l.reason]));
    expect(reasons).toEqual({
      json: 'undecodable: not in the Confluent wire format (magic byte 0 + schema id)',
      'unknown-schema': 'unknown schema id 2000000000',
      truncated: expect.stringMatching(/^undecodable: invalid Avro for schema \d+/) as unknown,
    });
    for (const letter of letters) {
      expect(letter.topic).toBe(localResources.usersTopic);
      expect(letter.offset).toBeGreaterThanOrEqual(0);
      expect(letter.value).not.toBeNull();
    }
    expect(await waitForCassandra(cassandra, [good.user_key], 60_000)).toMatchObject({ count: 1 });
  });

  /**
   * At least once, so what can be checked is where a copy would matter: publish sent each user's
   * event to the topic once (every user key exactly once in what the drain wrote), and Cassandra
   * holds every user at PostgreSQL's version and content (the checksum covers the version). What the
   * trigger had in flight at the kill it delivers again after the restart: the same user key at the
   * same version written twice is harmless, and this test does not count it.
   */
  it('loses nothing when sls offline is killed with -9 in the middle of the stream: each user once in the topic, in Cassandra at its version', async () => {
    const seed = unique('stream-kill');
    const fetched = await api.fetch(20_000, seed);
    await api.persist(String(fetched['key']));
    const outputBefore = offline.output().length;
    const from = await topicEnds(kafka, localResources.usersTopic);
    await api.drain();
    const to = await topicEnds(kafka, localResources.usersTopic);
    // Kill as soon as the trigger has delivered one batch, while the rest is in flight or queued.
    const delivering = await waitUntil(
      () => Promise.resolve(offline.output().slice(outputBefore).includes('(λ: sink) RequestId')),
      { timeoutMs: 60_000, intervalMs: 50 },
    );
    expect(delivering.ok).toBe(true);
    await offline.kill();
    const pg = await postgresChecksum(pool, seed);
    const landedBeforeRestart = (await cassandraChecksum(cassandra, localResources.keyspace, pg.keys)).count;
    expect(landedBeforeRestart).toBeLessThan(20_000);

    offline = await startOffline(ports);
    api = pipelineClient(offline.baseUrl, apiKey);
    expect(await waitForCassandra(cassandra, pg.keys)).toEqual({ count: 20_000, checksum: pg.checksum });

    const wanted = new Set(pg.keys);
    const records = await readTopicBetween(kafka, localResources.usersTopic, from, to, (m) =>
      wanted.has(String(m.key)),
    );
    const perKey = new Map<string, number>();
    for (const record of records) perKey.set(String(record.key), (perKey.get(String(record.key)) ?? 0) + 1);
    expect(perKey.size).toBe(20_000);
    expect([...perKey.values()].filter((count) => count > 1)).toEqual([]);
  });
});
