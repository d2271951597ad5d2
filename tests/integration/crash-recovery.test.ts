import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isAlive, sleep } from '#infra/stack/lib/process.ts';
import { pipelineServiceNames, services } from '#infra/stack/services/index.ts';
import { status, up } from '#infra/stack/stack.ts';
import {
  cassandraClient,
  createTopic,
  kafkaClient,
  pipelineDb,
  produce,
  unique,
} from '../support/clients.ts';
import { readTopicBetween } from '../support/stream.ts';

/** kill -9 the service's process, wait until it is gone, and check the stack sees it down. */
async function killHard(name: string): Promise<void> {
  const service = services.find((s) => s.name === name);
  const pid = await service?.pid();
  if (pid === undefined) throw new Error(`${name} is not running`);
  process.kill(pid, 'SIGKILL');
  while (await isAlive(pid)) await sleep(100);
  expect((await status()).find((s) => s.name === name)?.healthy).toBe(false);
}

/** As a user would recover: `stack up` of the whole stack, which also waits for the services that use the one that crashed. */
describe('after a kill -9, stack up brings the service back with its data', () => {
  it('PostgreSQL keeps committed rows', async () => {
    const table = unique('crash');
    const id = randomUUID();
    const before = pipelineDb();
    await before.connect();
    await before.query(`CREATE TABLE ${table} (id uuid PRIMARY KEY, note text)`);
    await before.query(`INSERT INTO ${table} VALUES ($1, 'survives')`, [id]);
    await before.end();

    await killHard('postgres');
    await up(pipelineServiceNames);

    const after = pipelineDb();
    await after.connect();
    const { rows } = await after.query(`SELECT note FROM ${table} WHERE id = $1`, [id]);
    await after.query(`DROP TABLE ${table}`);
    await after.end();
    expect(rows).toEqual([{ note: 'survives' }]);
  });

  it('Kafka keeps acknowledged records', async () => {
    const kafka = kafkaClient('crash');
    const topic = unique('crash');
    await createTopic(kafka, topic, 2);
    const sent = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `v${i}` }));
    await produce(kafka, topic, sent);

    await killHard('kafka');
    await up(pipelineServiceNames);

    // The records themselves, read back from the start of each partition to its end: each key with
    // its value, once (a count of offsets alone would pass with records lost and others doubled).
    const recovered = kafkaClient('crash-after');
    const admin = recovered.admin();
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    const records = await readTopicBetween(
      recovered,
      topic,
      new Map(offsets.map((p) => [p.partition, p.low])),
      new Map(offsets.map((p) => [p.partition, p.high])),
      () => true,
    );
    const pairs = (list: { key: string; value: string }[]) =>
      list.map(({ key, value }) => `${key}=${value}`).sort();
    expect(pairs(records.map((r) => ({ key: String(r.key), value: String(r.value) })))).toEqual(pairs(sent));
  });

  it('Cassandra keeps written rows', async () => {
    const table = `crash.${unique('rows')}`;
    const id = randomUUID();
    const before = cassandraClient();
    await before.connect();
    await before.execute(
      "CREATE KEYSPACE IF NOT EXISTS crash WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    );
    await before.execute(`CREATE TABLE ${table} (id uuid PRIMARY KEY, note text)`);
    await before.execute(`INSERT INTO ${table} (id, note) VALUES (?, ?)`, [id, 'survives'], {
      prepare: true,
    });
    await before.shutdown();

    await killHard('cassandra');
    await up(pipelineServiceNames);

    const after = cassandraClient();
    await after.connect();
    const result = await after.execute(`SELECT note FROM ${table} WHERE id = ?`, [id], { prepare: true });
    await after.shutdown();
    expect(result.rows.map((r) => r.get('note') as unknown)).toEqual(['survives']);
  });
});
