/**
 * The raw ceilings each stage is measured against, with the same records the run moved: Kafka
 * produce, Cassandra write and PostgreSQL COPY, each driven the simplest fast way from this process.
 */
import cassandraDriver from 'cassandra-driver';
import { CompressionTypes, type Admin, type Kafka, type KafkaMessage, type Message } from 'kafkajs';
import type pg from 'pg';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import pgCopy from 'pg-copy-streams';
import { ensureTopic } from '#infra/pipeline/topics.ts';
import { localResources } from '#infra/stack/local-stage/resources.ts';
import { UPSERT_USER, upsertParams } from '#functions/sink/user-table.ts';
import type { UserEvent } from '#lib/user-event.ts';

export const rate = (count: number, ms: number): number => Math.round(count / (ms / 1000));

export async function timed<T>(task: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await task();
  return { ms: performance.now() - started, value };
}

/** The records of `topic` from the given offsets on, `count` of them (key and Avro value). */
export async function recordsFrom(
  kafka: Kafka,
  topic: string,
  from: ReadonlyMap<number, string>,
  count: number,
): Promise<(KafkaMessage & { partition: number })[]> {
  const consumer = kafka.consumer({ groupId: `bench-reader-${Date.now()}` });
  const messages: (KafkaMessage & { partition: number })[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const [partition, offset] of from) consumer.seek({ topic, partition, offset });
    });
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        for (const m of batch.messages) messages.push({ ...m, partition: batch.partition });
        if (messages.length >= count) done();
        return Promise.resolve();
      },
    });
    await finished;
    return messages.slice(0, count);
  } finally {
    await consumer.disconnect();
  }
}

/** Raw produce of the same records: idempotent producer, 2000 per send, one send at a time. */
export async function rawProduceRate(
  kafka: Kafka,
  admin: Admin,
  messages: readonly Message[],
  compression: CompressionTypes,
): Promise<number> {
  const benchTopic = 'bench.raw-produce';
  await ensureTopic(admin, benchTopic, 6, () => undefined);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const { ms } = await timed(async () => {
      for (let i = 0; i < messages.length; i += 2000) {
        await producer.send({
          topic: benchTopic,
          acks: -1,
          compression,
          messages: messages.slice(i, i + 2000),
        });
      }
    });
    return rate(messages.length, ms);
  } finally {
    await producer.disconnect();
  }
}

export { CompressionTypes };

/** Raw writes of the same rows: the sink's statement into a table of the users table's shape, 128 in flight. */
export async function rawCassandraRate(
  cassandra: cassandraDriver.Client,
  events: readonly UserEvent[],
): Promise<number> {
  const table = `${localResources.keyspace}.bench_users`;
  // CQL has no CREATE TABLE … AS: the columns are read from the schema. Truncated between runs.
  const { rows } = await cassandra.execute(
    'SELECT column_name, type FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?',
    [localResources.keyspace, 'users'],
  );
  const columns = rows.map((r) => {
    const name = String(r['column_name']);
    return `${name} ${String(r['type'])}${name === 'user_key' ? ' PRIMARY KEY' : ''}`;
  });
  await cassandra.execute(`CREATE TABLE IF NOT EXISTS ${table} (${columns.join(', ')})`);
  await cassandra.execute(`TRUNCATE ${table}`);
  const params = events.map((event) => upsertParams(event, new Date()));
  const { ms } = await timed(() =>
    cassandraDriver.concurrent.executeConcurrent(
      cassandra,
      UPSERT_USER.replace('INTO users', `INTO ${table}`),
      params,
      {
        concurrencyLevel: 128,
      },
    ),
  );
  return rate(events.length, ms);
}

/**
 * Raw COPY of the same users: their rows copied out of PostgreSQL once, then timed while COPY FROM
 * loads them into a temporary table of the users table's shape, in one transaction.
 */
export async function rawCopyRate(pool: pg.Pool, seed: string): Promise<{ rows: number; rate: number }> {
  const client = await pool.connect();
  try {
    const chunks: Buffer[] = [];
    await pipeline(
      client.query(
        pgCopy.to(`COPY (SELECT * FROM users WHERE source_seed = '${seed.replace(/'/g, "''")}') TO STDOUT`),
      ),
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          chunks.push(chunk);
          done();
        },
      }),
    );
    await client.query('CREATE TEMP TABLE bench_copy (LIKE users INCLUDING ALL)');
    const rows = Buffer.concat(chunks).toString('utf8').split('\n').length - 1;
    const { ms } = await timed(async () => {
      await client.query('BEGIN');
      await pipeline(Readable.from(chunks), client.query(pgCopy.from('COPY bench_copy FROM STDIN')));
      await client.query('COMMIT');
    });
    await client.query('DROP TABLE bench_copy');
    return { rows, rate: rate(rows, ms) };
  } finally {
    client.release();
  }
}
