/**
 * The headline run: N users through the `users_pipeline` DAG, triggered through Airflow's API, as a
 * user runs it, with the whole stack up. While it runs, the flow's counters (flow.ts) are read twice
 * a second and every process's CPU and memory once a second; a progress line shows each stage.
 */
import type { Admin } from 'kafkajs';
import type pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { airflowClient, unpausedForOwnRuns } from '#lib/airflow-client.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import { localResources } from '#infra/stack/local-stage/resources.ts';
import { services } from '#infra/stack/services/index.ts';
import { flowSince, readFlow, reachedAt, type FlowCounts, type FlowSample } from './flow.ts';
import { processTree, startSampler, type SampleTarget, type SamplerResult } from './proc-sampler.ts';
import { startProgress } from './progress.ts';

const DAG_ID = 'users_pipeline';

/** The processes whose CPU and memory are reported, each a group of the stack's services. */
const PROCESS_GROUPS: Readonly<Record<string, readonly string[]>> = {
  postgres: ['postgres'],
  kafka: ['kafka'],
  registry: ['registry'],
  cassandra: ['cassandra'],
  'aws emulator': ['aws'],
  randomuser: ['randomuser'],
  airflow: ['airflow-scheduler', 'airflow-dag-processor', 'airflow'],
  spark: ['spark-master', 'spark-worker', 'spark-job'],
};

/** What the sampler watches: the stack's process groups, `sls offline`, and this benchmark. */
export function processTargets(offlinePid: number): SampleTarget[] {
  const groups = Object.entries(PROCESS_GROUPS).map(([name, members]) => ({
    name,
    pids: async () => {
      const roots = await Promise.all(
        services.filter((s) => members.includes(s.name) && s.kind === 'process').map((s) => s.pid()),
      );
      return roots.flatMap((pid) => (pid === undefined ? [] : processTree(pid)));
    },
  }));
  return [
    ...groups,
    { name: 'sls offline', pids: () => processTree(offlinePid) },
    { name: 'bench', pids: () => [process.pid] },
  ];
}

export interface DagRunResult {
  readonly users: number;
  readonly runId: string;
  readonly seed: string;
  readonly state: string;
  /** Seconds from the trigger. */
  readonly inCassandraS: number;
  readonly inAggregatesS: number | undefined;
  readonly dagRunS: number;
  readonly samples: readonly FlowSample[];
  readonly processes: SamplerResult;
}

/**
 * Triggers a run of `users` with `seed` and follows it until the DAG run ended and every user is in
 * Cassandra and in Spark's aggregates (the aggregates within `aggregatesGraceMs` after Cassandra).
 */
export async function dagRun(options: {
  users: number;
  seed: string;
  pool: pg.Pool;
  admin: Admin;
  offlinePid: number;
  timeoutMs: number;
  aggregatesGraceMs: number;
}): Promise<DagRunResult> {
  const { users, seed, pool, admin } = options;
  const groups = { sink: localResources.sinkConsumerGroup, spark: localResources.sparkConsumerGroups };
  const read = (): Promise<FlowCounts> => readFlow(pool, admin, localResources.usersTopic, groups);
  const airflow = await airflowClient(endpoints.airflow.url, endpoints.airflow.login);
  await airflow.waitForDag(DAG_ID, 120_000);
  const baseline = await read();
  const processes = startSampler(processTargets(options.offlinePid), { intervalMs: 1000 });
  const started = Date.now();
  // Queued runs start in order of run_after: one before the schedule's last mark goes first.
  const runId = await airflow.trigger(
    DAG_ID,
    `bench__${new Date(started).toISOString()}`,
    { count: users, seed, nat: null },
    new Date(started - 600_000),
  );
  // A run the schedule made while the DAG was unpaused before (by a demo, an earlier benchmark)
  // would go on first once it is unpaused, and count in the figures: it goes.
  const restorePause = await unpausedForOwnRuns(airflow, DAG_ID);
  const samples: FlowSample[] = [];
  let latest: FlowCounts = { persisted: 0, published: 0, sunk: 0, aggregated: 0 };
  const stage = (name: string, done: number) => ({ name, done, total: users, startedAtMs: started });
  const progress = startProgress(() => [
    stage('PostgreSQL', latest.persisted),
    stage('Kafka', latest.published),
    stage('Cassandra', latest.sunk),
    stage('aggregates', latest.aggregated),
  ]);
  let state = 'queued';
  let dagEnded: number | undefined;
  try {
    const deadline = started + options.timeoutMs;
    for (let polls = 0; ; polls++) {
      latest = flowSince(await read(), baseline);
      const t = (Date.now() - started) / 1000;
      samples.push({ t, counts: latest });
      if (polls % 4 === 0 && dagEnded === undefined) {
        state = (await airflow.run(DAG_ID, runId)).state;
        if (state === 'success' || state === 'failed') dagEnded = Date.now();
      }
      if (state === 'failed')
        throw new Error(`the DAG run ${runId} failed: see its task logs in the Airflow UI`);
      const sunk = latest.sunk >= users;
      const aggregated = latest.aggregated >= users;
      const sunkAt = reachedAt(samples, 'sunk', users);
      const graceOver = sunkAt !== undefined && t - sunkAt > options.aggregatesGraceMs / 1000;
      if (dagEnded !== undefined && sunk && (aggregated || graceOver)) break;
      if (Date.now() > deadline) {
        throw new Error(
          `the run did not finish within ${options.timeoutMs / 60_000} min: DAG ${state}, ` +
            `${latest.persisted} persisted, ${latest.published} published, ${latest.sunk} in Cassandra`,
        );
      }
      await sleep(500);
    }
  } finally {
    await progress.stop();
    await restorePause();
  }
  const result = await processes.stop();
  const run = await airflow.run(DAG_ID, runId);
  const dagRunS =
    run.start_date === null || run.end_date === null
      ? (dagEnded - started) / 1000
      : (Date.parse(run.end_date) - started) / 1000;
  return {
    users,
    runId,
    seed,
    state,
    inCassandraS: reachedAt(samples, 'sunk', users) ?? Number.NaN,
    inAggregatesS: reachedAt(samples, 'aggregated', users),
    dagRunS,
    samples,
    processes: result,
  };
}
