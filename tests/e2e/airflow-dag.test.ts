import { spawn } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { localResources } from '#infra/stack/local-stage/resources.ts';
import { endpoints } from '#infra/stack/endpoints.ts';
import {
  airflowBin,
  airflowEnvironment,
  PIPELINE_CONNECTION_ID,
  pipelineConnection,
} from '#infra/stack/services/airflow.ts';
import { up } from '#infra/stack/stack.ts';
import { startOffline, type Offline } from '#scripts/offline.ts';
import { cassandraClient, unique } from '../support/clients.ts';
import { pipelinePool } from '../support/pipeline-db.ts';
import { skipSinkBacklog } from '../support/stream-waits.ts';
import { cassandraChecksum, postgresChecksum } from '#scripts/user-checksums.ts';

const ports = { http: 3030, lambda: 3032 };

/** `airflow dags test users_pipeline` with the run's conf: the exit code and everything it printed. */
function dagsTest(env: NodeJS.ProcessEnv, conf: object): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const { FORCE_COLOR: _color, ...inherited } = process.env;
    const child = spawn(airflowBin(), ['dags', 'test', 'users_pipeline', '-c', JSON.stringify(conf)], {
      // Plain text: Airflow's rich tracebacks would colour and box the messages the test reads.
      env: { ...inherited, ...env, NO_COLOR: '1', COLUMNS: '400' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, output: stripVTControlCharacters(output) });
    });
  });
}

const Token = z.object({ access_token: z.string().min(1) });

/**
 * The DAG as Airflow runs it: `airflow dags test` executes every task for real (HTTP calls to the
 * functions under `sls offline`, whose Kafka trigger runs the sink), against the stack's Airflow
 * metadata database; then the rows are read back from PostgreSQL and Cassandra.
 */
describe('the users_pipeline DAG, run by Airflow against sls offline', () => {
  let offline: Offline;
  let env: NodeJS.ProcessEnv;
  const pool = pipelinePool();
  const cassandra = cassandraClient();

  beforeAll(async () => {
    await up(['airflow']);
    await skipSinkBacklog();
    offline = await startOffline(ports);
    env = await airflowEnvironment(offline.baseUrl);
  });

  afterAll(async () => {
    await offline.stop();
    await pool.end();
    await cassandra.shutdown();
  });

  it('moves a run in chunks (plan → move_chunks in lanes → publish → verify), and it is in Cassandra as PostgreSQL holds it', async () => {
    const seed = unique('dag');
    // Three chunks (5,000, 5,000 and 2,000 users: pages 1 to 3 of the seed) in two lanes.
    const run = await dagsTest(env, { count: 12_000, seed });
    expect(run.output).toMatch(/12000 users of seed \S+: 3 chunks in 2 lanes/);
    expect(run.output).toMatch(/page 3: batch \w+, 2000 users/);
    expect(run.output).toMatch(/all 12000 users of the run's 3 chunks are in Cassandra/);
    expect(run.code).toBe(0);

    const pg = await postgresChecksum(pool, seed);
    expect(pg.count).toBe(12_000);
    const batches = await pool.query<{ n: string }>(
      'SELECT count(DISTINCT batch_id) AS n FROM users WHERE source_seed = $1',
      [seed],
    );
    expect(Number(batches.rows[0]?.n)).toBe(3);
    expect(await cassandraChecksum(cassandra, localResources.keyspace, pg.keys)).toEqual({
      count: 12_000,
      checksum: pg.checksum,
    });
  });

  it('fails fetch at once, without retrying, when the connection carries a wrong API key', async () => {
    const wrongKey = {
      ...env,
      [`AIRFLOW_CONN_${PIPELINE_CONNECTION_ID.toUpperCase()}`]: pipelineConnection(offline.baseUrl, 'wrong'),
    };
    const run = await dagsTest(wrongKey, { count: 10, seed: unique('dagkey') });
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('POST /fetch was refused (403)');
    expect(run.output).not.toMatch(/up_for_retry/i);
  });

  it("serves its UI and REST API on 127.0.0.1:8080 with the README's login, the DAG parsed without errors", async () => {
    const login = await fetch(`${endpoints.airflow.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(endpoints.airflow.login),
    });
    expect(login.status).toBe(201);
    const { access_token: token } = Token.parse(await login.json());
    const headers = { authorization: `Bearer ${token}` };
    const dag = await fetch(`${endpoints.airflow.url}/api/v2/dags/users_pipeline`, { headers });
    expect(dag.status).toBe(200);
    expect(await dag.json()).toMatchObject({
      dag_id: 'users_pipeline',
      has_import_errors: false,
    });
    const refused = await fetch(`${endpoints.airflow.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...endpoints.airflow.login, password: 'not-it' }),
    });
    expect(refused.status).toBe(401);
  });
});
