/**
 * One chaos run (`npm run chaos`, and a shorter one in the e2e suite): users flow through the
 * `users_pipeline` DAG with the whole stack up, several runs and publish calls at once, while the
 * suite kills each process of the schedule with SIGKILL and brings it back. Poison is planted in the
 * users topic on the way. At the end every store is compared with PostgreSQL, the dead-letter queue
 * with the planted poison, and every log with the users' personal data.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Admin, Kafka } from 'kafkajs';
import pg from 'pg';
import { airflowClient, unpausedForOwnRuns } from '#lib/airflow-client.ts';
import { latestEncoder } from '#lib/schema-registry.ts';
import { UserEvent } from '#lib/user-event.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import { servicesDir, stackHome } from '#infra/stack/lib/paths.ts';
import { localCassandra, localKafka } from '#infra/stack/local-stage/clients.ts';
import { localApiKey, localDatabaseUrl, localResources } from '#infra/stack/local-stage/resources.ts';
import { up } from '#infra/stack/stack.ts';
import { waitUntil } from '#infra/stack/lib/wait.ts';
import { flowSince, readFlow, type FlowCounts } from '../bench/flow.ts';
import { pipelineClient } from '../http-client.ts';
import { startOffline, type Offline } from '../offline.ts';
import { caughtUp, sparkCaughtUp } from '../pipeline-waits.ts';
import {
  compareAggregates,
  compareDeadLetters,
  compareStores,
  redeliveries,
  type AggregateCell,
  type LetterSeen,
  type StoreComparison,
} from './checks.ts';
import { readDeadLetters } from './dead-letters.ts';
import { inject, type Injected } from './faults.ts';
import {
  addSecretsOfSeed,
  canaryLines,
  emptySecrets,
  logFilesSince,
  scanLogs,
  type Hit,
} from './log-scan.ts';
import { poisonCatalogue, type PoisonOutcome } from './poison.ts';
import { faultTable, type FaultRow } from './report.ts';
import { drawSchedule, FAULTS, type Fault, type Schedule } from './schedule.ts';

const DAG_ID = 'users_pipeline';
/** Users per chunk, as the DAG fetches them (one randomuser page). */
const CHUNK = 5000;
const topic = localResources.usersTopic;
const keyspace = localResources.keyspace;

export interface ChaosOptions {
  /** Users of the main DAG run (the load runs beside it add more). */
  readonly users: number;
  /** Kills of each fault. */
  readonly rounds: number;
  readonly seed: string;
  readonly faults?: readonly Fault[];
  /** The pause before each kill, drawn from the seed. */
  readonly pauseMs?: { readonly min: number; readonly max: number };
  /** The whole run's bound: the runs must end and the stores catch up within it. */
  readonly timeoutMs?: number;
  readonly say: (line: string) => void;
}

export interface PlantedPoison {
  readonly kind: string;
  readonly partition: number;
  readonly offset: string;
  readonly outcome: PoisonOutcome;
}

export interface ChaosResult {
  readonly seed: string;
  readonly schedule: Schedule;
  readonly startedAt: string;
  readonly durationS: number;
  readonly runs: readonly { runId: string; seed: string; users: number; state: string }[];
  readonly usersThroughDag: number;
  readonly publishLoad: { readonly calls: number; readonly failed: number };
  readonly kills: readonly Injected[];
  readonly poison: readonly PlantedPoison[];
  readonly stores: readonly Omit<StoreComparison, 'lost' | 'differing'>[];
  readonly lost: number;
  readonly differing: number;
  readonly kafka: { readonly records: number; readonly usersResent: number };
  readonly aggregates: { readonly cells: number; readonly off: readonly AggregateCell[] };
  readonly deadLetters: ReturnType<typeof compareDeadLetters> & { readonly planted: number };
  readonly outboxUnpublished: number;
  readonly logs: {
    readonly files: number;
    readonly bytes: number;
    readonly hits: readonly Hit[];
    /** Kinds of the planted canary leak the scan did not find (it must find all). */
    readonly canaryMissed: readonly string[];
  };
  readonly table: readonly FaultRow[];
}

/** What a run got wrong, one line each; empty when every guarantee held. */
export function failuresOf(result: ChaosResult): string[] {
  const failures: string[] = [];
  for (const run of result.runs)
    if (run.state !== 'success') failures.push(`DAG run ${run.runId} ${run.state}`);
  if (result.lost > 0) failures.push(`${result.lost} users in PostgreSQL never reached Cassandra`);
  if (result.differing > 0)
    failures.push(`${result.differing} users differ between PostgreSQL and Cassandra`);
  if (result.aggregates.off.length > 0)
    failures.push(`${result.aggregates.off.length} aggregate cells differ from PostgreSQL's GROUP BY`);
  const dl = result.deadLetters;
  if (dl.missing.length > 0) failures.push(`planted poison missing from the DLQ: ${dl.missing.join(', ')}`);
  if (dl.wrongReason.length > 0)
    failures.push(`dead letters with the wrong reason: ${dl.wrongReason.join('; ')}`);
  if (dl.unexpected.length > 0)
    failures.push(
      `${dl.unexpected.length} dead letters that were not planted: ${dl.unexpected
        .slice(0, 3)
        .map((l) => l.reason)
        .join('; ')}`,
    );
  if (dl.duplicates > 0) failures.push(`${dl.duplicates} planted records were dead-lettered twice`);
  if (result.outboxUnpublished > 0) failures.push(`${result.outboxUnpublished} outbox rows left unpublished`);
  if (result.logs.canaryMissed.length > 0)
    failures.push(
      `the log scan missed the planted ${result.logs.canaryMissed.join(', ')}: it cannot be trusted`,
    );
  if (result.logs.hits.length > 0) {
    const first = result.logs.hits[0];
    failures.push(
      `${result.logs.hits.length} personal values in logs (first: a ${first?.kind} in ${first?.file}:${first?.line})`,
    );
  }
  return failures;
}

/** The first record of the run's users in the topic after `from`, as published, with its event. */
async function templateRecord(
  kafka: Kafka,
  from: ReadonlyMap<number, string>,
  isRunUser: (key: string) => Promise<boolean>,
) {
  const registry = new SchemaRegistry({ host: endpoints.registry.url });
  const consumer = kafka.consumer({ groupId: `chaos-template-${Date.now()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    consumer.on(consumer.events.GROUP_JOIN, () => {
      for (const [partition, offset] of from) consumer.seek({ topic, partition, offset });
    });
    let found: { key: Buffer; value: Buffer; event: UserEvent } | undefined;
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        if (found !== undefined || message.key === null || message.value === null) return;
        if (!(await isRunUser(message.key.toString()))) return;
        const event = UserEvent.parse(await registry.decode(message.value));
        if (event.event_type === 'user.created') found = { key: message.key, value: message.value, event };
      },
    });
    const deadline = Date.now() + 10 * 60_000;
    while (found === undefined && Date.now() < deadline) await sleep(500);
    if (found === undefined) throw new Error('no record of the run reached the topic within 10 min');
    return found;
  } finally {
    await consumer.disconnect();
  }
}

/** Plants the catalogue for a real record of the run; returns where each record went. */
async function plantPoison(
  kafka: Kafka,
  from: ReadonlyMap<number, string>,
  db: pg.Pool,
  runSeed: string,
  say: (line: string) => void,
): Promise<PlantedPoison[]> {
  const template = await templateRecord(kafka, from, async (key) => {
    const { rows } = await db.query('SELECT 1 FROM users WHERE user_key::text = $1 AND source_seed = $2', [
      key,
      runSeed,
    ]);
    return rows.length > 0;
  });
  const registry = new SchemaRegistry({ host: endpoints.registry.url });
  const { schemaId } = await latestEncoder(registry, localResources.usersSubject);
  const schema = await registry.getSchema(schemaId);
  const encoder = { schemaId, encode: (event: object) => schema.toBuffer(event) };
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    const planted: PlantedPoison[] = [];
    for (const poison of poisonCatalogue(template, encoder, Date.now())) {
      const [meta] = await producer.send({
        topic,
        acks: -1,
        messages: [
          {
            key: poison.key,
            value: poison.value,
            ...(poison.headers === undefined ? {} : { headers: poison.headers }),
          },
        ],
      });
      if (meta === undefined) throw new Error(`the broker did not acknowledge the poison "${poison.kind}"`);
      planted.push({
        kind: poison.kind,
        partition: meta.partition,
        offset: meta.baseOffset ?? '',
        outcome: poison.outcome,
      });
    }
    say(`  planted ${planted.length} poison records, from a copy of user ${template.event.user_key}`);
    return planted;
  } finally {
    await producer.disconnect();
  }
}

async function topicEnds(admin: Admin): Promise<Map<number, string>> {
  return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o.high]));
}

/** Retries a call that fails while a service is down (the Airflow API during a PostgreSQL kill). */
async function patiently<T>(call: () => Promise<T>, timeoutMs = 180_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(2000);
    }
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const { say } = options;
  const faults = options.faults ?? FAULTS;
  const schedule = drawSchedule(
    options.seed,
    options.rounds,
    options.pauseMs ?? { min: 5000, max: 20_000 },
    faults,
  );
  const started = Date.now();
  say(
    `seed ${options.seed}: ${schedule.kills.length} kills, in this order: ${schedule.kills.map((k) => k.fault).join(', ')}`,
  );
  say('bringing the whole stack up (Airflow and the Spark job included)');
  await up([], (line) => {
    say(`  ${line}`);
  });
  const workDir = path.join(stackHome, 'chaos');
  mkdirSync(workDir, { recursive: true });
  const kafka = localKafka('chaos');
  const admin = kafka.admin();
  await admin.connect();
  const db = new pg.Pool({ connectionString: localDatabaseUrl, max: 4 });
  // A pool error (a killed PostgreSQL) must not end the run: the next query reconnects.
  db.on('error', () => undefined);
  const cassandra = localCassandra();
  await cassandra.connect();
  let offlineStarts = 0;
  const restartOffline = async (): Promise<Offline> => {
    offlineStarts += 1;
    return startOffline();
  };
  const keepOfflineLog = (instance: Offline, n: number): void => {
    writeFileSync(path.join(workDir, `sls-offline-${n}.log`), instance.output());
  };
  let offline = await restartOffline();
  const airflow = await airflowClient(endpoints.airflow.url, endpoints.airflow.login);
  let restorePause: (() => Promise<void>) | undefined;
  try {
    const api = pipelineClient(offline.baseUrl, await localApiKey());
    say('settling: draining the outbox, waiting for the sink and Spark to catch up');
    await api.drain();
    await caughtUp(admin, localResources.sinkConsumerGroup, 30 * 60_000);
    await sparkCaughtUp(admin);

    const from = await topicEnds(admin);
    const flowStart = Date.now();
    const flowGroups = { sink: localResources.sinkConsumerGroup, spark: localResources.sparkConsumerGroups };
    const baseline = await readFlow(db, admin, topic, flowGroups);
    await airflow.waitForDag(DAG_ID, 120_000);
    // An earlier chaos run cut short (Ctrl-C) leaves its runs going: they would hold the DAG's slots.
    await airflow.dropUnfinishedRuns(DAG_ID, 'chaos__');
    restorePause = await unpausedForOwnRuns(airflow, DAG_ID);
    // The seed repeats the schedule; the users are new at every run (the same users again would
    // change nothing in the stores, so there would be no flow for the kills to land on).
    const runSeed = `chaos-${options.seed}-${Date.now().toString(36)}`;
    const runs: { runId: string; seed: string; users: number; state: string }[] = [];
    const trigger = async (seed: string, users: number, tag: string): Promise<void> => {
      const runId = `chaos__${new Date().toISOString()}__${tag}`;
      await patiently(() =>
        airflow.trigger(DAG_ID, runId, { count: users, seed, nat: null }, new Date(Date.now() - 600_000)),
      );
      runs.push({ runId, seed, users, state: 'queued' });
      say(`  triggered ${runId}: ${users} users of seed ${seed}`);
    };
    // Load: the main run, a second seed beside it, and the main seed's first chunks again (the same
    // batches, persisted and published twice at once).
    await trigger(runSeed, options.users, 'main');
    await trigger(`${runSeed}-b`, Math.max(CHUNK, Math.round(options.users / 5)), 'beside');
    await trigger(runSeed, Math.min(options.users, 2 * CHUNK), 'overlap');
    const refreshRuns = async (): Promise<boolean> => {
      for (const run of runs) {
        if (run.state === 'success' || run.state === 'failed') continue;
        run.state = await patiently(async () => (await airflow.run(DAG_ID, run.runId)).state);
      }
      return runs.every((r) => r.state === 'success' || r.state === 'failed');
    };
    // Publish calls beside the DAG's: two at a time, every two seconds, until the runs end.
    const publishLoad = { calls: 0, failed: 0 };
    const loading = new AbortController();
    const load = (async () => {
      while (!loading.signal.aborted) {
        await Promise.all(
          [1, 2].map(async () => {
            publishLoad.calls += 1;
            try {
              await api.publish(2000);
            } catch {
              publishLoad.failed += 1;
            }
          }),
        );
        await sleep(2000);
      }
    })();
    const progress = async (): Promise<string> => {
      try {
        const c: FlowCounts = flowSince(await readFlow(db, admin, topic, flowGroups), baseline);
        return `persisted ${c.persisted}, published ${c.published}, in Cassandra ${c.sunk}, aggregated ${c.aggregated}`;
      } catch {
        return 'counters unavailable';
      }
    };

    // The first kill waits for the first chunk in PostgreSQL: Airflow takes a while to start a run.
    const moving = await waitUntil(
      async () => flowSince(await readFlow(db, admin, topic, flowGroups), baseline).persisted > 0,
      { timeoutMs: 5 * 60_000, intervalMs: 1000 },
    );
    if (!moving.ok)
      throw new Error('no user reached PostgreSQL within 5 min of the trigger: is Airflow running?');
    const kills: Injected[] = [];
    let poison: PlantedPoison[] | undefined;
    let more = 0;
    for (const [index, kill] of schedule.kills.entries()) {
      if (index === schedule.poisonAfterKills) poison = await plantPoison(kafka, from, db, runSeed, say);
      await sleep(kill.afterMs);
      // Every kill lands on moving data: when the runs have all ended, another one starts.
      if (await refreshRuns())
        await trigger(
          `${runSeed}-more${++more}`,
          Math.max(CHUNK, Math.round(options.users / 5)),
          `more${more}`,
        );
      say(
        `[${Math.round((Date.now() - started) / 1000)} s] kill -9 ${kill.fault} (${index + 1} of ${schedule.kills.length}); ${await progress()}`,
      );
      const previous = offline;
      // What `stack up` does about the kill: what it restarts, and what it waits for.
      const result = await inject(kill.fault, offline, restartOffline, (line) => {
        if (!/already running|^bootstrap/.test(line)) say(`    ${line}`);
      });
      if (result.offline !== previous) keepOfflineLog(previous, offlineStarts - 1);
      offline = result.offline;
      kills.push(result.injected);
      say(
        `  ${kill.fault} back in ${((result.injected.backAtMs - result.injected.killedAtMs) / 1000).toFixed(1)} s`,
      );
    }
    poison ??= await plantPoison(kafka, from, db, runSeed, say);

    say('every fault injected: waiting for the DAG runs to end');
    const deadline = started + (options.timeoutMs ?? 90 * 60_000);
    while (!(await refreshRuns())) {
      if (Date.now() > deadline)
        throw new Error(
          `the DAG runs did not end in time: ${runs.map((r) => `${r.runId} ${r.state}`).join(', ')}`,
        );
      await sleep(5000);
    }
    loading.abort();
    await load;
    // The schedule's own runs stop before the checks, so that nothing moves while they read.
    await restorePause();
    restorePause = undefined;
    for (const run of runs) say(`  ${run.runId}: ${run.state}`);
    say('draining the outbox, waiting for the sink and Spark to catch up');
    await api.drain();
    if (!(await caughtUp(admin, localResources.sinkConsumerGroup, 30 * 60_000)))
      throw new Error('the sink did not catch up within 30 min');
    const behind = await sparkCaughtUp(admin, 10 * 60_000);
    if (behind.length > 0) say(`  Spark's ${behind.join(', ')} still behind after 10 min`);
    const flowEnd = Date.now();
    const to = await topicEnds(admin);

    say('checking: PostgreSQL against Cassandra, Kafka, the aggregates, the dead-letter queue, the logs');
    const seeds = [...new Set(runs.map((r) => r.seed))];
    const stores = await Promise.all(seeds.map((seed) => compareStores(db, cassandra, keyspace, seed)));
    const keys = new Set(stores.flatMap((s) => s.keys));
    const poisonAt = new Set(poison.map((p) => `${p.partition}:${p.offset}`));
    const kafkaRead = await redeliveries(kafka, topic, from, to, keys, poisonAt);
    const aggregates = await compareAggregates(db, cassandra, keyspace, flowStart, flowEnd);
    const letters: LetterSeen[] = (await readDeadLetters()).filter(
      (l) => l.topic === topic && Date.parse(l.failedAt) >= flowStart,
    );
    const planted = new Map(
      poison.flatMap((p) =>
        p.outcome.deadLetter ? [[`${p.partition}:${p.offset}`, p.outcome.reason] as const] : [],
      ),
    );
    const deadLetters = { planted: planted.size, ...compareDeadLetters(planted, letters) };
    const { rows } = await db.query<{ n: string }>(
      'SELECT count(*) AS n FROM outbox WHERE published_at IS NULL',
    );
    keepOfflineLog(offline, offlineStarts);
    const secrets = emptySecrets();
    for (const seed of seeds)
      addSecretsOfSeed(
        secrets,
        seed,
        Math.max(...runs.filter((r) => r.seed === seed).map((r) => r.users)),
        CHUNK,
      );
    const { rows: emails } = await db.query<{ email: string }>(
      'SELECT DISTINCT email FROM users WHERE source_seed = ANY($1)',
      [seeds],
    );
    const unknown = emails.filter((e) => !secrets.email.has(e.email)).length;
    if (unknown > 0)
      throw new Error(
        `the log scan's users do not match PostgreSQL's (${unknown} e-mails unknown): it would miss leaks`,
      );
    // A leak planted on purpose, which the scan must find: proof that it would find a real one.
    const canary = canaryLines(secrets);
    const canaryFile = path.join(workDir, 'log-scan-canary.log');
    writeFileSync(canaryFile, `${canary.lines.join('\n')}\n`);
    const scanned = await scanLogs(logFilesSince(servicesDir, [workDir], flowStart), secrets);
    const canaryHits = new Set(scanned.hits.filter((h) => h.file === canaryFile).map((h) => h.kind));
    const logs = {
      files: scanned.files,
      bytes: scanned.bytes,
      hits: scanned.hits.filter((h) => h.file !== canaryFile),
      canaryMissed: canary.kinds.filter((kind) => !canaryHits.has(kind)),
    };

    const findings = {
      lost: stores.flatMap((s) => s.lost),
      differing: stores.flatMap((s) => s.differing),
      resent: kafkaRead.resent,
      aggregatesOff: aggregates.off.map((c) => ({ atMs: c.minuteMs, users: Math.abs(c.spark - c.postgres) })),
    };
    return {
      seed: options.seed,
      schedule,
      startedAt: new Date(started).toISOString(),
      durationS: Math.round((Date.now() - started) / 1000),
      runs,
      usersThroughDag: runs.reduce((sum, r) => sum + r.users, 0),
      publishLoad,
      kills,
      poison,
      stores: stores.map(({ seed, postgres, cassandra: inCassandra }) => ({
        seed,
        postgres,
        cassandra: inCassandra,
      })),
      lost: findings.lost.length,
      differing: findings.differing.length,
      kafka: { records: kafkaRead.records, usersResent: kafkaRead.resent.length },
      aggregates,
      deadLetters,
      outboxUnpublished: Number(rows[0]?.n ?? 0),
      logs,
      table: faultTable(faults, kills, findings),
    };
  } finally {
    if (restorePause !== undefined) await restorePause().catch(() => undefined);
    await offline.stop();
    await admin.disconnect();
    await cassandra.shutdown();
    await db.end();
  }
}
