import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type cassandraDriver from 'cassandra-driver';
import type { Message } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateCassandra } from '#infra/pipeline/cassandra-migrations.ts';
import { sparkConsumerGroup } from '#infra/pipeline/resources.ts';
import { registerAvroSchema } from '#infra/pipeline/schemas.ts';
import { consumerLag } from '#lib/snapshot/topic.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import { repoRoot } from '#infra/stack/lib/paths.ts';
import { up } from '#infra/stack/stack.ts';
import { waitUntil } from '#infra/stack/lib/wait.ts';
import {
  readSparkJobStatus,
  SPARK_JOB_QUERIES,
  sparkJob,
  submitSparkJob,
  type SparkJobOptions,
} from '#infra/stack/services/spark.ts';
import { latestEncoder, withWireHeader } from '#lib/schema-registry.ts';
import type { UserEvent } from '#lib/user-event.ts';
import { messageOf } from '#functions/publish/outbox-relay.ts';
import { eventOf, USER_EVENT_COLUMNS, type UserEventRow } from '#functions/publish/outbox-store.ts';
import { cassandraClient, createTopic, kafkaClient, unique } from '../support/clients.ts';
import { pipelinePool } from '../support/pipeline-db.ts';
import { persistGeneratedUsers } from '../support/stream.ts';

/**
 * The Spark job on the stack's cluster, against a topic and a keyspace of the test's own: the aggregates
 * it writes to Cassandra must equal what PostgreSQL computes for the same users, whatever duplicates,
 * updates and poison the topic holds, and across a kill -9 of the driver. Each run also commits its
 * queries' progress to consumer groups of the test's own (`<topic>-spark-<query>`), which must reach the
 * topic's end once the job has read it all.
 */
const pool = pipelinePool();
const kafka = kafkaClient('spark-aggregates-itest');
const registry = new SchemaRegistry({ host: endpoints.registry.url });
let cassandra: cassandraDriver.Client;

const runs = path.join(sparkJob.paths.root, 'test-runs');

/** The prefix of a test topic's consumer groups: never the stage's, which the stack's job commits to. */
const groupPrefix = (topic: string): string => `${topic}-spark`;
const groupsOf = (topic: string): string[] =>
  SPARK_JOB_QUERIES.map((query) => sparkConsumerGroup(groupPrefix(topic), query));

/** A topic (with its value schema) and a keyspace (with the CQL migrations) for one test. */
async function dedicatedStream(name: string): Promise<{ topic: string; keyspace: string }> {
  const topic = unique(name);
  await createTopic(kafka, topic, 3);
  await registerAvroSchema({
    registryUrl: endpoints.registry.url,
    subject: `${topic}-value`,
    schema: await readFile(path.join(repoRoot, 'schemas/user-event.avsc'), 'utf8'),
    compatibility: 'BACKWARD',
  });
  await migrateCassandra({
    client: cassandra,
    keyspace: topic,
    replication: "{'class': 'SimpleStrategy', 'replication_factor': 1}",
    dir: path.join(repoRoot, 'migrations/cassandra'),
    report: () => undefined,
  });
  return { topic, keyspace: topic };
}

/**
 * Persists `count` generated users, spreads their updated_at over the last five minutes (so that the
 * events fall into several windows), and returns their events as publish builds them. Their outbox rows
 * are marked published: the test publishes them itself, to its own topic.
 */
async function usersAndEvents(seed: string, count: number): Promise<UserEvent[]> {
  const keys = await persistGeneratedUsers(pool, seed, count);
  await pool.query(
    `UPDATE users SET updated_at = updated_at - make_interval(mins => (abs(hashtext(user_key::text)) % 5))
      WHERE source_seed = $1`,
    [seed],
  );
  await pool.query('UPDATE outbox SET published_at = now() WHERE user_key = ANY($1::uuid[])', [keys]);
  const { rows } = await pool.query<UserEventRow>(
    `SELECT ${USER_EVENT_COLUMNS} FROM outbox o JOIN users u ON u.user_key = o.user_key WHERE u.source_seed = $1`,
    [seed],
  );
  return rows.map((row) => eventOf(row));
}

/**
 * The events in the wire format, as publish sends them, plus what at-least-once delivery and bad input
 * add: every fifth event sent twice, an update of every seventh user (not a new user), a record that is
 * not in the wire format and one whose schema id the registry does not know.
 */
async function messagesOf(events: UserEvent[], topic: string): Promise<Message[]> {
  const { encode } = await latestEncoder(registry, `${topic}-value`);
  const messages = events.map((event) => messageOf(event, encode(event)));
  const resent = messages.filter((_, index) => index % 5 === 0);
  const updates = events
    .filter((_, index) => index % 7 === 0)
    .map((event): UserEvent => ({ ...event, event_id: randomUUID(), event_type: 'user.updated', version: 2 }))
    .map((event) => messageOf(event, encode(event)));
  const sample = events[0];
  if (sample === undefined) throw new Error('no events');
  const poison = [
    { key: sample.user_key, value: Buffer.from('not avro at all') },
    { key: sample.user_key, value: withWireHeader(987_654, encode(sample).subarray(5)) },
  ];
  return [...messages, ...resent, ...updates, ...poison];
}

async function send(topic: string, messages: Message[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let start = 0; start < messages.length; start += 500) {
      await producer.send({ topic, messages: messages.slice(start, start + 500), acks: -1 });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Resolves with the exit code once the process ended. */
const exitOf = (child: ChildProcess): Promise<number | null> =>
  new Promise((resolve) => {
    if (child.exitCode !== null) {
      resolve(child.exitCode);
      return;
    }
    child.once('exit', (code) => {
      resolve(code);
    });
  });

function runJob(
  options: Omit<SparkJobOptions, 'logFile' | 'appName' | 'consumerGroupPrefix'> & {
    name: string;
    topic: string;
  },
): ChildProcess {
  return submitSparkJob({
    ...options,
    consumerGroupPrefix: groupPrefix(options.topic),
    appName: `users-aggregates-${options.name}`,
    logFile: path.join(runs, `${options.name}.log`),
  });
}

async function runAvailableNow(
  name: string,
  options: Pick<SparkJobOptions, 'keyspace' | 'checkpointDir' | 'startingOffsets'> & { topic: string },
) {
  const child = runJob({
    ...options,
    name,
    availableNow: true,
    maxOffsetsPerTrigger: 1000,
    shufflePartitions: 2,
  });
  expect(await exitOf(child), `see ${path.join(runs, `${name}.log`)}`).toBe(0);
}

/** Users per window, country and gender; and `users/min/max/sum` of the ages per window and country. */
interface Figures {
  users: Record<string, number>;
  ages: Record<string, string>;
}

/** PostgreSQL's figures for the users of `seed`: per UTC minute of updated_at, country and gender. */
async function expectedFigures(seed: string): Promise<Figures> {
  const minute = `(extract(epoch FROM date_trunc('minute', updated_at AT TIME ZONE 'UTC')) * 1000)::bigint`;
  const age = `extract(year FROM age(updated_at AT TIME ZONE 'UTC', date_of_birth AT TIME ZONE 'UTC'))::int`;
  const users = await pool.query<{ m: string; country: string; gender: string; n: number }>(
    `SELECT ${minute} AS m, country, gender, count(*)::int AS n FROM users WHERE source_seed = $1 GROUP BY 1, 2, 3`,
    [seed],
  );
  const ages = await pool.query<{
    m: string;
    country: string;
    n: number;
    lo: number;
    hi: number;
    total: number;
  }>(
    `SELECT ${minute} AS m, country, count(*)::int AS n, min(${age}) AS lo, max(${age}) AS hi,
            sum(${age})::int AS total
       FROM users WHERE source_seed = $1 GROUP BY 1, 2`,
    [seed],
  );
  return {
    users: Object.fromEntries(users.rows.map((r) => [`${r.m}|${r.country}|${r.gender}`, r.n])),
    ages: Object.fromEntries(
      ages.rows.map((r) => [`${r.m}|${r.country}`, [r.n, r.lo, r.hi, r.total].join('/')]),
    ),
  };
}

/** What the job wrote to the keyspace, in the same shape (and each mean checked against its sum). */
async function writtenFigures(keyspace: string): Promise<Figures> {
  const users = await cassandra.execute(
    `SELECT window_start, country, gender, users FROM ${keyspace}.users_per_minute`,
  );
  const ages = await cassandra.execute(
    `SELECT window_start, country, users, age_min, age_max, age_sum, age_mean FROM ${keyspace}.age_stats_per_minute`,
  );
  for (const row of ages.rows) {
    expect(row['age_mean'] as number).toBeCloseTo(Number(row['age_sum']) / Number(row['users']), 9);
  }
  const start = (row: cassandraDriver.types.Row): number => (row['window_start'] as Date).getTime();
  return {
    users: Object.fromEntries(
      users.rows.map((r) => [
        `${start(r)}|${String(r['country'])}|${String(r['gender'])}`,
        Number(r['users']),
      ]),
    ),
    ages: Object.fromEntries(
      ages.rows.map((r) => [
        `${start(r)}|${String(r['country'])}`,
        [r['users'], r['age_min'], r['age_max'], r['age_sum']].map(Number).join('/'),
      ]),
    ),
  };
}

/** Records of `topic` that a query's consumer group has not committed, per group (0: at the end). */
async function groupLags(topic: string): Promise<Record<string, number>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const lags = groupsOf(topic).map(
      async (group) => [group, await consumerLag(admin, group, topic)] as const,
    );
    return Object.fromEntries(await Promise.all(lags));
  } finally {
    await admin.disconnect();
  }
}

const atTheEnd = (topic: string): Record<string, number> =>
  Object.fromEntries(groupsOf(topic).map((group) => [group, 0]));

const total = (figures: Figures): number => Object.values(figures.users).reduce((sum, n) => sum + n, 0);

describe('the Spark aggregates job on the local cluster', () => {
  const keyspaces: string[] = [];
  const topics: string[] = [];

  beforeAll(async () => {
    // The suite's setup starts the pipeline's services only: the cluster is this file's to start.
    await up(['spark-worker']);
    cassandra = cassandraClient();
    await cassandra.connect();
  });

  afterAll(async () => {
    for (const keyspace of keyspaces) await cassandra.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`);
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.deleteGroups(topics.flatMap(groupsOf)).catch(() => undefined);
    await admin.disconnect();
    // The runs' logs stay (next to the stack job's); their checkpoints and heartbeats go.
    for (const topic of topics) {
      await rm(path.join(runs, `${topic}-checkpoint`), { recursive: true, force: true });
      await rm(path.join(runs, `${topic}-status.json`), { force: true });
    }
    await cassandra.shutdown();
    await pool.end();
  });

  it('available-now: the aggregates equal PostgreSQL’s counts, duplicates, updates and poison left out', async () => {
    const seed = unique('spark_once');
    const stream = await dedicatedStream('spark_once');
    keyspaces.push(stream.keyspace);
    topics.push(stream.topic);
    const events = await usersAndEvents(seed, 800);
    await send(stream.topic, await messagesOf(events, stream.topic));

    await runAvailableNow(`${stream.topic}-once`, {
      ...stream,
      checkpointDir: path.join(runs, `${stream.topic}-checkpoint`),
    });

    const expected = await expectedFigures(seed);
    expect(total(expected)).toBe(800);
    expect(Object.keys(expected.users).length).toBeGreaterThan(5);
    expect(await writtenFigures(stream.keyspace)).toEqual(expected);
    // Each query committed its last batch's end offsets to its group: no lag left.
    expect(await groupLags(stream.topic)).toEqual(atTheEnd(stream.topic));
  }, 300_000);

  it('a driver killed with -9 mid-stream and restarted on its checkpoint neither double-counts nor loses', async () => {
    const seed = unique('spark_kill');
    const stream = await dedicatedStream('spark_kill');
    keyspaces.push(stream.keyspace);
    topics.push(stream.topic);
    const checkpointDir = path.join(runs, `${stream.topic}-checkpoint`);
    const statusFile = path.join(runs, `${stream.topic}-status.json`);
    const messages = await messagesOf(await usersAndEvents(seed, 600), stream.topic);
    const half = Math.floor(messages.length / 2);
    await send(stream.topic, messages.slice(0, half));

    // Small micro-batches, so that the second half takes several of them.
    const child = runJob({
      ...stream,
      name: `${stream.topic}-kill`,
      checkpointDir,
      statusFile,
      availableNow: false,
      maxOffsetsPerTrigger: 100,
      shufflePartitions: 2,
    });
    const logged = (query: string, log: 'offsets' | 'commits', batch: number) =>
      existsSync(path.join(checkpointDir, query, log, String(batch)));
    const committed = (batch: number) => SPARK_JOB_QUERIES.every((query) => logged(query, 'commits', batch));
    // A batch planned (its offsets logged) but not committed: the one a crash now makes Spark replay.
    const inFlight = () =>
      SPARK_JOB_QUERIES.some((query) =>
        [2, 3, 4].some((b) => logged(query, 'offsets', b) && !logged(query, 'commits', b)),
      );
    try {
      const first = await waitUntil(() => Promise.resolve(committed(0)), {
        timeoutMs: 150_000,
        intervalMs: 500,
      });
      expect(first, `see ${path.join(runs, `${stream.topic}-kill.log`)}`).toEqual({ ok: true });
      await send(stream.topic, messages.slice(half));
      // One more micro-batch committed and the next one under way: then the crash.
      await waitUntil(() => Promise.resolve(committed(1)), { timeoutMs: 60_000, intervalMs: 200 });
      const caught = await waitUntil(() => Promise.resolve(inFlight()), {
        timeoutMs: 60_000,
        intervalMs: 50,
      });
      expect(caught, 'a micro-batch was under way when the driver was killed').toEqual({ ok: true });
      const status = await readSparkJobStatus(statusFile);
      expect(status?.queries.map((q) => q.name).sort()).toEqual([...SPARK_JOB_QUERIES].sort());
    } finally {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }
    expect(await exitOf(child)).not.toBe(0);
    const expected = await expectedFigures(seed);
    const before = await writtenFigures(stream.keyspace);
    expect(total(before), 'the kill came before the end').toBeLessThan(600);

    // Told to start at the topic's end: only the checkpoint can bring the restart back to where the
    // killed driver stopped, so a checkpoint lost or ignored would leave the figures short.
    await runAvailableNow(`${stream.topic}-restart`, { ...stream, checkpointDir, startingOffsets: 'latest' });

    expect(await writtenFigures(stream.keyspace)).toEqual(expected);
    // The restart's commits carry the groups on from where the killed driver's left them, to the end.
    expect(await groupLags(stream.topic)).toEqual(atTheEnd(stream.topic));
  }, 400_000);
});
