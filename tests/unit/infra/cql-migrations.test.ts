import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type cassandraDriver from 'cassandra-driver';
import { describe, expect, it } from 'vitest';
import {
  cqlStatements,
  forTarget,
  migrateCassandra,
  type CqlSession,
} from '#infra/pipeline/cassandra-migrations.ts';
import { repoRoot } from '#infra/stack/lib/paths.ts';

describe('the CQL migrations', () => {
  it('splits a file into its statements, dropping comments, keeping semicolons inside a statement line', () => {
    const text = `-- a comment; with a semicolon
CREATE TABLE IF NOT EXISTS {keyspace}.a (id int PRIMARY KEY, note text);
-- another
ALTER TABLE {keyspace}.a ADD extra text;
`;
    expect(cqlStatements(text)).toEqual([
      'CREATE TABLE IF NOT EXISTS {keyspace}.a (id int PRIMARY KEY, note text)',
      'ALTER TABLE {keyspace}.a ADD extra text',
    ]);
  });

  it('names every migration NNNN_name.cql, with idempotent statements on {keyspace} tables', () => {
    const dir = path.join(repoRoot, 'migrations/cassandra');
    const files = readdirSync(dir);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      expect(file).toMatch(/^\d{4}_[\w-]+\.cql$/);
      for (const statement of cqlStatements(readFileSync(path.join(dir, file), 'utf8'))) {
        expect(statement, file).toMatch(/^CREATE (TABLE|INDEX|TYPE) IF NOT EXISTS \{keyspace\}\./);
      }
    }
  });
});

/**
 * A CQL session that answers what the runner asks as Amazon Keyspaces would: tables are CREATING
 * for a few polls after CREATE TABLE, then ACTIVE; the keyspace appears in system_schema_mcs.
 */
function keyspacesSession(pollsUntilActive: number) {
  const executed: string[] = [];
  const polls = new Map<string, number>();
  const applied: string[] = [];
  const rows = (list: Record<string, unknown>[]) =>
    ({ rows: list }) as unknown as cassandraDriver.types.ResultSet;
  const session: CqlSession = {
    execute: ((query: string, params?: unknown[]) => {
      executed.push(query);
      if (query.startsWith('SELECT keyspace_name FROM system_schema_mcs.keyspaces')) {
        return Promise.resolve(rows([{ keyspace_name: params?.[0] }]));
      }
      if (query.startsWith('SELECT status FROM system_schema_mcs.tables')) {
        const table = String(params?.[1]);
        const seen = (polls.get(table) ?? 0) + 1;
        polls.set(table, seen);
        return Promise.resolve(rows([{ status: seen > pollsUntilActive ? 'ACTIVE' : 'CREATING' }]));
      }
      if (query.startsWith('SELECT name FROM'))
        return Promise.resolve(rows(applied.map((name) => ({ name }))));
      if (query.startsWith('INSERT INTO user_pipeline.schema_migrations')) applied.push(String(params?.[0]));
      return Promise.resolve(rows([]));
    }) as CqlSession['execute'],
  };
  return { session, executed, polls };
}

describe('the CQL migrations on Amazon Keyspaces', () => {
  it('creates every table with client-side timestamps, which USING TIMESTAMP needs there', () => {
    expect(forTarget('CREATE TABLE IF NOT EXISTS ks.a (id int PRIMARY KEY)', 'keyspaces')).toBe(
      "CREATE TABLE IF NOT EXISTS ks.a (id int PRIMARY KEY) WITH CUSTOM_PROPERTIES = {'client_side_timestamps': {'status': 'enabled'}}",
    );
    expect(
      forTarget(
        'CREATE TABLE IF NOT EXISTS ks.b (k text, t timestamp, PRIMARY KEY (k, t)) WITH CLUSTERING ORDER BY (t DESC)',
        'keyspaces',
      ),
    ).toBe(
      "CREATE TABLE IF NOT EXISTS ks.b (k text, t timestamp, PRIMARY KEY (k, t)) WITH CUSTOM_PROPERTIES = {'client_side_timestamps': {'status': 'enabled'}} AND CLUSTERING ORDER BY (t DESC)",
    );
    expect(forTarget('CREATE TABLE IF NOT EXISTS ks.a (id int PRIMARY KEY)', 'cassandra')).toBe(
      'CREATE TABLE IF NOT EXISTS ks.a (id int PRIMARY KEY)',
    );
  });

  it('refuses what Keyspaces does not support, before running anything', async () => {
    expect(() => forTarget('CREATE INDEX IF NOT EXISTS ON ks.a (email)', 'keyspaces')).toThrow(
      /Keyspaces does not support/,
    );
    expect(() => forTarget('CREATE MATERIALIZED VIEW ks.v AS SELECT * FROM ks.a', 'keyspaces')).toThrow(
      /Keyspaces does not support/,
    );
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cql-'));
    writeFileSync(
      path.join(dir, '0001_a.cql'),
      'CREATE TABLE IF NOT EXISTS {keyspace}.a (id int PRIMARY KEY);\n',
    );
    writeFileSync(path.join(dir, '0002_b.cql'), 'CREATE INDEX IF NOT EXISTS ON {keyspace}.a (id);\n');
    const { session, executed } = keyspacesSession(0);
    await expect(
      migrateCassandra({ ...keyspacesRun(session, dir), poll: { intervalMs: 0, timeoutMs: 1000 } }),
    ).rejects.toThrow(/CREATE INDEX/);
    expect(executed.filter((q) => q.includes('.a ('))).toEqual([]);
  });

  it("runs the repository's migrations, waiting for each table to be ACTIVE before it is used or recorded", async () => {
    const { session, executed, polls } = keyspacesSession(2);
    const dir = path.join(repoRoot, 'migrations/cassandra');
    const ran = await migrateCassandra(keyspacesRun(session, dir));

    expect(ran).toEqual(readdirSync(dir).sort());
    expect(executed[0]).toBe(
      "CREATE KEYSPACE IF NOT EXISTS user_pipeline WITH replication = {'class': 'SingleRegionStrategy'}",
    );
    expect(polls.get('users')).toBe(3);
    expect(polls.get('schema_migrations')).toBe(3);
    const createUsers = executed.findIndex((q) =>
      q.startsWith('CREATE TABLE IF NOT EXISTS user_pipeline.users'),
    );
    expect(executed[createUsers]).toMatch(/client_side_timestamps/);
    // Each file is recorded only after its last table was polled ACTIVE.
    const records = executed.flatMap((q, i) =>
      q.startsWith('INSERT INTO user_pipeline.schema_migrations') ? [i] : [],
    );
    expect(records).toHaveLength(ran.length);
    for (const recorded of records) {
      const lastCreate = executed.findLastIndex((q, i) => i < recorded && q.startsWith('CREATE TABLE'));
      const lastPoll = executed.findLastIndex((q, i) => i < recorded && q.startsWith('SELECT status'));
      expect(lastPoll).toBeGreaterThan(lastCreate);
    }

    executed.length = 0;
    expect(await migrateCassandra(keyspacesRun(session, dir))).toEqual([]);
    expect(executed.filter((q) => q.includes('user_pipeline.users'))).toEqual([]);
  });
});

const keyspacesRun = (session: CqlSession, dir: string) => ({
  client: session,
  keyspace: 'user_pipeline',
  replication: "{'class': 'SingleRegionStrategy'}",
  dir,
  report: () => undefined,
  target: 'keyspaces' as const,
  poll: { intervalMs: 0, timeoutMs: 5000 },
});
