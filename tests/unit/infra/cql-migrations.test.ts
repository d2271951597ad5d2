import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cqlStatements } from '../../../infra/cassandra/migrate.js';
import { repoRoot } from '../../../infra/stack/lib/paths.js';

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
