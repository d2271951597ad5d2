import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { sparkQueries } from '#infra/pipeline/resources.ts';
import { localResources } from '../local-stage/resources.ts';
import { PrerequisiteError } from '../lib/errors.ts';
import { downloadsDir, repoRoot } from '../lib/paths.ts';
import { isAlive } from '../lib/process.ts';
import { fetchMavenClosure, findJava, installPythonVenv, onPath } from '../lib/toolchain.ts';
import { ProcessService, type Progress } from '../service.ts';
import { versions } from '../versions.ts';

/** Where the Spark services listen, all on 127.0.0.1. */
export const sparkEndpoints = {
  masterUrl: 'spark://127.0.0.1:7077',
  masterPort: 7077,
  masterUiPort: 8090,
  masterUi: 'http://127.0.0.1:8090',
  workerPort: 7078,
  workerUiPort: 8091,
  workerUi: 'http://127.0.0.1:8091',
  /** The stack's job driver's UI (a test's own runs have none). */
  jobUiPort: 4040,
  jobUi: 'http://127.0.0.1:4040',
} as const;

const requirementsFile = path.join(repoRoot, 'spark/requirements.txt');
const venv = path.join(downloadsDir, `spark-${versions.spark}`);
/** The connectors' jars and what they need beyond Spark's own jars (see provisionSpark). */
const connectors = path.join(downloadsDir, `spark-connectors-${versions.spark}`);
const CONNECTORS = [
  `org.apache.spark:spark-sql-kafka-0-10_2.12:${versions.spark}`,
  `org.apache.spark:spark-avro_2.12:${versions.spark}`,
  `com.datastax.spark:spark-cassandra-connector_2.12:${versions.sparkCassandraConnector}`,
];
/** The job's entry file (spark-submit takes a file; it imports the users_aggregates package beside it). */
const jobFile = path.join(repoRoot, 'spark/job.py');

/** A program of the Spark venv: `python` (pytest runs as `python -m pytest spark/tests`), `ruff`. */
export const sparkBin = (name = 'python'): string => path.join(venv, 'bin', name);

/** SPARK_HOME: the pyspark package folder of the venv, which carries Spark's jars and scripts. */
function sparkHome(): string {
  const lib = path.join(venv, 'lib');
  const python = existsSync(lib) ? readdirSync(lib).find((name) => name.startsWith('python3')) : undefined;
  if (python === undefined)
    throw new PrerequisiteError(`the Spark venv is missing: run npm run stack -- up spark-master`);
  return path.join(lib, python, 'site-packages', 'pyspark');
}

/** Spark 3.5 runs on Java 17, as Cassandra does: the same JDK, found the same way. */
function sparkJava(): string {
  return findJava({ min: 17, max: 17, envVar: 'CASSANDRA_JAVA_HOME', neededBy: 'Spark 3.5' });
}

/**
 * Installs the Spark venv (spark/requirements.txt: pyspark, pytest, ruff) with uv, and the connectors'
 * jars with Maven, each once. The jars are the Maven closure of the three connectors, less the jars
 * Spark already ships (same artifact name): they are resolved once into `.local/downloads/` with the
 * project's Maven helper (its local repository, one Maven at a time) and passed with `--jars`, so a
 * submit neither resolves nor downloads anything, and executors fetch only what Spark lacks.
 */
export async function provisionSpark(progress: Progress): Promise<void> {
  if (onPath('python3') === undefined) {
    throw new PrerequisiteError('Spark needs python3 with venv: apt-get install python3-venv');
  }
  const requirements = await readFile(requirementsFile, 'utf8');
  if (!requirements.includes(`pyspark==${versions.spark}\n`)) {
    throw new Error(`spark/requirements.txt must pin pyspark==${versions.spark} (infra/stack/versions.ts)`);
  }
  await installPythonVenv({
    target: venv,
    python: 'python3',
    pipArgs: ['-r', requirementsFile],
    stamp: createHash('sha256').update(requirements).digest('hex'),
    progress,
    announce: () => {
      progress(`installing pyspark ${versions.spark} into its venv (spark/requirements.txt)`);
    },
  });
  await fetchMavenClosure(
    {
      target: connectors,
      neededBy: 'Spark',
      announce: () => {
        progress('fetching the Kafka, Avro and Cassandra connectors from Maven Central');
      },
    },
    CONNECTORS,
  );
}

/** An artifact's name without its version: `kafka-clients-3.4.1.jar` → `kafka-clients`. */
const artifactOf = (jar: string): string => jar.replace(/-\d[\w.-]*\.jar$/, '');

/** The connector jars Spark lacks, for `--jars`. */
export function connectorJars(): string[] {
  const shipped = new Set(readdirSync(path.join(sparkHome(), 'jars')).map(artifactOf));
  const libs = path.join(connectors, 'libs');
  return readdirSync(libs)
    .filter((jar) => jar.endsWith('.jar') && !shipped.has(artifactOf(jar)))
    .sort()
    .map((jar) => path.join(libs, jar));
}

/**
 * Spark's log settings for our processes: warnings and errors, plus the master's and worker's own
 * registrations and the job's lines (it logs through Python's logging, not log4j).
 */
const LOG4J2 = `# Written by the stack (infra/stack/services/spark.ts): edit that file, not this one.
rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
logger.deploy.name = org.apache.spark.deploy
logger.deploy.level = info
`;

/**
 * The environment of every Spark process here: Java 17, 127.0.0.1 only, small daemons, and a conf
 * folder of ours (`confDir`, made here) so that nothing from a machine-wide Spark install leaks in.
 */
function sparkEnvironment(confDir: string): NodeJS.ProcessEnv {
  mkdirSync(confDir, { recursive: true });
  writeFileSync(path.join(confDir, 'log4j2.properties'), LOG4J2);
  return {
    SPARK_HOME: sparkHome(),
    JAVA_HOME: path.dirname(path.dirname(sparkJava())),
    // Every socket Spark opens (RPC, block manager, UIs, executors) binds this address.
    SPARK_LOCAL_IP: '127.0.0.1',
    SPARK_LOCAL_HOSTNAME: '127.0.0.1',
    SPARK_DAEMON_MEMORY: '512m',
    SPARK_CONF_DIR: confDir,
    PYSPARK_PYTHON: sparkBin('python'),
    PYSPARK_DRIVER_PYTHON: sparkBin('python'),
  };
}

const MasterState = z.object({
  status: z.string(),
  workers: z.array(z.object({ id: z.string(), state: z.string() })),
});
const WorkerState = z.object({ id: z.string() });

async function getJson<T>(url: string, schema: z.ZodType<T>): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return schema.parse(await response.json());
}

/** What the Spark processes share: the venv, the jars, Java, the environment. */
abstract class SparkProcess extends ProcessService {
  override readonly startTimeoutMs: number = 120_000;
  /** The conf folder of ours (a getter: the name is set by the subclass). */
  protected get conf(): string {
    return path.join(this.paths.root, 'conf');
  }

  checkPrerequisites(): Promise<void> {
    sparkJava();
    return Promise.resolve();
  }

  async provision(progress: Progress): Promise<void> {
    await provisionSpark(progress);
    await mkdir(this.conf, { recursive: true });
  }

  protected daemon(
    mainClass: string,
    args: string[],
  ): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
    // spark-class execs the JVM, so the pid we record is the daemon's own.
    return {
      command: path.join(sparkHome(), 'bin', 'spark-class'),
      args: [mainClass, ...args],
      env: sparkEnvironment(this.conf),
    };
  }
}

/** The standalone master. */
class SparkMasterService extends SparkProcess {
  readonly name = 'spark-master';
  readonly summary = `Spark ${versions.spark} standalone master (pyspark wheel, Java 17), UI ${sparkEndpoints.masterUi}`;
  readonly ports = [sparkEndpoints.masterUiPort, sparkEndpoints.masterPort];

  protected command(): Promise<{ command: string; args: string[]; env: NodeJS.ProcessEnv }> {
    return Promise.resolve(
      this.daemon('org.apache.spark.deploy.master.Master', [
        '--host',
        '127.0.0.1',
        '--port',
        String(sparkEndpoints.masterPort),
        '--webui-port',
        String(sparkEndpoints.masterUiPort),
      ]),
    );
  }

  /** Healthy once the master answers its JSON status as ALIVE (not STANDBY or RECOVERING). */
  async isHealthy(): Promise<boolean> {
    return (await getJson(`${sparkEndpoints.masterUi}/json/`, MasterState)).status === 'ALIVE';
  }
}

/** The one worker: 2 cores, 2 GB for executors, its work folder (executors' files) under `.local/`. */
class SparkWorkerService extends SparkProcess {
  readonly name = 'spark-worker';
  readonly summary = `Spark ${versions.spark} worker, 2 cores and 2 GB for executors, UI ${sparkEndpoints.workerUi}`;
  readonly ports = [sparkEndpoints.workerUiPort, sparkEndpoints.workerPort];
  override readonly dependsOn = ['spark-master'];

  override async provision(progress: Progress): Promise<void> {
    await super.provision(progress);
    await mkdir(this.paths.data, { recursive: true });
  }

  protected command(): Promise<{ command: string; args: string[]; env: NodeJS.ProcessEnv }> {
    const spec = this.daemon('org.apache.spark.deploy.worker.Worker', [
      sparkEndpoints.masterUrl,
      '--host',
      '127.0.0.1',
      '--port',
      String(sparkEndpoints.workerPort),
      '--webui-port',
      String(sparkEndpoints.workerUiPort),
      '--cores',
      '2',
      '--memory',
      '2g',
      '--work-dir',
      this.paths.data,
    ]);
    // Executors' scratch space (shuffle and spill files) under .local/ too, not /tmp.
    spec.env['SPARK_LOCAL_DIRS'] = path.join(this.paths.data, 'scratch');
    // Finished applications' folders (executor logs, fetched jars) are cleaned after a day.
    spec.env['SPARK_WORKER_OPTS'] =
      '-Dspark.worker.cleanup.enabled=true -Dspark.worker.cleanup.interval=3600 -Dspark.worker.cleanup.appDataTtl=86400';
    return Promise.resolve(spec);
  }

  /** Healthy once the master lists this worker (by the id its own UI reports) as ALIVE. */
  async isHealthy(): Promise<boolean> {
    const { id } = await getJson(`${sparkEndpoints.workerUi}/json/`, WorkerState);
    const master = await getJson(`${sparkEndpoints.masterUi}/json/`, MasterState);
    return master.workers.some((worker) => worker.id === id && worker.state === 'ALIVE');
  }
}

/** How one run of the job is submitted: where it reads, where it writes, and how it ends. */
export interface SparkJobOptions {
  /** The topic; its subject is `<topic>-value`. Default: the pipeline's users topic. */
  readonly topic?: string;
  /** The Cassandra keyspace holding the aggregate tables. Default: the pipeline's. */
  readonly keyspace?: string;
  /** The checkpoint folder (one sub-folder per query): keep it to resume where the job stopped. */
  readonly checkpointDir: string;
  /** Process what the topic holds now, then exit (trigger availableNow). */
  readonly availableNow: boolean;
  /** Where the driver's stdout and stderr go. */
  readonly logFile: string;
  /** The driver's heartbeat file (see spark/README.md). */
  readonly statusFile?: string;
  /** Records per micro-batch at most. */
  readonly maxOffsetsPerTrigger?: number;
  /** Where a query with no checkpoint yet starts reading; the job's default is `earliest`. */
  readonly startingOffsets?: 'earliest' | 'latest';
  /** State partitions (fixed by a fresh checkpoint's first batch); the job's default is 4. */
  readonly shufflePartitions?: number;
  /** The driver's UI port on 127.0.0.1; without one the run has no UI (so runs never clash on 4040). */
  readonly uiPort?: number;
  /** The application's name on the master. */
  readonly appName?: string;
  /**
   * Each query commits its progress to the Kafka consumer group `<prefix>-<query>` (see
   * sparkConsumerGroup). Default: the job's own, the local stage's groups; a test's run passes its own.
   */
  readonly consumerGroupPrefix?: string;
}

/** The spark-submit command line of one run (client mode: the driver is the process we start). */
export function sparkSubmitCommand(options: SparkJobOptions): { command: string; args: string[] } {
  const conf = (key: string, value: string | number): string[] => ['--conf', `${key}=${value}`];
  const ui =
    options.uiPort === undefined
      ? conf('spark.ui.enabled', 'false')
      : [...conf('spark.ui.port', options.uiPort), ...conf('spark.port.maxRetries', 0)];
  const flags: [string, string | undefined][] = [
    ['--topic', options.topic],
    ['--keyspace', options.keyspace],
    ['--checkpoint-dir', options.checkpointDir],
    ['--status-file', options.statusFile],
    ['--max-offsets-per-trigger', options.maxOffsetsPerTrigger?.toString()],
    ['--starting-offsets', options.startingOffsets],
    ['--shuffle-partitions', options.shufflePartitions?.toString()],
    ['--consumer-group-prefix', options.consumerGroupPrefix],
  ];
  return {
    command: path.join(sparkHome(), 'bin', 'spark-submit'),
    args: [
      '--master',
      sparkEndpoints.masterUrl,
      '--deploy-mode',
      'client',
      '--name',
      options.appName ?? 'users-aggregates',
      '--driver-memory',
      '512m',
      // One core and 768 MB per application: the stack's job and a test's run fit on the worker together.
      '--executor-memory',
      '768m',
      ...conf('spark.cores.max', 1),
      ...conf('spark.executor.cores', 1),
      ...conf('spark.driver.host', '127.0.0.1'),
      ...conf('spark.driver.bindAddress', '127.0.0.1'),
      ...conf('spark.ui.showConsoleProgress', 'false'),
      ...ui,
      '--jars',
      connectorJars().join(','),
      jobFile,
      ...flags.flatMap(([flag, value]) => (value === undefined ? [] : [flag, value])),
      ...(options.availableNow ? ['--available-now'] : []),
    ],
  };
}

/**
 * Submits one run of the job to the cluster and returns the driver's process (spark-submit in client
 * mode), in a process group of its own: `process.kill(-child.pid, 'SIGKILL')` kills the driver JVM and
 * its Python side together, as a crash would. It runs in the spark-job service's folder, so that a
 * `stack down` sweeps a run that was left behind.
 */
export function submitSparkJob(options: SparkJobOptions): ChildProcess {
  const { command, args } = sparkSubmitCommand(options);
  const conf = path.join(sparkJob.paths.root, 'conf');
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const out = openSync(options.logFile, 'a');
  try {
    return spawn(command, args, {
      cwd: sparkJob.paths.root,
      env: { ...process.env, ...sparkEnvironment(conf) },
      detached: true,
      stdio: ['ignore', out, out],
    });
  } finally {
    closeSync(out);
  }
}

/** The driver's heartbeat: the queries its StreamingQueryManager holds, rewritten every 5 s. */
const JobStatus = z.object({
  pid: z.number(),
  at: z.number(),
  queries: z.array(z.object({ name: z.string(), active: z.boolean(), lastBatchId: z.number().nullable() })),
});
export type SparkJobStatus = z.infer<typeof JobStatus>;

/** The streaming queries the job runs, one per aggregate table. */
export const SPARK_JOB_QUERIES = sparkQueries;

/** Reads a run's status file; undefined when there is none yet. */
export async function readSparkJobStatus(statusFile: string): Promise<SparkJobStatus | undefined> {
  if (!existsSync(statusFile)) return undefined;
  return JobStatus.parse(JSON.parse(await readFile(statusFile, 'utf8')));
}

/**
 * The stack's job: runs continuously on the pipeline's topic and keyspace, with its checkpoint under
 * its data folder. It depends on the bootstrap, which makes what it reads and writes (the topic, the
 * schema, the Cassandra tables).
 */
class SparkJobService extends SparkProcess {
  readonly name = 'spark-job';
  readonly summary = `the users aggregates job (spark/), submitted to the master; driver UI ${sparkEndpoints.jobUi}`;
  readonly ports = [sparkEndpoints.jobUiPort];
  // The bootstrap makes the job's topic, schema and tables.
  override readonly dependsOn = ['bootstrap', 'spark-worker'];
  override readonly startTimeoutMs = 180_000;
  readonly statusFile = path.join(this.paths.data, 'status.json');
  readonly checkpointDir = path.join(this.paths.data, 'checkpoints');

  override async provision(progress: Progress): Promise<void> {
    await super.provision(progress);
    await mkdir(this.checkpointDir, { recursive: true });
  }

  /** A heartbeat left by an earlier driver must not pass for this one's. */
  override async start(): Promise<void> {
    await rm(this.statusFile, { force: true });
    await super.start();
  }

  protected command(): Promise<{ command: string; args: string[]; env: NodeJS.ProcessEnv }> {
    const { command, args } = sparkSubmitCommand({
      checkpointDir: this.checkpointDir,
      statusFile: this.statusFile,
      availableNow: false,
      logFile: this.stdoutLog,
      uiPort: sparkEndpoints.jobUiPort,
      consumerGroupPrefix: localResources.sparkConsumerGroupPrefix,
    });
    return Promise.resolve({ command, args, env: sparkEnvironment(this.conf) });
  }

  /**
   * Healthy while the driver runs and its heartbeat, at most 20 s old, lists both streaming queries
   * as active: the file is written by the driver from its own StreamingQueryManager.
   */
  async isHealthy(): Promise<boolean> {
    const pid = await this.pid();
    if (pid === undefined || !(await isAlive(pid))) return false;
    const status = await readSparkJobStatus(this.statusFile);
    if (status === undefined || (await stat(this.statusFile)).mtimeMs < Date.now() - 20_000) return false;
    return SPARK_JOB_QUERIES.every((name) => status.queries.some((q) => q.name === name && q.active));
  }

  /** The last micro-batch of each query. */
  async describe(): Promise<string> {
    const status = await readSparkJobStatus(this.statusFile).catch(() => undefined);
    if (status === undefined) return '';
    return status.queries.map((q) => `${q.name} batch ${q.lastBatchId ?? '-'}`).join(', ');
  }
}

export const sparkMaster = new SparkMasterService();
export const sparkWorker = new SparkWorkerService();
export const sparkJob = new SparkJobService();
