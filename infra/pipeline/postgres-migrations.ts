import { runner } from 'node-pg-migrate';
import type { ClientConfig } from 'pg';
import { pipelineFiles } from './files.ts';

/**
 * Applies the versioned SQL migrations in migrations/postgres (node-pg-migrate), in one transaction,
 * to a database URL, or to connection settings (TLS options included, as RDS needs).
 */
export async function migratePostgres(
  database: string | ClientConfig,
  report: (line: string) => void,
): Promise<void> {
  const applied = await runner({
    databaseUrl: database,
    dir: pipelineFiles.postgresMigrations,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    singleTransaction: true,
    log: () => undefined,
  });
  report(
    applied.length === 0
      ? 'migrations: up to date'
      : `migrations: applied ${applied.map((m) => m.name).join(', ')}`,
  );
}
