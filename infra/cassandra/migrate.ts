import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type cassandraDriver from 'cassandra-driver';

/**
 * Versioned CQL migrations: each `NNNN_name.cql` file in `dir` runs once, in name order, and is
 * recorded in `<keyspace>.schema_migrations`. Files name the keyspace as `{keyspace}`. No maintained Node tool does this for Cassandra (the npm
 * ones are unmaintained since 2018), so this is ours: forty lines, idempotent statements, no locking
 * (one deployer at a time: the stack's lock offline, the pipeline on AWS).
 *
 * The keyspace is created here rather than in a file, because its replication differs by place:
 * SimpleStrategy on one local node, the region's strategy on Amazon Keyspaces.
 */
export async function migrateCassandra(options: {
  /** A connected session with no keyspace set. */
  client: cassandraDriver.Client;
  keyspace: string;
  /** The replication map, as CQL, e.g. `{'class': 'SimpleStrategy', 'replication_factor': 1}`. */
  replication: string;
  dir: string;
  report: (line: string) => void;
}): Promise<string[]> {
  const { client, keyspace, dir, report } = options;
  if (!/^[a-z][a-z0-9_]{0,47}$/.test(keyspace)) throw new Error(`invalid keyspace name ${keyspace}`);
  await client.execute(`CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ${options.replication}`);
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${keyspace}.schema_migrations (name text PRIMARY KEY, applied_at timestamp)`,
  );
  const applied = new Set(
    (await client.execute(`SELECT name FROM ${keyspace}.schema_migrations`)).rows.map((row) =>
      String(row['name']),
    ),
  );
  const files = (await readdir(dir)).filter((name) => /^\d{4}_[\w-]+\.cql$/.test(name)).sort();
  const ran: string[] = [];
  for (const file of files.filter((name) => !applied.has(name))) {
    for (const statement of cqlStatements(await readFile(path.join(dir, file), 'utf8'))) {
      await client.execute(statement.replaceAll('{keyspace}', keyspace));
    }
    await client.execute(
      `INSERT INTO ${keyspace}.schema_migrations (name, applied_at) VALUES (?, ?)`,
      [file, new Date()],
      { prepare: true },
    );
    ran.push(file);
  }
  report(
    ran.length === 0 ? 'cassandra migrations: up to date' : `cassandra migrations: applied ${ran.join(', ')}`,
  );
  return ran;
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
