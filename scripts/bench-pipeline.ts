/**
 * The pipeline benchmark (`npm run bench`), with the whole stack up (Airflow and the Spark job
 * included) and `sls offline` serving the functions, as a user runs them:
 *
 * 1. the headline: N users (100,000 by default) through the `users_pipeline` DAG, triggered through
 *    Airflow, in chunks of 5,000; end to end from the trigger to the last user in Cassandra and in
 *    Spark's aggregates, with each process's CPU per user (from /proc) and memory, and live progress;
 *    with `--scale`, at 10,000, 100,000 and 1,000,000 users, for the scale curve;
 * 2. steady freshness: 1,000 users a second, fetched, persisted and published as they come;
 * 3. each stage on its own, in chunk-sized calls (4 in flight), beside its raw ceiling measured in the
 *    same run with the same records: Kafka produce, Cassandra write, PostgreSQL COPY;
 * 4. each function's peak memory over the calls of a run, alone in a process.
 *
 * Writes .local/bench/pipeline.json and, beside it, pipeline.html: the figures and their plots.
 * Brings the stack up if it is down, and down again if it was.
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type cassandraDriver from 'cassandra-driver';
import type { Admin } from 'kafkajs';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import pg from 'pg';
import { ensureTopic } from '#infra/pipeline/topics.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import { stackHome } from '#infra/stack/lib/paths.ts';
import { localCassandra, localKafka } from '#infra/stack/local-stage/clients.ts';
import { localApiKey, localDatabaseUrl, localResources } from '#infra/stack/local-stage/resources.ts';
import { allRunning, down, up } from '#infra/stack/stack.ts';
import { sunkAtOf } from '#lib/snapshot/freshness.ts';
import { UserEvent } from '#lib/user-event.ts';
import {
  CompressionTypes,
  rate,
  rawCassandraRate,
  rawCopyRate,
  rawProduceRate,
  recordsFrom,
  timed,
} from './bench/ceilings.ts';
import { dagRun, type DagRunResult } from './bench/dag-run.ts';
import { FLOW_STAGES } from './bench/flow.ts';
import { hosted, writeSinkEvents } from './bench/function-memory.ts';
import { cpuMsBetween } from './bench/proc-sampler.ts';
import {
  freshnessHistogram,
  machineSummary,
  ratesOver,
  samplerCharts,
  writeReport,
  type Figure,
  type Point,
  type ScalePoint,
} from './bench/report.ts';
import { writeResults } from './bench-lib.ts';
import { pipelineClient } from './http-client.ts';
import { caughtUp, sparkCaughtUp as sparkGroupsCaughtUp } from './pipeline-waits.ts';
import { startOffline } from './offline.ts';
import { runMain, say } from './cli.ts';

const USAGE = `usage: npm run bench [-- --users N] [--scale] [--rounds R]

  --users N    users of the headline DAG run (default 100000); the stage-by-stage phases use
               min(N, 100000)
  --scale      the headline at 10,000, 100,000 and 1,000,000 users (the scale curve), then the
               other phases at 100,000
  --rounds R   seconds of steady load at 1,000 users/s for the freshness figure (default 20)`;

/** Users per call, as the DAG sends them: one randomuser page. */
const CHUNK = 5000;
/** Calls in flight in the stage-by-stage phase, as the DAG's lanes. */
const IN_FLIGHT = 4;
/** The most users the stage-by-stage and memory phases move (their calls are bounded by the chunk). */
const DIRECT_USERS = 100_000;
/** Users whose freshness is read back after a headline run (every user of smaller runs). */
const FRESHNESS_SAMPLE = 20_000;
/**
 * The V8 heap limit each function runs under in the memory phase: what a 300 MB budget leaves. V8
 * grows its heap lazily up to a limit set from the machine's memory (Lambda's is set from the
 * function's), so without one the figure would show how lazy V8 is, not what the function needs.
 */
const FUNCTION_HEAP_MB = 200;
/** Where the memory phase's publish sends, away from the sink's topic. */
const MEMORY_TOPIC = 'bench.function-host';
/**
 * The window the report's throughput is averaged over: several chunks' worth (a counter moves 5,000
 * users at a time), and wider for a longer run, whose chart spans more seconds per pixel.
 */
const throughputWindowS = (runS: number): number => Math.max(5, Math.min(30, runS / 40));
const topic = localResources.usersTopic;
const usersTable = `${localResources.keyspace}.users`;

const percentile = (sorted: readonly number[], p: number): number =>
  Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0);
const thousands = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Waits (5 minutes at most) until every Spark query has committed the whole topic. */
async function sparkCaughtUp(admin: Admin): Promise<void> {
  for (const group of await sparkGroupsCaughtUp(admin)) say(`  Spark's ${group} is still behind; going on`);
}

/** Each user's delay from its PostgreSQL commit to its write in Cassandra, ms, sorted; `limit` users at most. */
async function freshnessOf(
  pool: pg.Pool,
  cassandra: cassandraDriver.Client,
  seed: string,
  limit: number,
): Promise<number[]> {
  const { rows } = await pool.query<{ user_key: string; committed: string }>(
    `SELECT user_key::text, extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000 AS committed
       FROM users WHERE source_seed = $1 ORDER BY random() LIMIT $2`,
    [seed, limit],
  );
  const sunk = await sunkAtOf(
    cassandra,
    rows.map((r) => r.user_key),
    usersTable,
  );
  const missing = rows.filter((r) => !sunk.has(r.user_key)).length;
  if (missing > 0) throw new Error(`${missing} users of seed ${seed} never reached Cassandra`);
  return rows.map((r) => (sunk.get(r.user_key) ?? 0) - Number(r.committed)).sort((a, b) => a - b);
}

/** A headline run's figures: rates, CPU per user per process, peak memory per process. */
function headlineFigures(run: DagRunResult) {
  const end = run.inCassandraS;
  const names = Object.keys(run.processes.samples[0]?.cpuMs ?? {});
  const cpuMsPerUser = Object.fromEntries(
    names.map((name) => [
      name,
      Math.round((cpuMsBetween(run.processes, name, 0, end) / run.users) * 1000) / 1000,
    ]),
  );
  const peakRssMb = Object.fromEntries(
    names.map((name) => [name, Math.max(...run.processes.samples.map((s) => s.rssMb[name] ?? 0))]),
  );
  return {
    users: run.users,
    endToEnd: rate(run.users, end * 1000),
    inCassandraS: Math.round(end * 10) / 10,
    inAggregatesS: run.inAggregatesS === undefined ? null : Math.round(run.inAggregatesS * 10) / 10,
    dagRunS: Math.round(run.dagRunS * 10) / 10,
    cpuMsPerUser,
    cpuMsPerUserTotal: Math.round(Object.values(cpuMsPerUser).reduce((a, b) => a + b, 0) * 1000) / 1000,
    peakRssMb,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '100000' },
      scale: { type: 'boolean', default: false },
      rounds: { type: 'string', default: '20' },
    },
    allowPositionals: false,
  });
  const users = Number(values.users);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(users) || users < 1 || users > 10_000_000)
    throw new Error(`--users must be a whole number from 1 to 10,000,000, not ${values.users}`);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 600)
    throw new Error(`--rounds must be a whole number from 1 to 600, not ${values.rounds}`);
  const sizes = values.scale ? [10_000, 100_000, 1_000_000] : [users];
  const direct = Math.min(values.scale ? 100_000 : users, DIRECT_USERS);

  const wasUp = await allRunning();
  say('bringing the whole stack up (Airflow and the Spark job included)');
  await up([], (line) => {
    say(`  ${line}`);
  });
  const kafka = localKafka('bench');
  const admin = kafka.admin();
  await admin.connect();
  const pool = new pg.Pool({ connectionString: localDatabaseUrl, max: 4 });
  const cassandra = localCassandra();
  await cassandra.connect();
  // Airflow's connection calls the functions on the default port.
  const offline = await startOffline();
  try {
    const api = pipelineClient(offline.baseUrl, await localApiKey());
    const runId = Date.now().toString(36);
    say('settling: publishing what the outbox holds and waiting for the sink and Spark to catch up');
    await api.drain();
    if (!(await caughtUp(admin, localResources.sinkConsumerGroup, 30 * 60_000)))
      throw new Error('the sink did not catch up with the topic within 30 min');
    await sparkCaughtUp(admin);

    // 1. The headline, through Airflow.
    const runs: DagRunResult[] = [];
    for (const size of sizes) {
      say(
        `\nheadline: ${thousands(size)} users through the users_pipeline DAG (chunks of ${thousands(CHUNK)})`,
      );
      runs.push(
        await dagRun({
          users: size,
          seed: `bench-${runId}-${size}`,
          pool,
          admin,
          offlinePid: offline.pid,
          timeoutMs: Math.max(10 * 60_000, size * 5),
          aggregatesGraceMs: 180_000,
        }),
      );
    }
    const headline = runs.at(-1);
    if (headline === undefined) throw new Error('no headline run');
    const bulk = await freshnessOf(pool, cassandra, headline.seed, FRESHNESS_SAMPLE);
    // Spark catching up a backlog would take the cores from the next phases.
    await sparkCaughtUp(admin);

    // 2. Steady freshness: 1,000 users a second, each second's batch fetched, persisted and published.
    say(`\nsteady freshness: ${rounds} s at 1,000 users/s`);
    const steadySeed = `bench-${runId}-steady`;
    const steadyStart = Date.now();
    const inFlight = pLimit(3);
    await Promise.all(
      Array.from({ length: rounds }, (_, round) =>
        (async () => {
          await sleep(steadyStart + round * 1000 - Date.now());
          await inFlight(async () => {
            const batch = await api.fetch(1000, steadySeed, round + 1);
            await api.persist(String(batch['key']));
            await api.drain();
          });
        })(),
      ),
    );
    await caughtUp(admin, localResources.sinkConsumerGroup, 120_000);
    const steady = await freshnessOf(pool, cassandra, steadySeed, rounds * 1000);

    // 3. Each stage on its own, in chunk-sized calls, then the raw ceilings with the same records.
    say(
      `\nstage by stage: ${thousands(direct)} users in calls of ${thousands(CHUNK)}, ${IN_FLIGHT} in flight`,
    );
    const directSeed = `bench-${runId}-direct`;
    const pages = Array.from({ length: Math.ceil(direct / CHUNK) }, (_, i) => i + 1);
    const count = (page: number): number => Math.min(CHUNK, direct - (page - 1) * CHUNK);
    const calls = pLimit(IN_FLIGHT);
    const from = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o.high]));
    const fetched = await timed(() =>
      Promise.all(
        pages.map((page) =>
          calls(async () => String((await api.fetch(count(page), directSeed, page))['key'])),
        ),
      ),
    );
    const persisted = await timed(() =>
      Promise.all(fetched.value.map((key) => calls(() => api.persist(key)))),
    );
    const published = await timed(async () =>
      (await Promise.all([api.drain(), api.drain()])).reduce((a, b) => a + b),
    );
    const publishEnded = Date.now();
    if (!(await caughtUp(admin, localResources.sinkConsumerGroup, 30 * 60_000)))
      throw new Error('the sink did not catch up within 30 min');
    const directUsers = await pool.query<{ user_key: string }>(
      'SELECT user_key::text FROM users WHERE source_seed = $1',
      [directSeed],
    );
    const sunkAt = [
      ...(
        await sunkAtOf(
          cassandra,
          directUsers.rows.map((r) => r.user_key),
          usersTable,
        )
      ).values(),
    ];
    // The sink alone: what it wrote after publish ended, when it had the cores to itself (and Spark).
    // If it kept up with publish and left too little for that, its rate over the whole phase.
    const alone = sunkAt.filter((at) => at > publishEnded);
    const sinkAlone = alone.length >= direct / 10;
    const sinkRate = sinkAlone
      ? rate(alone.length, Math.max(...alone) - publishEnded)
      : rate(sunkAt.length, Math.max(...sunkAt) - Math.min(...sunkAt));
    const sinkRateBeside = rate(sunkAt.length, Math.max(...sunkAt) - Math.min(...sunkAt));

    say('raw ceilings with the same records');
    const messages = await recordsFrom(kafka, topic, from, direct);
    const registry = new SchemaRegistry({ host: endpoints.registry.url });
    const events = await Promise.all(
      messages.map(async (m) => UserEvent.parse(await registry.decode(m.value ?? Buffer.alloc(0)))),
    );
    // The same keys and values in the order publish sent them (a consumer reads them partition by
    // partition; 2000 of one partition in one send would exceed the broker's 1 MB batch limit).
    const produced = [...messages]
      .sort((a, b) => Number(a.timestamp) - Number(b.timestamp) || a.partition - b.partition)
      .map(({ key, value }) => ({ key, value }));
    const ceilings = {
      kafkaProduceNone: await rawProduceRate(kafka, admin, produced, CompressionTypes.None),
      kafkaProduceGzip: await rawProduceRate(kafka, admin, produced, CompressionTypes.GZIP),
      cassandraWrite: await rawCassandraRate(cassandra, events),
      postgresCopy: (await rawCopyRate(pool, directSeed)).rate,
    };

    // 4. Each function's peak memory over a run's calls, alone in a process. The bundles `sls
    // offline` built stay in .esbuild after it stops.
    say(
      `\npeak memory of each function over the calls of ${thousands(direct)} users, each alone in a process`,
    );
    await offline.stop();
    const memorySeed = `bench-${runId}-memory`;
    await ensureTopic(admin, MEMORY_TOPIC, 6, () => undefined);
    const workDir = path.join(stackHome, 'bench');
    mkdirSync(workDir, { recursive: true });
    const keysFile = path.join(workDir, 'memory-keys.txt');
    const sinkEvents = path.join(workDir, 'sink-events.jsonl');
    const heapMb = FUNCTION_HEAP_MB;
    const fetchHost = hosted('fetch', `${CHUNK}:${memorySeed}:${pages.length}`, { heapMb });
    writeFileSync(keysFile, `${(fetchHost.result['keys'] as string[]).join('\n')}\n`);
    writeSinkEvents(topic, messages, sinkEvents);
    const functionPeakRssMb = {
      fetch: fetchHost.peakRssMb,
      persist: hosted('persist', keysFile, { heapMb }).peakRssMb,
      // To a topic of its own: these events must not become the next sink's backlog.
      publish: hosted('publish', '', { heapMb, environment: { USERS_TOPIC: MEMORY_TOPIC } }).peakRssMb,
      sink: hosted('sink', sinkEvents, { heapMb }).peakRssMb,
    };

    const figures = {
      headline: runs.map(headlineFigures),
      freshnessRun: { p50: percentile(bulk, 50), p99: percentile(bulk, 99), max: percentile(bulk, 100) },
      freshnessSteady: {
        p50: percentile(steady, 50),
        p99: percentile(steady, 99),
        max: percentile(steady, 100),
      },
      direct: {
        users: direct,
        fetch: rate(direct, fetched.ms),
        persist: rate(direct, persisted.ms),
        publish: rate(published.value, published.ms),
        sink: sinkRate,
        sinkBesidePublish: sinkRateBeside,
      },
      ceilings,
      functionPeakRssMb,
    };
    const top = headlineFigures(headline);
    const ratio = (stage: number, ceiling: number): string => `${Math.round((100 * stage) / ceiling)}%`;
    const table: Figure[] = [
      {
        label: `end to end, ${thousands(headline.users)} users through the DAG`,
        value: `${thousands(top.endToEnd)} users/s`,
        target: '≥ 5000',
        met: top.endToEnd >= 5000,
        note: `trigger → last user in Cassandra ${top.inCassandraS} s; in the aggregates ${top.inAggregatesS ?? '–'} s; DAG run ${top.dagRunS} s`,
      },
      {
        label: 'freshness during the run',
        value: `p50 ${figures.freshnessRun.p50} ms, p99 ${figures.freshnessRun.p99} ms`,
        target: 'p99 < 5000 ms',
        met: figures.freshnessRun.p99 < 5000,
        note: `PostgreSQL commit → Cassandra, ${thousands(bulk.length)} users sampled`,
      },
      {
        label: 'freshness, steady 1,000 users/s',
        value: `p50 ${figures.freshnessSteady.p50} ms, p99 ${figures.freshnessSteady.p99} ms`,
        target: 'p99 < 1000 ms',
        met: figures.freshnessSteady.p99 < 1000,
        note: `${rounds} × 1,000 users, one batch a second`,
      },
      {
        label: 'CPU per user, all processes',
        value: `${top.cpuMsPerUserTotal} ms`,
        target: '≤ 0.4 ms (5,000 users/s on 2 cores)',
        met: top.cpuMsPerUserTotal <= 0.4,
        note: Object.entries(top.cpuMsPerUser)
          .sort((a, b) => b[1] - a[1])
          .map(([name, ms]) => `${name} ${ms}`)
          .join(', '),
      },
      {
        label: 'fetch → S3',
        value: `${thousands(figures.direct.fetch)} users/s`,
        note: 'calls of 5,000, 4 in flight',
      },
      {
        label: 'persist → PostgreSQL',
        value: `${thousands(figures.direct.persist)} users/s`,
        note: `${ratio(figures.direct.persist, ceilings.postgresCopy)} of raw COPY (${thousands(ceilings.postgresCopy)} rows/s)`,
      },
      {
        label: 'publish → Kafka',
        value: `${thousands(figures.direct.publish)} msg/s`,
        target: '≥ 15000',
        met: figures.direct.publish >= 15_000,
        note: `2 drains at once; ${ratio(figures.direct.publish, ceilings.kafkaProduceNone)} of raw produce (${thousands(ceilings.kafkaProduceNone)} msg/s; gzip ${thousands(ceilings.kafkaProduceGzip)})`,
      },
      {
        label: 'sink → Cassandra',
        value: `${thousands(sinkRate)} rows/s`,
        target: '≥ 8000, ≥ 70% of raw',
        met: sinkRate >= 8000 && sinkRate >= 0.7 * ceilings.cassandraWrite,
        note:
          `${ratio(sinkRate, ceilings.cassandraWrite)} of raw Cassandra (${thousands(ceilings.cassandraWrite)} rows/s, 128 in flight); ` +
          (sinkAlone
            ? `${thousands(alone.length)} rows after publish ended; ${thousands(sinkRateBeside)} rows/s over the whole phase, beside publish`
            : 'over the whole phase: it kept up with publish'),
      },
      ...Object.entries(functionPeakRssMb).map(([name, mb]) => ({
        label: `peak RSS, ${name}`,
        value: `${mb} MB`,
        target: '< 300 MB',
        met: mb < 300,
        note: `its bundle alone on plain Node, the calls of ${thousands(direct)} users, heap limit ${FUNCTION_HEAP_MB} MB`,
      })),
      ...runs.map((run) => ({
        label: `peak RSS, sls offline, ${thousands(run.users)} users`,
        value: `${headlineFigures(run).peakRssMb['sls offline'] ?? 0} MB`,
        note: 'the framework, every function (worker threads) and the Kafka trigger',
      })),
    ];
    const widths = [0, 1, 2].map((i) =>
      Math.max(...table.map((f) => [f.label, f.value, f.target ?? ''][i]?.length ?? 0)),
    );
    say('');
    for (const f of table) {
      const mark = f.met === undefined ? ' ' : f.met ? '✓' : '✗';
      say(
        `${f.label.padEnd(widths[0] ?? 0)}  ${f.value.padEnd(widths[1] ?? 0)}  ${(f.target ?? '').padEnd(widths[2] ?? 0)} ${mark}  ${f.note ?? ''}`,
      );
    }
    writeResults('pipeline', { when: new Date().toISOString(), users: headline.users, rounds, figures });

    const series = (pick: (counts: DagRunResult['samples'][number]['counts']) => number): Point[] =>
      headline.samples.map((s): Point => [s.t, pick(s.counts)]);
    const labels = { persisted: 'persist', published: 'publish', sunk: 'sink', aggregated: 'Spark' } as const;
    const scale: ScalePoint[] =
      runs.length > 1
        ? runs.map((run) => {
            const f = headlineFigures(run);
            return { users: run.users, seconds: f.inCassandraS, peakRssMb: f.peakRssMb['sls offline'] ?? 0 };
          })
        : [];
    const report = path.join(stackHome, 'bench', 'pipeline.html');
    writeReport(report, {
      title: 'Pipeline benchmark',
      when: new Date().toISOString(),
      users: headline.users,
      machine: machineSummary(),
      figures: table,
      throughput: Object.fromEntries(
        FLOW_STAGES.map((stage) => [
          labels[stage],
          ratesOver(
            series((c) => c[stage]),
            throughputWindowS(headline.inCassandraS),
          ),
        ]),
      ),
      consumerLag: {
        sink: series((c) => Math.max(0, c.published - c.sunk)),
        Spark: series((c) => Math.max(0, c.published - c.aggregated)),
      },
      freshness: freshnessHistogram(bulk),
      ...samplerCharts(headline.processes),
      scale,
    });
    say(`report written to ${report}`);
  } finally {
    await offline.stop();
    await admin.disconnect();
    await cassandra.shutdown();
    await pool.end();
    if (!wasUp) await down();
  }
}

runMain('bench', main, { usage: USAGE, stack: true });
