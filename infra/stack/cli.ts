import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { PrerequisiteError, StartupError } from './lib/errors.ts';
import { stackHome } from './lib/paths.ts';
import { selectServices, down, reset, runTasks, status, up, type ServiceStatus } from './stack.ts';

const USAGE = `usage: npm run stack -- <command> [service ...]

  up [service ...]       provision, start and wait until healthy (all services by default), then
                         run the bootstrap (migrations, bucket, secret, queues, topic, schema,
                         tables, API key) whenever a service it needs is named: ready for the functions
  down [service ...]     stop (all by default; then no process of ours is left)
  status [--json]        port, pid, health, resident memory of each service; what the bootstrap lacks
  logs [service] [-f]    the last lines of each log (-n N lines), or follow them with -f
  bootstrap              the bootstrap alone, against services already listening on the stack's
                         ports (this stack's or docker compose's); starts nothing
  reset [service ...]    stop and wipe the data of the services (all by default; downloads are kept)

Everything lives under ${stackHome}.`;

const mb = (bytes: number): string => `${Math.round(bytes / 1024 / 1024)} MB`;

/** A process is stopped, healthy or not; a task (no process) is ready or not. */
function healthOf(row: ServiceStatus): string {
  if (row.kind === 'task') return row.healthy ? 'ready' : 'NOT READY';
  if (row.pid === undefined) return 'stopped';
  return row.healthy ? 'healthy' : 'UNHEALTHY';
}

function renderStatus(rows: readonly ServiceStatus[]): string {
  const table = [
    ['SERVICE', 'PORTS', 'PID', 'HEALTH', 'MEMORY', 'DETAIL'],
    ...rows.map((r) => [
      r.name,
      r.ports.length === 0 ? '-' : r.ports.join(','),
      r.pid === undefined ? '-' : String(r.pid),
      healthOf(r),
      r.pid === undefined ? '-' : mb(r.memoryBytes),
      r.detail,
    ]),
  ];
  const widths = table[0]?.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length))) ?? [];
  const lines = table.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  const total = rows.reduce((sum, r) => sum + r.memoryBytes, 0);
  return [...lines, `total memory (resident, shared pages split: PSS): ${mb(total)}`].join('\n');
}

async function showLogs(names: string[], follow: boolean, lines: number): Promise<void> {
  const files = selectServices(names)
    .filter((s) => names.length === 0 || names.includes(s.name))
    .flatMap((s) => s.logFiles)
    .filter((f) => existsSync(f));
  if (files.length === 0) {
    process.stdout.write('no logs yet: run `npm run stack -- up` first\n');
    return;
  }
  if (follow) {
    const tail = spawn('tail', ['-n', String(lines), '-F', ...files], { stdio: 'inherit' });
    await new Promise((resolve) => tail.once('exit', resolve));
    return;
  }
  for (const file of files) {
    const text = (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
    process.stdout.write(`==> ${file} <==\n${text}\n\n`);
  }
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      follow: { type: 'boolean', short: 'f', default: false },
      lines: { type: 'string', short: 'n', default: '40' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...names] = positionals;
  const report = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  switch (command) {
    case 'up': {
      const started = Date.now();
      await up(names, report);
      report(`stack is up in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      report(renderStatus(await status()));
      return 0;
    }
    case 'down':
      await down(names, report);
      report(names.length === 0 ? 'stack is down' : `stopped: ${names.join(', ')}`);
      return 0;
    case 'status': {
      const rows = await status();
      report(values.json ? JSON.stringify(rows, null, 2) : renderStatus(rows));
      return rows.every((r) => r.healthy) ? 0 : 3;
    }
    case 'logs':
      await showLogs(names, values.follow, Number(values.lines));
      return 0;
    case 'bootstrap':
      await runTasks(report);
      return 0;
    case 'reset':
      await reset(names, report);
      return 0;
    case undefined:
    case 'help':
      report(USAGE);
      return values.help || command === 'help' ? 0 : 2;
    default:
      process.stderr.write(`stack: unknown command '${command}'\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof PrerequisiteError) {
      process.stderr.write(`stack: ${error.message}\n`);
      process.exit(2);
    }
    if (error instanceof StartupError) {
      process.stderr.write(`stack: ${error.message}\n`);
      process.exit(1);
    }
    process.stderr.write(
      `stack: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
