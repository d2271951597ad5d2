/**
 * The full test command (`npm test`, which `.ci/run` calls): installs what the tests need, runs the
 * static checks (cfn-lint on the CloudFormation templates among them), the unit suite, ruff and the
 * Python suites (the DAG's integrity, Spark's transforms), then brings the pipeline's services up and
 * runs the integration and e2e suites against them (those that need Airflow or the Spark cluster
 * start it), and takes the stack down again if it started it. Ends with one line of counts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { stackHome } from '#infra/stack/lib/paths.ts';
import { onPath } from '#infra/stack/lib/toolchain.ts';
import { airflowBin, provisionAirflowVenv } from '#infra/stack/services/airflow.ts';
import { pipelineServiceNames } from '#infra/stack/services/index.ts';
import { provisionSpark, sparkBin } from '#infra/stack/services/spark.ts';
import { allRunning, down, up } from '#infra/stack/stack.ts';
import { runMain, say } from './cli.ts';
import { countsLine, pytestTally, totalOf, vitestTally, type SuiteRun } from './test-counts.ts';

const timings: string[] = [];

function step(name: string, command: string, args: readonly string[]): boolean {
  const started = Date.now();
  say(`\n=== ${name}: ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit' });
  const ok = result.status === 0;
  timings.push(
    `${name.padEnd(12)} ${ok ? 'ok    ' : 'FAILED'} ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  return ok;
}

/**
 * Installs a Debian package when its command is missing (as root, with apt-get): docker-compose, whose
 * 1.29 validates the compose file with no engine, and chromium, which the console's browser test drives.
 */
function ensureDebianPackage(command: string, pkg: string, why: string): void {
  if (onPath(command) !== undefined) return;
  if (process.getuid?.() !== 0 || onPath('apt-get') === undefined) {
    throw new Error(`${command} is missing: install it (apt-get install ${pkg}) and run again`);
  }
  say(`installing ${pkg} from Debian packages (${why})`);
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', pkg],
  ]) {
    const result = spawnSync('apt-get', args, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed`);
  }
}

const reportsDir = path.join(stackHome, 'test-reports');

/** Each suite's exit status, for the closing counts (a suite can fail with no failed test). */
const suiteExits = new Map<string, boolean>();

function vitest(project: string): boolean {
  const ok = step(project, 'vitest', [
    'run',
    '--project',
    project,
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${path.join(reportsDir, `${project}.json`)}`,
  ]);
  suiteExits.set(project, ok);
  return ok;
}

/** A pytest suite, run by the given venv's Python, reporting into a JUnit XML file for the counts. */
function pytest(name: string, python: string, folder: string): boolean {
  const ok = step(name, python, [
    '-m',
    'pytest',
    '-q',
    folder,
    `--junitxml=${path.join(reportsDir, `${name}.xml`)}`,
  ]);
  suiteExits.set(name, ok);
  return ok;
}

/** A suite's report file and exit status; a suite that never ran has neither. */
function suiteRun(name: string, file: string): SuiteRun {
  const report = path.join(reportsDir, file);
  return {
    name,
    report: existsSync(report) ? readFileSync(report, 'utf8') : undefined,
    exitedOk: suiteExits.get(name) ?? false,
  };
}

async function main(): Promise<number> {
  const started = Date.now();
  // A suite that cannot start must not be counted with the previous run's report.
  rmSync(reportsDir, { recursive: true, force: true });
  mkdirSync(reportsDir, { recursive: true });
  ensureDebianPackage('docker-compose', 'docker-compose', 'validates docker-compose.yml, needs no engine');
  ensureDebianPackage('chromium', 'chromium', "the console's browser test drives it headless");
  let ok = step('typecheck', 'tsc', ['-p', '.']);
  ok = step('typecheck (plugins)', 'tsc', ['-p', 'plugins/serverless-offline-kafka']) && ok;
  ok = step('lint', 'eslint', ['.']) && ok;
  ok = step('format', 'prettier', ['--check', '.']) && ok;
  ok = step('cfn-lint', 'tsx', ['infra/aws/lint.ts']) && ok;
  ok = vitest('unit') && ok;
  await provisionAirflowVenv((line) => {
    say(`[airflow] ${line}`);
  });
  await provisionSpark((line) => {
    say(`[spark] ${line}`);
  });
  ok = step('ruff', airflowBin('ruff'), ['check', 'airflow', 'spark']) && ok;
  ok = step('ruff format', airflowBin('ruff'), ['format', '--check', 'airflow', 'spark']) && ok;
  ok = pytest('dag', airflowBin('python'), 'airflow/tests') && ok;
  ok = pytest('spark', sparkBin('python'), 'spark/tests') && ok;

  const wasUp = await allRunning(pipelineServiceNames);
  const stackStarted = Date.now();
  say('\n=== stack up');
  await up(pipelineServiceNames, (line) => {
    say(`[stack] ${line}`);
  });
  timings.push(`${'stack up'.padEnd(12)} ok     ${((Date.now() - stackStarted) / 1000).toFixed(0)} s`);
  try {
    ok = vitest('integration') && ok;
    ok = vitest('e2e') && ok;
  } finally {
    if (!wasUp) {
      await down([], (line) => {
        say(`[stack] ${line}`);
      });
    }
  }
  const total = totalOf([
    ...['dag', 'spark'].map((name) => pytestTally(suiteRun(name, `${name}.xml`))),
    ...['unit', 'integration', 'e2e'].map((name) => vitestTally(suiteRun(name, `${name}.json`))),
  ]);
  say(`\n${timings.join('\n')}\ntotal        ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  say(countsLine(total));
  return ok && total.failed === 0 ? 0 : 1;
}

runMain('test', main, {
  usage:
    'usage: npm test\n\nTypecheck, lint, format, cfn-lint, unit, ruff and the Python suites, then the stack up, integration and e2e.',
});
