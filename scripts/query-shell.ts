/**
 * What `npm run cql` and `npm run psql` share: the statement from the command line, the shells'
 * command lines against the local stack, the check that the service is up, and the shell's run.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { endpoints } from '#infra/stack/endpoints.ts';
import { isPortOpen } from '#infra/stack/lib/net.ts';
import { downloadsDir } from '#infra/stack/lib/paths.ts';
import { installPythonVenv } from '#infra/stack/lib/toolchain.ts';
import { localResources } from '#infra/stack/local-stage/resources.ts';
import { findServerBin } from '#infra/stack/services/postgres.ts';
import { versions } from '#infra/stack/versions.ts';
import { say } from '#scripts/cli.ts';

/** A shell to start: its executable, arguments and the environment's additions. */
export interface ShellCommand {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

/**
 * The statement the arguments spell, or undefined for none (interactive). They are joined with
 * spaces, so an unquoted `npm run cql -- SELECT * FROM users` works too (as far as the shell that
 * runs npm leaves its words alone).
 */
export function statementOf(argv: readonly string[]): string | undefined {
  const statement = argv.join(' ').trim();
  return statement === '' ? undefined : statement;
}

/** cqlsh on the local Cassandra, in the pipeline's keyspace; `-e` runs one statement and exits. */
export function cqlshCommand(cqlsh: string, statement?: string): ShellCommand {
  const [host] = endpoints.cassandra.contactPoints;
  return {
    command: cqlsh,
    args: [
      host,
      String(endpoints.cassandra.port),
      '--keyspace',
      localResources.keyspace,
      ...(statement === undefined ? [] : ['-e', statement]),
    ],
    env: {},
  };
}

/**
 * psql on the pipeline's database as the pipeline's role; `-c` runs one statement and exits. The
 * password goes in the environment: on the command line, `ps` would show it to every user.
 */
export function psqlCommand(psql: string, sql?: string): ShellCommand {
  const { host, port, pipeline } = endpoints.postgres;
  return {
    command: psql,
    args: [
      '--host',
      host,
      '--port',
      String(port),
      '--username',
      pipeline.user,
      '--dbname',
      pipeline.database,
      ...(sql === undefined ? [] : ['--command', sql]),
    ],
    env: { PGPASSWORD: pipeline.password },
  };
}

/**
 * Fails at once, with the command that starts it, when nothing listens on the service's port: the
 * shells would otherwise retry or print a driver's stack trace first.
 */
export async function requireRunning(service: {
  readonly label: string;
  readonly name: string;
  readonly port: number;
}): Promise<void> {
  if (await isPortOpen(service.port)) return;
  throw new Error(
    `${service.label} is not running (nothing listens on 127.0.0.1:${service.port}): npm run stack -- up ${service.name}`,
  );
}

/** cqlsh's executable, installed with its pinned version into its own venv on first use. */
export async function installCqlsh(): Promise<string> {
  const venv = path.join(downloadsDir, `cqlsh-${versions.cqlsh}`);
  const spec = `cqlsh==${versions.cqlsh}`;
  await installPythonVenv({
    target: venv,
    python: 'python3',
    pipArgs: ['--exclude-newer', versions.cqlshResolvedAsOf, spec],
    stamp: `${spec} as of ${versions.cqlshResolvedAsOf}`,
    progress: say,
    announce: () => {
      say(`installing ${spec} into ${venv}`);
    },
  });
  return path.join(venv, 'bin', 'cqlsh');
}

/** The psql of the PostgreSQL release the stack runs (PG_BIN, or Debian's newest 15+). */
export function findPsql(): string {
  const bin = findServerBin();
  if (bin === undefined) {
    throw new Error(
      'PostgreSQL 15+ binaries are missing: apt-get install postgresql (or set PG_BIN to their folder)',
    );
  }
  return path.join(bin, 'psql');
}

/**
 * Runs the shell on this terminal and resolves with its exit code (128 + the signal's number when a
 * signal ended it). Ctrl-C and Ctrl-\ reach the whole foreground process group: the shell handles
 * them (psql cancels the query, cqlsh gives a new prompt), so this process must not die of them.
 */
export function runShell(shell: ShellCommand): Promise<number> {
  const ignore = (): void => undefined;
  process.on('SIGINT', ignore);
  process.on('SIGQUIT', ignore);
  return new Promise<number>((resolve, reject) => {
    const child = spawn(shell.command, shell.args, {
      stdio: 'inherit',
      env: { ...process.env, ...shell.env },
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      resolve(code ?? 128 + (signal === null ? 0 : os.constants.signals[signal]));
    });
  }).finally(() => {
    process.off('SIGINT', ignore);
    process.off('SIGQUIT', ignore);
  });
}
