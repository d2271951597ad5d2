/**
 * `npm run cql [-- <statement>]`: cqlsh on the local Cassandra, in the pipeline's keyspace. With a
 * statement it runs it and exits with cqlsh's code; without, it is cqlsh's interactive shell.
 */
import { endpoints } from '#infra/stack/endpoints.ts';
import { localResources } from '#infra/stack/local-stage/resources.ts';
import { versions } from '#infra/stack/versions.ts';
import { runMain } from '#scripts/cli.ts';
import { cqlshCommand, installCqlsh, requireRunning, runShell, statementOf } from '#scripts/query-shell.ts';

async function main(): Promise<number> {
  await requireRunning({ label: 'Cassandra', name: 'cassandra', port: endpoints.cassandra.port });
  return runShell(cqlshCommand(await installCqlsh(), statementOf(process.argv.slice(2))));
}

runMain('cql', main, {
  usage:
    `usage: npm run cql [-- "<cql statement>"]   (cqlsh ${versions.cqlsh} on the local Cassandra, keyspace ${localResources.keyspace};\n` +
    '       interactive without a statement; installed into .local/downloads on first use)\n\n' +
    '  npm run cql -- "SELECT count(*) FROM users"',
});
