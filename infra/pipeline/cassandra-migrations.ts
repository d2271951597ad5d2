import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import cassandraDriver from 'cassandra-driver';
import { pipelineFiles } from './files.ts';

/** Where the migrations run: a Cassandra cluster, or Amazon Keyspaces and its documented differences. */
export type CqlTarget = 'cassandra' | 'keyspaces';

/** What the runner needs of a session: statements only. */
export type CqlSession = Pick<cassandraDriver.Client, 'execute'>;

/**
 * Versioned CQL migrations: each `NNNN_name.cql` file in `dir` runs once, in name order, and is
 * recorded in `<keyspace>.schema_migrations`. Files name the keyspace as `{keyspace}`. No maintained Node tool does this for Cassandra (the npm
 * ones are unmaintained since 2018), so this is ours: idempotent statements, no locking (one deployer
 * at a time: the stack's lock offline, the deploy commands on AWS).
 *
 * The keyspace is created here rather than in a file, because its replication differs by place:
 * SimpleStrategy on one local node, SingleRegionStrategy on Amazon Keyspaces.
 *
 * With `target: 'keyspaces'` the same files run on Amazon Keyspaces: every table is created with
 * client-side timestamps (the sink writes `USING TIMESTAMP`, which Keyspaces refuses otherwise), each
 * schema change is awaited until Keyspaces reports the keyspace or table ACTIVE (it applies DDL
 * asynchronously), statements Keyspaces does not support are refused before anything runs, and the
 * record of a migration is written at LOCAL_QUORUM, the only level Keyspaces accepts for writes.
 */
export async function migrateCassandra(options: {
  /** A connected session with no keyspace set. */
  client: CqlSession;
  keyspace: string;
  /** The replication map, as CQL, e.g. `{'class': 'SimpleStrategy', 'replication_factor': 1}`. */
  replication: string;
  dir: string;
  report: (line: string) => void;
  /** `cassandra` unless told otherwise. */
  target?: CqlTarget;
  /** How often and how long to wait for Keyspaces' asynchronous schema changes. */
  poll?: { intervalMs: number; timeoutMs: number };
}): Promise<string[]> {
  const { client, keyspace, dir, report } = options;
  const target = options.target ?? 'cassandra';
  const poll = options.poll ?? { intervalMs: 2000, timeoutMs: 300_000 };
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(keyspace)) throw new Error(`invalid keyspace name ${keyspace}`);
  const run = async (statement: string): Promise<void> => {
    await client.execute(statement);
    if (target === 'keyspaces') await awaitKeyspacesSchema(client, keyspace, statement, poll);
  };

  await run(`CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ${options.replication}`);
  await run(
    forTarget(
      `CREATE TABLE IF NOT EXISTS ${keyspace}.schema_migrations (name text PRIMARY KEY, applied_at timestamp)`,
      target,
    ),
  );
  const applied = new Set(
    (await client.execute(`SELECT name FROM ${keyspace}.schema_migrations`)).rows.map((row) =>
      String(row['name']),
    ),
  );
  const files = (await readdir(dir)).filter((name) => /^\d{4}_[\w-]+\.cql$/.test(name)).sort();
  const pending: { file: string; statements: string[] }[] = [];
  for (const file of files.filter((name) => !applied.has(name))) {
    const statements = cqlStatements(await readFile(path.join(dir, file), 'utf8')).map((statement) =>
      forTarget(statement.replaceAll('{keyspace}', keyspace), target),
    );
    pending.push({ file, statements });
  }
  const ran: string[] = [];
  for (const { file, statements } of pending) {
    for (const statement of statements) await run(statement);
    await client.execute(
      `INSERT INTO ${keyspace}.schema_migrations (name, applied_at) VALUES (?, ?)`,
      [file, new Date()],
      { prepare: true, consistency: cassandraDriver.types.consistencies.localQuorum },
    );
    ran.push(file);
  }
  report(
    ran.length === 0 ? 'cassandra migrations: up to date' : `cassandra migrations: applied ${ran.join(', ')}`,
  );
  return ran;
}

/**
 * The repository's CQL migrations (migrations/cassandra) on a cluster, over a session of their own:
 * connected for the run, shut down after it, whatever happens. What both bootstraps do.
 */
export async function applyRepoMigrations(
  client: Pick<cassandraDriver.Client, 'execute' | 'connect' | 'shutdown'>,
  options: { keyspace: string; replication: string; report: (line: string) => void; target?: CqlTarget },
): Promise<string[]> {
  try {
    await client.connect();
    return await migrateCassandra({ client, dir: pipelineFiles.cassandraMigrations, ...options });
  } finally {
    await client.shutdown();
  }
}

/** The statements of a CQL file: `--` comments dropped, split on the `;` that ends a line. */
export function cqlStatements(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n')
    .split(/;\s*$/m)
    .map((statement) => statement.trim())
    .filter((statement) => statement !== '');
}

/** Statements Amazon Keyspaces does not support ("Supported Cassandra APIs" in its developer guide). */
const unsupportedOnKeyspaces =
  /^CREATE\s+(CUSTOM\s+INDEX|INDEX|MATERIALIZED\s+VIEW|TRIGGER|(OR\s+REPLACE\s+)?FUNCTION|(OR\s+REPLACE\s+)?AGGREGATE|ROLE|USER)\b/i;

const clientSideTimestamps = "CUSTOM_PROPERTIES = {'client_side_timestamps': {'status': 'enabled'}}";

/**
 * A statement as the target takes it. On Keyspaces, CREATE TABLE gains client-side timestamps (they
 * cannot be turned on later without an ALTER, and never off), and an unsupported statement is an error.
 */
export function forTarget(statement: string, target: CqlTarget): string {
  if (target === 'cassandra') return statement;
  if (unsupportedOnKeyspaces.test(statement)) {
    throw new Error(`Amazon Keyspaces does not support: ${statement.split('\n')[0] ?? statement}`);
  }
  if (!/^CREATE\s+TABLE\b/i.test(statement) || /client_side_timestamps/i.test(statement)) return statement;
  // The first ") WITH" closes the column list; table options (CLUSTERING ORDER BY …) follow it.
  return /\)\s*WITH\s/i.test(statement)
    ? statement.replace(/\)\s*WITH\s/i, `) WITH ${clientSideTimestamps} AND `)
    : `${statement} WITH ${clientSideTimestamps}`;
}

/**
 * Keyspaces applies CREATE and ALTER asynchronously; the resource may be used only once its system
 * table says so (`system_schema_mcs`): the keyspace listed, the table ACTIVE.
 */
async function awaitKeyspacesSchema(
  client: CqlSession,
  keyspace: string,
  statement: string,
  poll: { intervalMs: number; timeoutMs: number },
): Promise<void> {
  const table = new RegExp(
    `^(?:CREATE|ALTER)\\s+TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${keyspace}\\.(\\w+)`,
    'i',
  ).exec(statement)?.[1];
  const isKeyspace = /^CREATE\s+KEYSPACE\b/i.test(statement);
  if (table === undefined && !isKeyspace) return;
  const ready = async (): Promise<boolean> => {
    if (table === undefined) {
      const result = await client.execute(
        'SELECT keyspace_name FROM system_schema_mcs.keyspaces WHERE keyspace_name = ?',
        [keyspace],
        { prepare: true },
      );
      return result.rows.length > 0;
    }
    const result = await client.execute(
      'SELECT status FROM system_schema_mcs.tables WHERE keyspace_name = ? AND table_name = ?',
      [keyspace, table],
      { prepare: true },
    );
    return result.rows[0]?.['status'] === 'ACTIVE';
  };
  const deadline = Date.now() + poll.timeoutMs;
  while (!(await ready())) {
    if (Date.now() > deadline) {
      throw new Error(`Keyspaces did not make ${keyspace}.${table ?? ''} ACTIVE within ${poll.timeoutMs} ms`);
    }
    await sleep(poll.intervalMs);
  }
}
