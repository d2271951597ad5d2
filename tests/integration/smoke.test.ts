import { randomUUID } from 'node:crypto';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { describe, expect, it } from 'vitest';
import { endpoints } from '#infra/stack/endpoints.ts';
import { roundTripThroughAws } from '../support/aws-round-trip.ts';
import {
  cassandraClient,
  createTopic,
  kafkaClient,
  pipelineDb,
  produce,
  unique,
} from '../support/clients.ts';

/** Each service of the stack, written through and read back with the client the functions will use. */
describe('the local stack, through the pipeline client libraries', () => {
  it('PostgreSQL: the pipeline role writes and reads its own database', async () => {
    const db = pipelineDb();
    await db.connect();
    try {
      const table = unique('smoke');
      await db.query(`CREATE TABLE ${table} (id uuid PRIMARY KEY, name text NOT NULL)`);
      const id = randomUUID();
      await db.query(`INSERT INTO ${table} (id, name) VALUES ($1, $2)`, [id, 'Zoë Åström']);
      const { rows } = await db.query<{ name: string }>(`SELECT name FROM ${table} WHERE id = $1`, [id]);
      expect(rows).toEqual([{ name: 'Zoë Åström' }]);
      await db.query(`DROP TABLE ${table}`);
    } finally {
      await db.end();
    }
  });

  it('Kafka: an idempotent producer writes keyed records that a consumer group reads back', async () => {
    const kafka = kafkaClient('smoke');
    const topic = unique('smoke');
    await createTopic(kafka, topic, 3);
    const sent = Array.from({ length: 300 }, (_, i) => ({ key: `user-${i}`, value: JSON.stringify({ i }) }));
    await produce(kafka, topic, sent);

    const consumer = kafka.consumer({ groupId: unique('smoke-group') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received = new Map<string, string>();
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: ({ message }) => {
            received.set(message.key?.toString() ?? '', message.value?.toString() ?? '');
            if (received.size === sent.length) resolve();
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    expect(received).toEqual(new Map(sent.map((m) => [m.key, m.value])));
  });

  it('Schema registry: registers an Avro schema at the Confluent API, then encodes and decodes with it', async () => {
    const registry = new SchemaRegistry({ host: endpoints.registry.url });
    const subject = `${unique('smoke')}-value`;
    const schema = {
      type: 'record',
      name: 'User',
      namespace: 'pipeline.smoke',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'age', type: 'int' },
      ],
    };
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
      { subject },
    );
    const encoded = await registry.encode(id, { id: 'u1', age: 42 });
    expect(encoded.readUInt8(0)).toBe(0); // Confluent wire format: magic byte, then the schema id
    expect(encoded.readUInt32BE(1)).toBe(id);
    expect(await registry.decode(encoded)).toEqual({ id: 'u1', age: 42 });
    expect(await registry.getLatestSchemaId(subject)).toBe(id);
  });

  it('Cassandra: writes a row with a prepared statement and reads it back', async () => {
    const client = cassandraClient();
    await client.connect();
    try {
      await client.execute(
        "CREATE KEYSPACE IF NOT EXISTS smoke WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
      );
      const table = `smoke.${unique('users')}`;
      await client.execute(`CREATE TABLE ${table} (id uuid PRIMARY KEY, name text)`);
      const id = randomUUID();
      await client.execute(`INSERT INTO ${table} (id, name) VALUES (?, ?)`, [id, 'Мирослава'], {
        prepare: true,
      });
      const result = await client.execute(`SELECT name FROM ${table} WHERE id = ?`, [id], { prepare: true });
      expect(result.rows.map((r) => r.get('name') as unknown)).toEqual(['Мирослава']);
      await client.execute(`DROP TABLE ${table}`);
    } finally {
      await client.shutdown();
    }
  });

  it('AWS emulator: S3, SQS, SSM and Secrets Manager each store and return a value', async () => {
    await roundTripThroughAws();
  });
});
