/**
 * `npm run psql [-- <sql>]`: psql on the local PostgreSQL, in the pipeline's database as its role.
 * With a statement it runs it and exits with psql's code; without, it is psql's interactive shell.
 */
import { endpoints } from '#infra/stack/endpoints.ts';
import { runMain } from '#scripts/cli.ts';
import { findPsql, psqlCommand, requireRunning, runShell, statementOf } from '#scripts/query-shell.ts';

const { pipeline } = endpoints.postgres;

async function main(): Promise<number> {
  await requireRunning({ label: 'PostgreSQL', name: 'postgres', port: endpoints.postgres.port });
  return runShell(psqlCommand(findPsql(), statementOf(process.argv.slice(2))));
}

runMain('psql', main, {
  usage:
    `usage: npm run psql [-- "<sql>"]   (psql on the local PostgreSQL: database ${pipeline.database}, role ${pipeline.user};\n` +
    '       interactive without a statement)\n\n' +
    '  npm run psql -- "SELECT count(*) FROM users"',
});
