import { existsSync, readdirSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { endpoints } from '../endpoints.ts';
import { PrerequisiteError, StartupError } from '../lib/errors.ts';
import { servicePaths } from '../lib/paths.ts';
import { commandLine, isAlive, run, sleep, stopProcess } from '../lib/process.ts';
import { onPath } from '../lib/toolchain.ts';
import type { Progress, StackService } from '../service.ts';
import { settings } from '../settings.ts';

const { host, port, superuser } = endpoints.postgres;

/**
 * Finds the newest PostgreSQL 15+ server binaries: PG_BIN, then Debian's /usr/lib/postgresql/N/bin.
 * psql is there too (`npm run psql` uses this one, so that client and server are the same release).
 */
export function findServerBin(): string | undefined {
  const fromEnv = settings.PG_BIN;
  if (fromEnv !== undefined && existsSync(path.join(fromEnv, 'pg_ctl'))) return fromEnv;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const major = readdirSync(root)
    .map(Number)
    .filter((v) => v >= 15 && existsSync(path.join(root, String(v), 'bin', 'pg_ctl')))
    .sort((a, b) => b - a)[0];
  return major === undefined ? undefined : path.join(root, String(major), 'bin');
}

/** PostgreSQL refuses to run as root: as root, every server command runs as the `postgres` user. */
const asRoot = os.userInfo().uid === 0;
const SERVER_USER = 'postgres';

/**
 * PostgreSQL in a cluster the project owns (not the machine's default cluster), on 127.0.0.1:5432,
 * with a role and database for the pipeline and another for the schema registry.
 */
class PostgresService implements StackService {
  readonly kind = 'process';
  readonly name = 'postgres';
  readonly summary = 'PostgreSQL 15+ from Debian packages, a cluster of our own';
  readonly ports = [port];
  readonly dependsOn = [];
  readonly startTimeoutMs = 60_000;
  readonly paths = servicePaths('postgres');
  private readonly log = path.join(this.paths.logs, 'postgres.log');
  readonly logFiles = [this.log];

  private bin(tool: string): string {
    const dir = findServerBin();
    if (dir === undefined) throw new PrerequisiteError('no PostgreSQL server binaries found');
    return path.join(dir, tool);
  }

  /** Runs a server tool, as the postgres user when we are root. */
  private runServerTool(tool: string, args: string[]): Promise<string> {
    return asRoot
      ? run('runuser', ['-u', SERVER_USER, '--', this.bin(tool), ...args])
      : run(this.bin(tool), args);
  }

  checkPrerequisites(): Promise<void> {
    if (findServerBin() === undefined) {
      throw new PrerequisiteError(
        'PostgreSQL 15+ server binaries are missing: apt-get install postgresql (or set PG_BIN to their folder)',
      );
    }
    if (asRoot && onPath('runuser') === undefined) {
      throw new PrerequisiteError(
        'running as root, PostgreSQL needs runuser to drop privileges: apt-get install util-linux',
      );
    }
    return Promise.resolve();
  }

  /**
   * As root, the postgres user must be able to reach our folder: add the search bit (o+x, not read)
   * to each parent that lacks it, and say so.
   */
  private async grantTraversal(progress: Progress): Promise<void> {
    for (let dir = path.dirname(this.paths.root); dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const { mode } = await stat(dir);
      if ((mode & 0o001) === 0) {
        await chmod(dir, mode | 0o001);
        progress(`gave others search permission (o+x) on ${dir}, so that user postgres can reach its data`);
      }
    }
  }

  async provision(progress: Progress): Promise<void> {
    await mkdir(this.paths.logs, { recursive: true });
    if (asRoot) {
      await this.grantTraversal(progress);
      await run('chown', ['-R', `${SERVER_USER}:`, this.paths.root]);
    }
    if (existsSync(path.join(this.paths.data, 'PG_VERSION'))) return;
    progress('initdb: creating the cluster');
    await rm(this.paths.data, { recursive: true, force: true });
    const pwfile = path.join(this.paths.root, '.initdb-password');
    await writeFile(pwfile, `${superuser.password}\n`, { mode: 0o600 });
    try {
      if (asRoot) await run('chown', [`${SERVER_USER}:`, pwfile]);
      await this.runServerTool('initdb', [
        '-D',
        this.paths.data,
        '-U',
        superuser.user,
        '--auth=scram-sha-256',
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--locale=C',
      ]);
    } finally {
      await rm(pwfile, { force: true });
    }
  }

  /**
   * After a crash (kill -9), postmaster.pid names a dead process; PostgreSQL would take a pid that
   * lingers as a zombie for a live postmaster and refuse to start. The pid is ours and gone: drop it.
   */
  private async removeStaleLockFile(): Promise<void> {
    const lock = path.join(this.paths.data, 'postmaster.pid');
    if (!existsSync(lock)) return;
    const pid = Number.parseInt((await readFile(lock, 'utf8')).split('\n')[0] ?? '', 10);
    if (Number.isInteger(pid) && (await isAlive(pid))) return;
    await rm(lock, { force: true });
  }

  async start(progress: Progress): Promise<void> {
    await this.removeStaleLockFile();
    const options = [
      `-p ${port}`,
      `-k ${this.paths.root}`,
      `-c listen_addresses=${host}`,
      // Our tests and benchmarks bulk-load: fewer, larger checkpoints keep the disk quiet.
      '-c max_wal_size=1GB',
      // Commit times of rows: the benchmark measures freshness from the PostgreSQL commit.
      '-c track_commit_timestamp=on',
    ].join(' ');
    const args = ['-D', this.paths.data, '-l', this.log, '-o', options, '-w', '-t', '60', 'start'];
    // After a crash the old backends take a moment to notice and exit; until then they hold the old
    // shared memory, and a new postmaster refuses to start. Try a few times.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.runServerTool('pg_ctl', args);
        return;
      } catch (error) {
        if (attempt === 5)
          throw new StartupError(`postgres did not start; see ${this.log}`, { cause: error });
        progress(`start attempt ${attempt} failed, retrying in ${attempt} s`);
        await sleep(attempt * 1000);
      }
    }
  }

  async pid(): Promise<number | undefined> {
    try {
      const text = await readFile(path.join(this.paths.data, 'postmaster.pid'), 'utf8');
      const pid = Number.parseInt(text.split('\n')[0] ?? '', 10);
      const ours = (await isAlive(pid)) && (await commandLine(pid)).includes(this.paths.data);
      return ours ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  async isHealthy(): Promise<boolean> {
    const client = new pg.Client({
      host,
      port,
      ...superuser,
      database: 'postgres',
      connectionTimeoutMillis: 2000,
    });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Creates the roles and databases of the pipeline, the registry and Airflow when they are missing. */
  async initialize(): Promise<void> {
    const client = new pg.Client({ host, port, ...superuser, database: 'postgres' });
    await client.connect();
    try {
      for (const { user, password, database } of [
        endpoints.postgres.pipeline,
        endpoints.postgres.registry,
        endpoints.postgres.airflow,
      ]) {
        const role = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user]);
        if (role.rowCount === 0) {
          await client.query(
            `CREATE ROLE ${client.escapeIdentifier(user)} LOGIN PASSWORD ${client.escapeLiteral(password)}`,
          );
        }
        const db = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
        if (db.rowCount === 0) {
          await client.query(
            `CREATE DATABASE ${client.escapeIdentifier(database)} OWNER ${client.escapeIdentifier(user)}`,
          );
        }
      }
    } finally {
      await client.end();
    }
  }

  async stop(): Promise<void> {
    const pid = await this.pid();
    if (pid === undefined) return;
    try {
      await this.runServerTool('pg_ctl', ['-D', this.paths.data, '-m', 'fast', '-w', '-t', '60', 'stop']);
    } catch {
      await stopProcess(pid);
    }
  }
}

export const postgres = new PostgresService();
