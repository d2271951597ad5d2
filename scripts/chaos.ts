/**
 * `npm run chaos [-- --users N] [--rounds R] [--seed S] [--faults a,b]`: the pipeline's guarantees as
 * figures. Users flow through the DAG with the whole stack up while each process is killed with
 * SIGKILL at seeded moments and brought back; poison is planted on the way. Prints the table (fault,
 * times injected, recovery p50 and max, users lost, wrong, duplicated, aggregates off) and what the end
 * checks found, writes it all as JSON, and exits 1 when a guarantee did not hold.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stackHome } from '#infra/stack/lib/paths.ts';
import { runMain, say } from './cli.ts';
import { failuresOf, runChaos, type ChaosResult } from './chaos/run.ts';
import { renderTable } from './chaos/report.ts';
import { FAULTS, type Fault } from './chaos/schedule.ts';

const USAGE = `usage: npm run chaos [-- --users N] [--rounds R] [--seed S] [--faults a,b,…]

  --users N    users of the main DAG run (default 100000); two load runs beside it add a fifth of N
               and the main seed's first 10,000 again
  --rounds R   kills of each fault (default 3)
  --seed S     repeats a run's schedule (default: a new one, printed first)
  --faults …   which processes to kill (default all): ${FAULTS.join(', ')};
               none runs the same flow and checks with no kill (a baseline)

Writes .local/chaos/chaos.json; exits 1 when a guarantee did not hold.`;

/** The end checks in a few lines, after the table. */
function summary(result: ChaosResult): string[] {
  const dl = result.deadLetters;
  return [
    `users through the DAG: ${result.usersThroughDag} in ${result.runs.length} runs; publish calls beside them: ${result.publishLoad.calls} (${result.publishLoad.failed} failed during faults)`,
    ...result.stores.map((s) => `  seed ${s.seed}: PostgreSQL ${s.postgres}, Cassandra ${s.cassandra}`),
    `lost ${result.lost}, wrong content ${result.differing}; users whose event Kafka carries twice: ${result.kafka.usersResent} of ${result.kafka.records} records (absorbed by the stores)`,
    `aggregates: ${result.aggregates.off.length} of ${result.aggregates.cells} cells differ from PostgreSQL's GROUP BY`,
    `dead-letter queue: ${dl.found} of ${dl.planted} planted poison found, ${dl.unexpected.length} unexpected, ${dl.duplicates} twice, ${dl.wrongReason.length} with the wrong reason`,
    ...result.poison.map(
      (p) =>
        `  ${p.kind}: ${p.outcome.deadLetter ? `dead-lettered (${p.outcome.reason})` : `not poison: ${p.outcome.why}`}`,
    ),
    `outbox rows unpublished: ${result.outboxUnpublished}`,
    `logs: ${result.logs.files} files, ${(result.logs.bytes / 1e6).toFixed(1)} MB read, ${result.logs.hits.length} personal values found`,
  ];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '100000' },
      rounds: { type: 'string', default: '3' },
      seed: { type: 'string' },
      faults: { type: 'string' },
    },
    allowPositionals: false,
  });
  const users = Number(values.users);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(users) || users < 5000 || users > 10_000_000)
    throw new Error(`--users must be a whole number from 5,000 to 10,000,000, not ${values.users}`);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20)
    throw new Error(`--rounds must be a whole number from 1 to 20, not ${values.rounds}`);
  const seed = values.seed ?? randomBytes(4).toString('hex');
  if (!/^[A-Za-z0-9]{1,32}$/.test(seed))
    throw new Error(`--seed must be 1 to 32 letters or digits, not ${seed}`);
  const faults =
    values.faults === 'none' ? [] : (values.faults?.split(',').map((f) => f.trim()) ?? [...FAULTS]);
  const unknown = faults.filter((f) => !(FAULTS as readonly string[]).includes(f));
  if (unknown.length > 0)
    throw new Error(`unknown faults ${unknown.join(', ')}: choose from ${FAULTS.join(', ')}`);

  say(`chaos run, seed ${seed} (repeat it with --seed ${seed})`);
  const result = await runChaos({ users, rounds, seed, faults: faults as Fault[], say });
  const file = path.join(stackHome, 'chaos', 'chaos.json');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  say(`\n${renderTable(result.table)}\n`);
  for (const line of summary(result)) say(line);
  say(`\nseed ${seed}, ${Math.round(result.durationS / 60)} min; the figures: ${file}`);
  const failures = failuresOf(result);
  for (const failure of failures) say(`FAILED: ${failure}`);
  return failures.length > 0 ? 1 : 0;
}

runMain('chaos', main, { usage: USAGE, stack: true });
