/**
 * Whole-flow benchmark (`npm run bench [users] [freshness rounds]`): fetch → persist → publish over
 * HTTP through `sls offline`, with the project's Kafka trigger running sink into Cassandra, at 100,000
 * users by default. Prints rows/s per stage, end-to-end users/s, freshness (PostgreSQL commit → row
 * written in Cassandra) p50/p99, the peak RSS of each function in a process of its own and of `sls
 * offline`, next to the raw Kafka produce and raw Cassandra write rates of the same records, all
 * measured in the same run.
 * Writes .local/bench/pipeline.json. Brings the stack up if it is down, and down again if it was.
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import cassandraDriver from 'cassandra-driver';
import { CompressionTypes, type Admin, type Kafka, type KafkaMessage, type Message } from 'kafkajs';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { buildEvent, toLambdaRecord } from '#plugin/event-builder.ts';
import { repoRoot, stackHome } from '#infra/stack/lib/paths.ts';
import pg from 'pg';
import { UserEvent } from '#lib/user-event.ts';
import { UPSERT_USER, upsertParams } from '#functions/sink/user-table.ts';
import { ensureTopic } from '#infra/pipeline/topics.ts';
import { consumerLag } from '#lib/snapshot/topic.ts';
import { sunkAtOf } from '#lib/snapshot/freshness.ts';
import { localCassandra, localKafka } from '#infra/stack/local-stage/clients.ts';
import { localFunctionEnvironment, type FunctionName } from '#infra/stack/local-stage/function-env.ts';
import { localApiKey, localDatabaseUrl, localResources } from '#infra/stack/local-stage/resources.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import { waitUntil } from '#infra/stack/lib/wait.ts';
import { allRunning, down, up } from '#infra/stack/stack.ts';
import { writeResults } from './bench-lib.ts';
import { pipelineClient } from './http-client.ts';
import { startOffline } from './offline.ts';
import { runMain, say } from './cli.ts';

const USERS = Number(process.argv[2] ?? '100000');
const ROUNDS = Number(process.argv[3] ?? '10');
const ROUND_USERS = 1000;
/** The V8 heap limit publish and sink run under in the memory phase (see there). */
const FUNCTION_HEAP_MB = 200;
/** Where the memory phase's publish sends, away from the sink's topic. */
const MEMORY_TOPIC = 'bench.function-host';
const topic = localResources.usersTopic;
const usersTable = `${localResources.keyspace}.users`;

const rate = (count: number, ms: number): number => Math.round(count / (ms / 1000));
async function timed<T>(task: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await task();
  return { ms: performance.now() - started, value };
}
const percentile = (sorted: readonly number[], p: number): number =>
  Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0);

/** Waits until the sink's consumer group has committed everything in the topic. */
async function waitForSink(admin: Admin, timeoutMs: number): Promise<void> {
  const caughtUp = await waitUntil(
    async () => (await consumerLag(admin, localResources.sinkConsumerGroup, topic)) === 0,
    {
      timeoutMs,
      intervalMs: 250,
    },
  );
  if (!caughtUp.ok)
    throw new Error(`the sink did not catch up within ${timeoutMs / 1000} s (${caughtUp.reason})`);
}

/** Commit time in PostgreSQL (track_commit_timestamp) of each user of the given seeds. */
async function commitTimes(pool: pg.Pool, seeds: string[]): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ user_key: string; committed: string }>(
    `SELECT user_key::text, extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000 AS committed
       FROM users WHERE source_seed = ANY($1)`,
    [seeds],
  );
  return new Map(rows.map((r) => [r.user_key, Number(r.committed)]));
}

/** Freshness of each user: from its PostgreSQL commit to its write in Cassandra, in ms, sorted. */
function freshness(committed: Map<string, number>, sunk: Map<string, number>): number[] {
  const missing = [...committed.keys()].filter((key) => !sunk.has(key));
  if (missing.length > 0) throw new Error(`${missing.length} users never reached Cassandra`);
  return [...committed].map(([key, at]) => (sunk.get(key) ?? 0) - at).sort((a, b) => a - b);
}

/** The records publish sent for these users, read back from the topic (key and Avro value). */
async function publishedMessages(
  kafka: Kafka,
  from: Map<number, string>,
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

/** The raw produce rate of the same records: idempotent producer, 2000 per send, one send at a time. */
async function rawProduceRate(
  kafka: Kafka,
  admin: Admin,
  messages: Message[],
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

/** The raw write rate of the same rows: the sink's statement into a table of the same shape, 128 in flight. */
async function rawCassandraRate(cassandra: cassandraDriver.Client, events: UserEvent[]): Promise<number> {
  const table = `${localResources.keyspace}.bench_users`;
  // A table of the users table's shape (CQL has no CREATE TABLE … AS), truncated between runs.
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

const HostResult = z.object({
  peakRssMb: z.number(),
  ms: z.number(),
  result: z.record(z.string(), z.unknown()),
});

/**
 * Runs one function's bundle (built by `sls offline`, as Lambda runs it) in a process of its own on
 * plain Node (scripts/function-host.mjs), with the local stage's environment, and returns its peak RSS.
 */
function hosted(
  name: FunctionName,
  input: string,
  heapMb?: number,
  overrides: Record<string, string> = {},
): z.infer<typeof HostResult> {
  const bundle = path.join(repoRoot, '.esbuild/.build/functions', name, 'handler.mjs');
  const heap = heapMb === undefined ? [] : [`--max-old-space-size=${heapMb}`];
  const result = spawnSync(process.execPath, [...heap, 'scripts/function-host.mjs', bundle, name, input], {
    cwd: repoRoot,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: {
      PATH: process.env['PATH'],
      ...localFunctionEnvironment(name, { POWERTOOLS_LOG_LEVEL: 'WARN', ...overrides }),
    },
  });
  const last = result.stdout.trim().split('\n').at(-1) ?? '';
  if (result.status !== 0 || !last.startsWith('{')) {
    throw new Error(
      `function-host ${name} failed:\n${result.stdout.slice(-2000)}${result.stderr.slice(-2000)}`,
    );
  }
  return HostResult.parse(JSON.parse(last));
}

/** The sink's events for `messages`, as the trigger builds them (2000 records each), one JSON per line. */
function writeSinkEvents(messages: readonly (KafkaMessage & { partition: number })[], file: string): void {
  const lines: string[] = [];
  for (let i = 0; i < messages.length; i += 2000) {
    const records = messages.slice(i, i + 2000).map((m) => toLambdaRecord(topic, m.partition, m));
    lines.push(
      JSON.stringify(
        buildEvent({ kind: 'kafka', bootstrapServers: endpoints.kafka.brokers.join(',') }, records),
      ),
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

/** Peak resident memory (VmHWM) of a process, in MB. */
const peakRssMb = (pid: number): number => {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(match?.[1] ?? 0) / 1024);
};

async function main(): Promise<void> {
  const wasUp = await allRunning();
  await up();
  const kafka = localKafka('bench');
  const admin = kafka.admin();
  await admin.connect();
  const pool = new pg.Pool({ connectionString: localDatabaseUrl, max: 2 });
  const cassandra = localCassandra();
  await cassandra.connect();
  const offline = await startOffline({ http: 3040, lambda: 3042 });
  try {
    const api = pipelineClient(offline.baseUrl, await localApiKey());
    say('settling: publishing what is left in the outbox and waiting for the sink to catch up');
    await api.drain();
    await waitForSink(admin, 30 * 60_000);

    const runId = Date.now().toString(36);
    const seed = `bench-${runId}`;
    const from = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o.high]));
    say(`whole flow: ${USERS} users`);
    const started = Date.now();
    const fetched = await timed(() => api.fetch(USERS, seed));
    const persisted = await timed(() => api.persist(String(fetched.value['key'])));
    const published = await timed(() => api.drain());
    await waitForSink(admin, 30 * 60_000);
    const committed = await commitTimes(pool, [seed]);
    const sunk = await sunkAtOf(cassandra, [...committed.keys()], usersTable);
    const bulk = freshness(committed, sunk);
    const sunkAt = [...sunk.values()];
    const firstSunk = Math.min(...sunkAt);
    const lastSunk = Math.max(...sunkAt);

    say(`freshness: ${ROUNDS} rounds of ${ROUND_USERS} users, each fetched, persisted and published at once`);
    const roundSeeds: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const roundSeed = `${seed}-round-${round}`;
      roundSeeds.push(roundSeed);
      const batch = await api.fetch(ROUND_USERS, roundSeed);
      await api.persist(String(batch['key']));
      await api.drain();
      await waitForSink(admin, 120_000);
    }
    const steadyCommitted = await commitTimes(pool, roundSeeds);
    const steady = freshness(
      steadyCommitted,
      await sunkAtOf(cassandra, [...steadyCommitted.keys()], usersTable),
    );
    const peakMb = peakRssMb(offline.pid);

    say('raw rates of the same records');
    const messages = await publishedMessages(kafka, from, USERS);
    const registry = new SchemaRegistry({ host: endpoints.registry.url });
    const events = await Promise.all(
      messages.map(async (m) => UserEvent.parse(await registry.decode(m.value ?? Buffer.alloc(0)))),
    );
    // The same keys and values in the order publish sent them (a consumer reads them partition by
    // partition; 2000 of one partition in one send would exceed the broker's 1 MB batch limit).
    const produced = [...messages]
      .sort((a, b) => Number(a.timestamp) - Number(b.timestamp) || a.partition - b.partition)
      .map(({ key, value }) => ({ key, value }));
    const produceNone = await rawProduceRate(kafka, admin, produced, CompressionTypes.None);
    const produceGzip = await rawProduceRate(kafka, admin, produced, CompressionTypes.GZIP);
    const cassandraRaw = await rawCassandraRate(cassandra, events);

    say('peak memory of each function, each in a process of its own, on the same volume');
    // The bundles `sls offline` built stay in .esbuild after it stops.
    await offline.stop();
    const memorySeed = `${seed}-memory`;
    await ensureTopic(admin, MEMORY_TOPIC, 6, () => undefined);
    const sinkEvents = path.join(stackHome, 'bench', 'sink-events.jsonl');
    mkdirSync(path.dirname(sinkEvents), { recursive: true });
    writeSinkEvents(messages, sinkEvents);
    const fetchHost = hosted('fetch', `${USERS}:${memorySeed}`);
    const functionPeakRssMb = {
      fetch: fetchHost.peakRssMb,
      persist: hosted('persist', String(fetchHost.result['key'])).peakRssMb,
      // V8 grows its heap lazily up to a limit set from the machine's memory; Lambda's is set from
      // the function's. A 200 MB heap is what a 300 MB budget leaves: run publish and sink within it.
      // To a topic of its own: these 100,000 events must not become a backlog for the next sink.
      publish: hosted('publish', '', FUNCTION_HEAP_MB, { USERS_TOPIC: MEMORY_TOPIC }).peakRssMb,
      sink: hosted('sink', sinkEvents, FUNCTION_HEAP_MB).peakRssMb,
    };

    const sinkRate = rate(USERS, lastSunk - firstSunk);
    const figures = {
      fetch: rate(USERS, fetched.ms),
      persist: rate(USERS, persisted.ms),
      publish: rate(published.value, published.ms),
      sink: sinkRate,
      endToEnd: rate(USERS, lastSunk - started),
      freshnessBulk: { p50: percentile(bulk, 50), p99: percentile(bulk, 99) },
      freshnessSteady: { p50: percentile(steady, 50), p99: percentile(steady, 99) },
      peakRssMb: peakMb,
      functionPeakRssMb,
      rawProduceNone: produceNone,
      rawProduceGzip: produceGzip,
      rawCassandra: cassandraRaw,
    };
    const table = [
      ['stage', 'figure', 'target', 'note'],
      ['fetch → S3', `${figures.fetch} users/s`, '-', 'POST /fetch, one call'],
      ['persist → PostgreSQL', `${figures.persist} users/s`, '-', 'POST /persist, one call'],
      [
        'publish → Kafka',
        `${figures.publish} msg/s`,
        '≥ 15000',
        `POST /publish {drain}, ${published.value} events`,
      ],
      [
        'sink → Cassandra',
        `${figures.sink} rows/s`,
        '≥ 8000',
        `${Math.round((100 * sinkRate) / cassandraRaw)}% of raw Cassandra (target ≥ 70%)`,
      ],
      ['end to end', `${figures.endToEnd} users/s`, '-', 'fetch call start → last row in Cassandra'],
      [
        'freshness, bulk',
        `p50 ${figures.freshnessBulk.p50} ms, p99 ${figures.freshnessBulk.p99} ms`,
        '-',
        `${USERS} users committed in one transaction`,
      ],
      [
        'freshness, steady',
        `p50 ${figures.freshnessSteady.p50} ms, p99 ${figures.freshnessSteady.p99} ms`,
        'p99 < 2000 ms',
        `${ROUNDS} × ${ROUND_USERS} users, published at once`,
      ],
      ...Object.entries(functionPeakRssMb).map(([name, mb]) => [
        `peak RSS, ${name}`,
        `${mb} MB`,
        '< 300 MB',
        `its bundle alone on plain Node, ${name === 'sink' ? `events of 2000 records` : `${USERS} users`}` +
          (name === 'publish' || name === 'sink' ? `, heap limit ${FUNCTION_HEAP_MB} MB` : ', no heap limit'),
      ]),
      [
        'peak RSS, sls offline',
        `${figures.peakRssMb} MB`,
        '-',
        'the framework, all five functions (worker threads) and the Kafka trigger',
      ],
      ['raw Kafka produce, none', `${figures.rawProduceNone} msg/s`, '-', 'the same records, 2000 per send'],
      ['raw Kafka produce, gzip', `${figures.rawProduceGzip} msg/s`, '-', 'the same, gzip'],
      [
        'raw Cassandra write',
        `${figures.rawCassandra} rows/s`,
        '-',
        'the same rows and statement, 128 in flight',
      ],
    ];
    const widths = table[0]?.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length))) ?? [];
    say('');
    for (const row of table) say(row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  '));
    writeResults('pipeline', { when: new Date().toISOString(), users: USERS, rounds: ROUNDS, figures });
  } finally {
    await offline.stop();
    await admin.disconnect();
    await cassandra.shutdown();
    await pool.end();
    if (!wasUp) await down();
  }
}

runMain('bench', main, {
  usage: 'usage: npm run bench [-- <users> [freshness rounds]]   (100000 users, 10 rounds by default)',
  stack: true,
});
