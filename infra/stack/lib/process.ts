import { spawn, execFile } from 'node:child_process';
import { openSync, closeSync, mkdirSync } from 'node:fs';
import { readFile, readdir, readlink, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Runs a command to completion and returns its stdout; a non-zero exit throws with its stderr. */
export async function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      timeout: options.timeoutMs ?? 15 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const detail = (error as { stderr?: string }).stderr?.trim().split('\n').slice(-15).join('\n') ?? '';
    throw new Error(`${command} ${args.join(' ')} failed${detail === '' ? '' : `:\n${detail}`}`, {
      cause: error,
    });
  }
}

/**
 * Starts a long-running process in its own process group, detached from ours, with stdout and
 * stderr appended to `logFile`, and records its pid. The group lets `stop` reach its children too.
 */
export function spawnDetached(spec: {
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  pidFile: string;
}): Promise<number> {
  mkdirSync(path.dirname(spec.logFile), { recursive: true });
  const out = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', out, out],
    });
    return new Promise((resolve, reject) => {
      child.once('error', (error) => {
        reject(new Error(`could not start ${spec.command}: ${error.message}`, { cause: error }));
      });
      child.once('spawn', () => {
        const pid = child.pid;
        if (pid === undefined) {
          reject(new Error(`could not start ${spec.command}`));
          return;
        }
        child.unref();
        writeFile(spec.pidFile, `${pid}\n`).then(() => {
          resolve(pid);
        }, reject);
      });
    });
  } finally {
    closeSync(out);
  }
}

/**
 * True while a process with this pid runs or is still tearing down. A killed multi-threaded process
 * (a JVM) shows its main thread as a zombie while other threads still exit and still hold its ports:
 * it counts as alive until only the zombie is left.
 */
export async function isAlive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return (await readdir(`/proc/${pid}/task`)).length > 1;
    return true;
  } catch {
    return false;
  }
}

/** The command line of a process, with arguments joined by spaces; '' if it is gone. */
export async function commandLine(pid: number): Promise<string> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** The working directory of a process, or '' if it is gone or unreadable. */
async function workingDirectory(pid: number): Promise<string> {
  try {
    return await readlink(`/proc/${pid}/cwd`);
  } catch {
    return '';
  }
}

/**
 * Reads a pid file and returns the pid if that process is alive and its command line or working
 * directory is under `marker` (a folder of ours), so that a recycled pid is never taken for ours.
 */
export async function readOwnedPid(pidFile: string, marker: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (!(await isAlive(pid))) return undefined;
  const ours = (await commandLine(pid)).includes(marker) || (await workingDirectory(pid)).startsWith(marker);
  return ours ? pid : undefined;
}

/**
 * Live processes of this user whose working directory is under `dir`: every service the stack starts
 * runs in its own folder there (PostgreSQL in its data folder), and nothing else of ours does.
 */
export async function processesRunningIn(dir: string): Promise<number[]> {
  const uid = process.getuid?.();
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (!(await workingDirectory(pid)).startsWith(dir) || !(await isAlive(pid))) continue;
    const owner = Number(
      /^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''))?.[1],
    );
    // PostgreSQL runs as user postgres when we are root: root's sweep covers it too.
    if (uid === undefined || uid === 0 || owner === uid) pids.push(pid);
  }
  return pids;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function signal(pid: number, sig: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, sig);
    } catch {
      // Already gone, or not a group leader: the other target covers it.
    }
  }
}

/**
 * Stops a process and its group: SIGTERM, then SIGKILL after `graceMs`. Resolves true once it is
 * gone, or false if it still lives 10 s after SIGKILL (a process we may not signal, say).
 */
export async function stopProcess(pid: number, graceMs = 20_000): Promise<boolean> {
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await isAlive(pid))) return true;
    await sleep(200);
  }
  signal(pid, 'SIGKILL');
  const killDeadline = Date.now() + 10_000;
  while (Date.now() < killDeadline) {
    if (!(await isAlive(pid))) return true;
    await sleep(100);
  }
  return false;
}

/** Removes a pid file, ignoring one that is already gone. */
export async function removePidFile(pidFile: string): Promise<void> {
  await rm(pidFile, { force: true });
}

/**
 * Memory in bytes of a process and all its descendants, as the sum of their proportional set sizes
 * (PSS): resident memory with shared pages split among the processes sharing them, so that
 * PostgreSQL's shared buffers are not counted once per backend. 0 if the process is gone.
 */
export async function treeMemoryBytes(rootPid: number): Promise<number> {
  const children = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    } catch {
      // The process ended while we read: it uses no memory now.
    }
  }
  let total = 0;
  const queue = [rootPid];
  for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
    try {
      const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
      total += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0) * 1024;
    } catch {
      // Gone, or not ours to read: counts as nothing.
    }
    queue.push(...(children.get(pid) ?? []));
  }
  return total;
}

export { sleep };
