/**
 * `npm run demo [-- --users N] [--seed S] [--keep]`: runs the pipeline once, from a fresh clone if
 * need be. Brings the whole local stack up (installing it on first use): the pipeline's services,
 * Airflow, and the Spark cluster with the streaming job; starts `sls offline` with the Kafka trigger;
 * triggers one run of the `users_pipeline` DAG through Airflow's REST API; follows it stage by stage
 * (Airflow's tasks, the batch in PostgreSQL, Kafka and Cassandra, Spark's aggregates); and ends with
 * a summary. Without --keep it stops what it started; with --keep it leaves everything running and
 * prints the URLs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { RawBatch } from '#lib/batch.ts';
import { batchAggregates } from '#lib/snapshot/aggregates.ts';
import { localCassandra, localKafka, localQueue, localRawStore } from '#infra/stack/local-stage/clients.ts';
import { localApiKey, localDatabaseUrl, localResources } from '#infra/stack/local-stage/resources.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import { treeMemoryBytes } from '#infra/stack/lib/process.ts';
import { OFFLINE_FUNCTIONS_URL } from '#infra/stack/services/airflow.ts';
import { sparkEndpoints } from '#infra/stack/services/spark.ts';
import { down, status, up } from '#infra/stack/stack.ts';
import { z } from 'zod';
import { airflowClient, type TaskInstance } from '#lib/airflow-client.ts';
import { flowSince, readFlow, type FlowCounts } from './bench/flow.ts';
import { pipelineClient } from './http-client.ts';
import { startOffline, type Offline } from './offline.ts';
import { runMain, say } from './cli.ts';

const DAG_ID = 'users_pipeline';
const STAGES = ['plan', 'move_chunks', 'publish', 'verify'] as const;
/** What the DAG's verify task returns: the run's users, all in Cassandra, and its chunks' batches. */
const VerifiedRun = z.object({
  users: z.number(),
  inCassandra: z.number(),
  batches: z.array(z.object({ batchId: z.string(), key: z.string(), count: z.number() })),
});

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const megabytes = (bytes: number): string => `${Math.round(bytes / 2 ** 20).toLocaleString('en')} MB`;

/** Messages in the local dead-letter queue, visible or in flight. */
async function deadLetterDepth(): Promise<number> {
  const depth = await localQueue(localResources.deadLetterQueue).count();
  return depth.visible + depth.inFlight;
}

/** The whole stack's memory and `sls offline`'s, sampled until stopped; keeps the peak of their sum. */
function memorySampler(offlinePid: number) {
  let peak = { stack: 0, offline: 0 };
  const sampling = { on: true };
  const loop = (async () => {
    while (sampling.on) {
      const stack = (await status()).reduce((sum, s) => sum + s.memoryBytes, 0);
      const offline = await treeMemoryBytes(offlinePid);
      if (stack + offline > peak.stack + peak.offline) peak = { stack, offline };
      await sleep(5000);
    }
  })();
  return {
    stop: async () => {
      sampling.on = false;
      await loop;
      return peak;
    },
  };
}

/**
 * Pauses the DAG, if Airflow answers: best effort, on the way out. The runs its schedule made
 * meanwhile go too: left queued or half done, they would go on first at the next unpause.
 */
async function pauseDag(): Promise<void> {
  await airflowClient(endpoints.airflow.url, endpoints.airflow.login)
    .then(async (airflow) => {
      await airflow.setPaused(DAG_ID, true);
      await airflow.dropUnfinishedRuns(DAG_ID);
    })
    .catch(() => undefined);
}

/** One part per task: `plan ✓`, `move_chunks 1/2 ✓`, `publish running`, `verify waiting`. */
const stateLine = (tasks: readonly TaskInstance[]): string =>
  STAGES.map((stage) => {
    const instances = tasks.filter((t) => t.task_id === stage);
    const done = instances.filter((t) => t.state === 'success').length;
    const retry = instances.some((t) => t.try_number > 1) ? ' (retried)' : '';
    if (instances.length > 0 && done === instances.length)
      return instances.length > 1 ? `${stage} ${done}/${instances.length} ✓` : `${stage} ✓`;
    const state = instances.find((t) => t.state !== 'success')?.state ?? 'waiting';
    return instances.length > 1
      ? `${stage} ${done}/${instances.length} ${state}${retry}`
      : `${stage} ${state}${retry}`;
  }).join(' · ');

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '10000' },
      seed: { type: 'string', default: `demo-${Date.now().toString(36)}` },
      keep: { type: 'boolean', default: false },
    },
  });
  const users = Number(values.users);
  if (!Number.isInteger(users) || users < 1 || users > 1_000_000) {
    throw new Error('--users must be a whole number from 1 to 1000000');
  }
  const seed = values.seed;
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(seed)) throw new Error('--seed must be 1 to 64 letters, digits, _ or -');
  const started = Date.now();
  // Only what was down before is stopped at the end: services someone else started stay up.
  const downBefore = (await status())
    .filter((s) => s.kind === 'process' && s.pid === undefined)
    .map((s) => s.name);
  const timings: [string, number][] = [];
  const timed = async <T>(stage: string, task: () => Promise<T>): Promise<T> => {
    const begun = Date.now();
    const value = await task();
    timings.push([stage, Date.now() - begun]);
    return value;
  };

  await timed('stack up (with Airflow and Spark)', () =>
    up([], (line) => {
      say(`[stack] ${line}`);
    }),
  );
  let offline: Offline | undefined;
  let memory: ReturnType<typeof memorySampler> | undefined;
  const pool = new pg.Pool({ connectionString: localDatabaseUrl, max: 2 });
  const cassandra = localCassandra();
  const admin = localKafka('demo').admin();
  let complete = false;
  try {
    say('starting sls offline with the Kafka trigger…');
    // Airflow's connection names this address (OFFLINE_FUNCTIONS_URL): the default ports.
    const functions = await timed('sls offline', () => startOffline());
    offline = functions;
    if (functions.baseUrl !== OFFLINE_FUNCTIONS_URL) {
      throw new Error(`sls offline is not at ${OFFLINE_FUNCTIONS_URL}`);
    }
    memory = memorySampler(functions.pid);
    const api = pipelineClient(functions.baseUrl, await localApiKey());
    say(`the pipeline console: ${functions.baseUrl}/console   (API key: ${await localApiKey()})`);
    const airflow = await airflowClient(endpoints.airflow.url, endpoints.airflow.login);
    await cassandra.connect();
    const dlqBefore = await deadLetterDepth();
    await admin.connect();
    const aggregatedUsersOf = batchAggregates(
      () => Promise.resolve(pool),
      () => Promise.resolve(cassandra),
      localResources.keyspace,
      { countOpenMinutes: true },
    );
    // On a fresh stack the DAG processor may not have parsed the DAG yet.
    await airflow.waitForDag(DAG_ID, 120_000);

    // Queued runs start in order of run_after. Unpausing makes the schedule queue a run for the last
    // 5-minute mark at once; a run_after before that mark puts the demo's run first.
    const baseline = await readFlow(pool, admin, localResources.usersTopic, {
      sink: localResources.sinkConsumerGroup,
      spark: localResources.sparkConsumerGroups,
    });
    const runId = await airflow.trigger(
      DAG_ID,
      `demo__${new Date().toISOString()}`,
      { count: users, seed, nat: null },
      new Date(Date.now() - 600_000),
    );
    await airflow.setPaused(DAG_ID, false);
    say(
      `\nAirflow: triggered ${DAG_ID} run ${runId} (${users} users, seed ${seed}) and unpaused the DAG ` +
        '(its schedule then queues a run of its own, which waits for this one: one run at a time)',
    );
    say(
      `  follow it in the UI: ${endpoints.airflow.url}/dags/${DAG_ID} (login ${endpoints.airflow.login.username} / ${endpoints.airflow.login.password})\n`,
    );

    // Follow the run: Airflow's tasks, and the stores' counters since the trigger, until it ends.
    const runStarted = Date.now();
    const groups = { sink: localResources.sinkConsumerGroup, spark: localResources.sparkConsumerGroups };
    const readCounts = (): Promise<FlowCounts> => readFlow(pool, admin, localResources.usersTopic, groups);
    let counts = flowSince(baseline, baseline);
    let tasks: TaskInstance[] = [];
    let state = 'queued';
    let lastLine = '';
    const follow = async (): Promise<void> => {
      tasks = await airflow.taskInstances(DAG_ID, runId);
      counts = flowSince(await readCounts(), baseline);
      const line =
        `${stateLine(tasks)} | PostgreSQL ${counts.persisted} · Kafka ${counts.published} · ` +
        `Cassandra ${counts.sunk} · aggregates ${counts.aggregated}`;
      if (line !== lastLine) say(`[${seconds(Date.now() - runStarted).padStart(7)}] ${line}`);
      lastLine = line;
    };
    const runDeadline = Date.now() + 60 * 60_000;
    while (!['success', 'failed'].includes(state) && Date.now() < runDeadline) {
      await sleep(2000);
      state = (await airflow.run(DAG_ID, runId)).state;
      await follow();
    }
    const ownRun = await airflow.run(DAG_ID, runId);
    // The run's own figures: its chunks' batches, as verify found them in PostgreSQL and Cassandra.
    // (The counters above count whatever else moved meanwhile too, such as the schedule's runs.)
    const verified =
      state === 'success' ? VerifiedRun.parse(await airflow.returnValue(DAG_ID, runId, 'verify')) : undefined;
    const batches = verified?.batches ?? [];
    const store = localRawStore();
    let landed = 0;
    let published = 0;
    for (const batch of batches) {
      landed += RawBatch.parse(await store.get(batch.key)).users.length;
      published += Number((await api.status(batch.batchId))['published']);
    }
    // Spark's micro-batches trail the sink by a few seconds: wait for the run's users in its
    // aggregates, within a bound.
    const aggregatedOfRun = async (): Promise<number> => {
      let sum = 0;
      for (const batch of batches) sum += (await aggregatedUsersOf(batch.batchId)) ?? 0;
      return sum;
    };
    const sparkDeadline = Date.now() + 180_000;
    let aggregated = await aggregatedOfRun();
    while (state === 'success' && aggregated < users && Date.now() < sparkDeadline) {
      await sleep(2000);
      const now = await aggregatedOfRun();
      if (now !== aggregated)
        say(
          `[${seconds(Date.now() - runStarted).padStart(7)}] Spark's aggregates: ${now} of the run's users`,
        );
      aggregated = now;
    }
    const aggregatesMs = Date.now() - runStarted;
    const dlq = (await deadLetterDepth()) - dlqBefore;
    const peak = await memory.stop();
    const runSeconds =
      ownRun.start_date === null || ownRun.end_date === null
        ? '–'
        : seconds(Date.parse(ownRun.end_date) - Date.parse(ownRun.start_date));
    const fetchedUsers = batches.reduce((sum, b) => sum + b.count, 0);
    complete =
      state === 'success' &&
      fetchedUsers === users &&
      verified?.users === users &&
      verified.inCassandra === users &&
      aggregated === users;

    /** A task's duration; a mapped task's longest instance. */
    const taskTime = (stage: string): string => {
      const durations = tasks.filter((t) => t.task_id === stage).flatMap((t) => t.duration ?? []);
      return durations.length === 0 ? '–' : `${Math.max(...durations).toFixed(1)} s`;
    };
    const rows: [string, string][] = [
      [`DAG run ${runId}`, state],
      [`chunks (batches of up to 5000)`, String(batches.length)],
      ['users fetched', String(fetchedUsers)],
      ['users in the raw batches', String(landed)],
      ['users in PostgreSQL', String(verified?.users ?? 0)],
      ['users published to Kafka', String(published)],
      ['users in Cassandra', String(verified?.inCassandra ?? 0)],
      ["users in Spark's aggregates", String(aggregated)],
      ['new records in the DLQ', String(dlq)],
      ...STAGES.map((stage): [string, string] => [`time: ${stage} task`, taskTime(stage)]),
      ['time: DAG run, start to end', runSeconds],
      ['time: trigger to aggregates', seconds(aggregatesMs)],
      ...timings.map(([stage, ms]): [string, string] => [`time: ${stage}`, seconds(ms)]),
      ['time: whole demo', seconds(Date.now() - started)],
      ['peak memory: the stack', megabytes(peak.stack)],
      ['peak memory: sls offline', megabytes(peak.offline)],
    ];
    say('');
    for (const [label, value] of rows) say(`${label.padEnd(32)} ${value}`);
    say(
      complete
        ? '\nevery user reached PostgreSQL, Cassandra and the aggregates'
        : '\nNOT every user arrived: see the DAG run in the Airflow UI and `npm run stack -- logs`',
    );
    if (values.keep) {
      say('\nleft running until Ctrl-C (which stops sls offline; `npm run stack -- down` stops the rest):');
      say(`  console         ${functions.baseUrl}/console   API key: ${await localApiKey()}`);
      say(
        `  Airflow UI      ${endpoints.airflow.url}   login ${endpoints.airflow.login.username} / ${endpoints.airflow.login.password}`,
      );
      say(`  Spark master    ${sparkEndpoints.masterUi}`);
      say(`  Spark worker    ${sparkEndpoints.workerUi}`);
      say(`  Spark job UI    ${sparkEndpoints.jobUi}`);
      say(
        `  functions       ${functions.baseUrl}/{fetch,persist,publish,status,health}   x-api-key: ${await localApiKey()}`,
      );
      say(`  registry        ${endpoints.registry.url}`);
      say(`  postgres        ${localDatabaseUrl}`);
      say(`  cassandra       ${endpoints.cassandra.contactPoints.join(',')}:${endpoints.cassandra.port}`);
    }
  } finally {
    await memory?.stop();
    await pool.end();
    await cassandra.shutdown();
    await admin.disconnect();
    if (values.keep && offline !== undefined) {
      const functions = offline;
      // Ctrl-C: the DAG is paused again (its schedule would call functions that are gone), then
      // sls offline stops; the stack stays up.
      process.once('SIGINT', () => {
        void pauseDag()
          .then(() => functions.stop())
          .finally(() => process.exit(0));
      });
    } else {
      await pauseDag();
      await offline?.stop();
      if (downBefore.length > 0)
        await down(downBefore, (line) => {
          say(`[stack] ${line}`);
        });
    }
  }
  return complete ? 0 : 1;
}

runMain('demo', main, {
  usage: 'usage: npm run demo [-- --users N] [--seed S] [--keep]   (10000 users by default)',
  keepAlive: true,
});
