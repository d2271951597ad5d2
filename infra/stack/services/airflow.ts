import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { z } from 'zod';
import { localApiKey } from '../local-stage/resources.ts';
import { endpoints } from '../endpoints.ts';
import { PrerequisiteError } from '../lib/errors.ts';
import { downloadsDir, repoRoot, servicePaths, stackHome } from '../lib/paths.ts';
import { run } from '../lib/process.ts';
import { installPythonVenv, onPath } from '../lib/toolchain.ts';
import { ProcessService, type Progress } from '../service.ts';
import { versions } from '../versions.ts';

const requirementsFile = path.join(repoRoot, 'airflow/requirements.txt');
const constraintsFile = path.join(repoRoot, 'airflow/constraints.txt');
const venv = path.join(downloadsDir, `airflow-${versions.airflow}`);
/** AIRFLOW_HOME, shared by the three processes: airflow.cfg-free, logs, the password file. */
const airflowHome = servicePaths('airflow').data;
const db = endpoints.postgres.airflow;

/** The venv's `airflow` command (and `python`, `pytest` and `ruff` beside it). */
export const airflowBin = (name = 'airflow'): string => path.join(venv, 'bin', name);

/** The Airflow connection id the DAG calls the functions through. */
export const PIPELINE_CONNECTION_ID = 'users_pipeline_api';

/** Where `sls offline` serves the functions (npm run offline, the demo), as the DAG's connection names it. */
export const OFFLINE_FUNCTIONS_URL = 'http://127.0.0.1:3000/local';

/** Installs Airflow's venv once: airflow/requirements.txt under the committed constraints file. */
export async function provisionAirflowVenv(progress: Progress): Promise<void> {
  if (onPath('python3') === undefined) {
    throw new PrerequisiteError('Airflow needs python3 with venv: apt-get install python3-venv');
  }
  // The stamp is the two files' content: editing either reinstalls.
  const stamp = createHash('sha256')
    .update(await readFile(requirementsFile))
    .update(await readFile(constraintsFile))
    .digest('hex');
  await installPythonVenv({
    target: venv,
    python: 'python3',
    pipArgs: ['-r', requirementsFile, '-c', constraintsFile],
    stamp,
    progress,
    announce: () => {
      progress(`installing Airflow ${versions.airflow} into its venv (pinned by airflow/constraints.txt)`);
    },
  });
}

/** A random value made once and kept under the stack's secrets folder (Airflow's JWT and session keys). */
async function keptSecret(name: string): Promise<string> {
  const file = path.join(stackHome, 'secrets', name);
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  await mkdir(path.dirname(file), { recursive: true });
  const value = randomBytes(32).toString('base64url');
  await writeFile(file, `${value}\n`, { mode: 0o600 });
  return value;
}

/**
 * The Airflow connection to the pipeline's functions, as Airflow reads it from AIRFLOW_CONN_*: the
 * base URL in `host` (HttpHook uses a host with a scheme as the base URL) and the API key as a header
 * (HttpHook sends the connection's extras as headers).
 */
export function pipelineConnection(baseUrl: string, apiKey: string): string {
  return JSON.stringify({ conn_type: 'http', host: baseUrl, extra: { 'x-api-key': apiKey } });
}

/**
 * The environment every Airflow process of the stack runs with (and `airflow dags test` in the tests):
 * no airflow.cfg, only these. The metadata database is the stack's PostgreSQL; LocalExecutor runs the
 * tasks; every listener is on 127.0.0.1; the DAG's connection points at `sls offline` with the local
 * API key.
 */
export async function airflowEnvironment(functionsUrl = OFFLINE_FUNCTIONS_URL): Promise<NodeJS.ProcessEnv> {
  const passwordsFile = path.join(airflowHome, 'passwords.json');
  await mkdir(airflowHome, { recursive: true });
  const { username, password } = endpoints.airflow.login;
  await writeFile(passwordsFile, JSON.stringify({ [username]: password }));
  const jwtSecret = await keptSecret('airflow-jwt-secret');
  return {
    AIRFLOW_HOME: airflowHome,
    AIRFLOW__CORE__DAGS_FOLDER: path.join(repoRoot, 'airflow/dags'),
    AIRFLOW__CORE__LOAD_EXAMPLES: 'False',
    AIRFLOW__CORE__EXECUTOR: 'LocalExecutor',
    // Two cores: a run's four tasks go one after another anyway.
    AIRFLOW__CORE__PARALLELISM: '4',
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: `postgresql+psycopg2://${db.user}:${db.password}@${endpoints.postgres.host}:${endpoints.postgres.port}/${db.database}`,
    AIRFLOW__CORE__EXECUTION_API_SERVER_URL: `${endpoints.airflow.url}/execution/`,
    AIRFLOW__API__HOST: '127.0.0.1',
    AIRFLOW__API__PORT: String(endpoints.airflow.port),
    AIRFLOW__API__WORKERS: '1',
    AIRFLOW__API__SECRET_KEY: await keptSecret('airflow-secret-key'),
    // The scheduler, the API server and the tasks must share it, or tasks cannot call the execution API.
    AIRFLOW__API_AUTH__JWT_SECRET: jwtSecret,
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS: `${username}:admin`,
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE: passwordsFile,
    AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK: 'True',
    AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST: '127.0.0.1',
    AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT: String(endpoints.airflow.schedulerHealthPort),
    // A new DAG waits for a person (or the demo) to unpause it: no surprise runs on `stack up`.
    AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION: 'True',
    AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL: '30',
    [`AIRFLOW_CONN_${PIPELINE_CONNECTION_ID.toUpperCase()}`]: pipelineConnection(
      functionsUrl,
      await localApiKey(),
    ),
  };
}

/** Applies Airflow's own migrations to its metadata database (idempotent; seconds when up to date). */
export async function migrateAirflowDatabase(): Promise<void> {
  await run(airflowBin(), ['db', 'migrate'], { env: { ...process.env, ...(await airflowEnvironment()) } });
}

/** What the three Airflow processes share: the venv, the environment, the prerequisites. */
abstract class AirflowProcess extends ProcessService {
  override readonly startTimeoutMs = 180_000;
  protected abstract readonly airflowArgs: readonly string[];

  checkPrerequisites(): Promise<void> {
    return Promise.resolve();
  }

  provision(progress: Progress): Promise<void> {
    return provisionAirflowVenv(progress);
  }

  protected async command(): Promise<{ command: string; args: string[]; env: NodeJS.ProcessEnv }> {
    return { command: airflowBin(), args: [...this.airflowArgs], env: await airflowEnvironment() };
  }
}

/**
 * The scheduler, with the LocalExecutor running the tasks. Its log server would listen on all
 * interfaces, so it is skipped: the API server reads task logs from the shared AIRFLOW_HOME.
 */
class AirflowSchedulerService extends AirflowProcess {
  readonly name = 'airflow-scheduler';
  readonly summary = `Airflow ${versions.airflow} scheduler (LocalExecutor), metadata in PostgreSQL`;
  readonly ports = [endpoints.airflow.schedulerHealthPort];
  // Its metadata lives in PostgreSQL; its DAG calls the functions with the key the bootstrap makes.
  override readonly dependsOn = ['bootstrap'];
  protected readonly airflowArgs = ['scheduler', '--skip-serve-logs'];

  override async provision(progress: Progress): Promise<void> {
    await provisionAirflowVenv(progress);
    progress('migrating the Airflow metadata database');
    await migrateAirflowDatabase();
  }

  async isHealthy(): Promise<boolean> {
    const response = await fetch(`http://127.0.0.1:${endpoints.airflow.schedulerHealthPort}/health`, {
      signal: AbortSignal.timeout(2000),
    });
    return response.ok;
  }
}

/** The DAG processor: parses airflow/dags into the metadata database. It listens on no port. */
class AirflowDagProcessorService extends AirflowProcess {
  readonly name = 'airflow-dag-processor';
  readonly summary = `Airflow ${versions.airflow} DAG processor (airflow/dags)`;
  readonly ports = [];
  override readonly dependsOn = ['airflow-scheduler'];
  protected readonly airflowArgs = ['dag-processor'];

  /**
   * Healthy once its job heartbeats in the metadata database (Airflow's own liveness record): a job
   * started with our process, since one that died moments ago still has a fresh heartbeat there.
   */
  async isHealthy(): Promise<boolean> {
    // The pid file is written when our process is spawned; the job starts a little after that.
    const spawnedAt = (await stat(this.paths.pidFile)).mtimeMs;
    const client = new pg.Client({
      host: endpoints.postgres.host,
      port: endpoints.postgres.port,
      user: db.user,
      password: db.password,
      database: db.database,
      connectionTimeoutMillis: 2000,
    });
    await client.connect();
    try {
      const result = await client.query(
        `SELECT 1 FROM job WHERE job_type = 'DagProcessorJob' AND state = 'running'
           AND latest_heartbeat > now() - interval '60 seconds' AND start_date >= to_timestamp($1)`,
        [spawnedAt / 1000 - 5],
      );
      return (result.rowCount ?? 0) > 0;
    } finally {
      await client.end();
    }
  }
}

/** What /api/v2/monitor/health answers, as far as the stack reads it. */
const AirflowHealth = z.object({
  metadatabase: z.object({ status: z.string().nullish() }).optional(),
  scheduler: z.object({ status: z.string().nullish() }).optional(),
  dag_processor: z.object({ status: z.string().nullish() }).optional(),
});

/** The API server: the UI and REST API on 127.0.0.1:8080, and the execution API the tasks call. */
class AirflowApiService extends AirflowProcess {
  readonly name = 'airflow';
  readonly summary = `Airflow ${versions.airflow} API server and UI on ${endpoints.airflow.url} (login ${endpoints.airflow.login.username}/${endpoints.airflow.login.password})`;
  readonly ports = [endpoints.airflow.port];
  override readonly dependsOn = ['airflow-dag-processor'];
  protected readonly airflowArgs = ['api-server'];

  /** Healthy once its health endpoint reports the database, the scheduler and the DAG processor healthy. */
  async isHealthy(): Promise<boolean> {
    const response = await fetch(`${endpoints.airflow.url}/api/v2/monitor/health`, {
      signal: AbortSignal.timeout(3000),
    });
    if (!response.ok) return false;
    const body = AirflowHealth.parse(await response.json());
    return [body.metadatabase, body.scheduler, body.dag_processor].every(
      (part) => part?.status === 'healthy',
    );
  }
}

export const airflowScheduler = new AirflowSchedulerService();
export const airflowDagProcessor = new AirflowDagProcessorService();
export const airflowApi = new AirflowApiService();
