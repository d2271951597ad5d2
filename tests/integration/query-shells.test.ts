import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '#infra/stack/lib/paths.ts';
import { pipelineDb } from '../support/clients.ts';

/**
 * `npm run <script> -- <statement>` as a user types it: npm, its pre hook, tsx, then the shell. The
 * test runner's own variables are left out, so the shell sees a user's environment (STACK_HOME
 * included: cqlsh installs under the stack home the tests use).
 */
function npmRun(script: 'cql' | 'psql', statement: string): SpawnSyncReturns<string> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
  return spawnSync('npm', ['run', script, '--', statement], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
    // The first cql run installs cqlsh into its venv.
    timeout: 150_000,
  });
}

describe('npm run cql', () => {
  it('runs a statement on the local Cassandra and exits 0', () => {
    const result = npmRun('cql', 'SELECT count(*) FROM system.local');
    expect(result.stderr).not.toMatch(/Traceback|Error/);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^\s*count\s*\n-+\n\s*1\s*\n\s*\n\(1 rows\)/m);
  });

  it("is in the pipeline's keyspace: a table named without it is the pipeline's", () => {
    // One partition of Spark's aggregates (a minute no run has): without the keyspace, cqlsh fails
    // with "No keyspace has been specified".
    const result = npmRun(
      'cql',
      "SELECT count(*) FROM users_per_minute WHERE window_start = '1970-01-01 00:00:00+0000'",
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^\s*count\s*\n-+\n\s*0\s*\n/m);
  });

  it("exits non-zero with Cassandra's message for a bad statement", () => {
    const result = npmRun('cql', 'SELECT nope FROM users');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('Undefined column name nope in table user_pipeline.users');
  });
});

describe('npm run psql', () => {
  const db = pipelineDb();

  afterAll(async () => {
    await db.end();
  });

  it("runs a statement in the pipeline's database as its role: the users PostgreSQL holds", async () => {
    await db.connect();
    const { rows } = await db.query<{ count: string }>('SELECT count(*) FROM users');
    const result = npmRun(
      'psql',
      'SELECT current_user AS role, current_database() AS db, count(*) FROM users',
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(
      new RegExp(String.raw`^\s*pipeline\s*\|\s*pipeline\s*\|\s*${rows[0]?.count ?? 'none'}\s*$`, 'm'),
    );
    expect(result.stdout).toContain('(1 row)');
  });

  it("exits non-zero with PostgreSQL's message for a bad statement", () => {
    const result = npmRun('psql', 'SELECT nope');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('column "nope" does not exist');
  });
});
