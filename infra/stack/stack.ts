import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { PrerequisiteError, StartupError } from './lib/errors.ts';
import { withLock } from './lib/lock.ts';
import { isPortOpen, portOwner } from './lib/net.ts';
import { servicesDir, stackHome } from './lib/paths.ts';
import { processesRunningIn, stopProcess, treeMemoryBytes } from './lib/process.ts';
import { waitUntil } from './lib/wait.ts';
import type { StackService } from './service.ts';
import { services } from './services/index.ts';

/** Where the stack reports progress: one line at a time. */
export type Reporter = (line: string) => void;

/** One `up`, `down` or `reset` at a time across processes: they share ports and pid files. */
function exclusively<T>(report: Reporter, task: () => Promise<T>): Promise<T> {
  return withLock(path.join(stackHome, 'stack.lock'), task, (holder) => {
    report(`waiting for process ${holder}, which is changing the stack`);
  });
}

/**
 * Picks services by name, with everything they depend on; no names means all of them. With
 * `withTasks`, as for `up`, a task that depends on a chosen service is chosen too (with what it
 * depends on): restarting the AWS emulator alone must also put back the bucket and queues it forgot.
 */
export function selectServices(
  names: readonly string[] = [],
  { withTasks = false }: { withTasks?: boolean } = {},
): StackService[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const chosen = new Set<string>();
  const add = (name: string): void => {
    const service = byName.get(name);
    if (service === undefined) {
      throw new PrerequisiteError(
        `unknown service '${name}': the stack has ${[...byName.keys()].join(', ')}`,
      );
    }
    if (chosen.has(name)) return;
    chosen.add(name);
    service.dependsOn.forEach(add);
  };
  (names.length === 0 ? [...byName.keys()] : names).forEach(add);
  if (withTasks) {
    for (const task of services.filter((s) => s.kind === 'task')) {
      if (task.dependsOn.some((name) => chosen.has(name))) add(task.name);
    }
  }
  return services.filter((s) => chosen.has(s.name));
}

async function tailOf(file: string, lines = 15): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** One probe with a time limit, reporting false instead of throwing. */
async function probe(service: StackService, timeoutMs = 5000): Promise<boolean> {
  const timeout = new Promise<false>((resolve) =>
    setTimeout(() => {
      resolve(false);
    }, timeoutMs).unref(),
  );
  return Promise.race([service.isHealthy().catch(() => false), timeout]);
}

/**
 * Fails with one line when another process holds one of the service's ports. A port held by no
 * process we can see is usually a crashed process of ours still closing: give it a few seconds.
 */
async function checkPorts(service: StackService): Promise<void> {
  for (const port of service.ports) {
    const freed = await waitUntil(async () => !(await isPortOpen(port)), {
      timeoutMs: 10_000,
      intervalMs: 250,
    });
    if (!freed.ok) {
      throw new PrerequisiteError(
        `port ${port}, which ${service.name} needs, is taken by ${await portOwner(port)}: stop that process or free the port`,
      );
    }
  }
}

/** Waits until the service is healthy, its start timeout passes, or its process is gone. */
function waitForHealth(service: StackService): ReturnType<typeof waitUntil> {
  // Gone on two checks in a row, a second apart: a process caught in the middle of its start once
  // failed the ownership check (a cold CI run, right after spawn) while it went on to start fine.
  let missing = 0;
  return waitUntil(() => service.isHealthy(), {
    timeoutMs: service.startTimeoutMs,
    intervalMs: 1000,
    stopEarly: async () => {
      missing = (await service.pid()) === undefined ? missing + 1 : 0;
      return missing >= 2 ? 'its process exited' : undefined;
    },
  });
}

async function bringUp(service: StackService, report: Reporter): Promise<void> {
  const say = (message: string): void => {
    report(`${service.name.padEnd(10)} ${message}`);
  };
  const started = Date.now();
  if (service.kind === 'task') {
    await runTask(service, say);
    return;
  }
  const running = await service.pid();
  if (running !== undefined && (await probe(service))) {
    await service.initialize?.();
    say(`already running (pid ${running})`);
    return;
  }
  const launch = async (): Promise<void> => {
    await service.provision(say);
    say('starting');
    await service.start(say);
  };
  if (running === undefined) await launch();
  else say(`process ${running} is up but not healthy yet: waiting`);
  let result = await waitForHealth(service);
  if (!result.ok && running !== undefined && result.reason === 'its process exited') {
    // A process we found rather than started, which died while we waited: one that lost a service
    // it needs (Airflow's DAG processor when PostgreSQL restarts gives up after its retries). A
    // fresh start is what the user asked for.
    say('the process we waited for exited: starting a new one');
    await launch();
    result = await waitForHealth(service);
  }
  if (!result.ok) {
    const log = service.logFiles[0] ?? '';
    throw new StartupError(
      `${service.name} did not become healthy (${result.reason}); last lines of ${log}:\n${await tailOf(log)}`,
    );
  }
  await service.initialize?.();
  say(`healthy in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${(await service.pid()) ?? '?'})`);
}

/**
 * Runs a task to completion, then checks that what it made is there: a task runs at every `up`
 * (its steps are idempotent), so that `up` repairs what a restarted service forgot.
 */
async function runTask(task: StackService, say: (message: string) => void): Promise<void> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new StartupError(`${task.name} did not finish within ${task.startTimeoutMs / 1000} s`));
    }, task.startTimeoutMs);
  });
  try {
    await Promise.race([task.start(say), timeout]);
  } catch (error) {
    if (error instanceof StartupError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new StartupError(`${task.name} failed: ${reason}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
  if (!(await probe(task))) {
    throw new StartupError(`${task.name} ran, but ${(await task.describe?.()) ?? 'its check fails'}`);
  }
  say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * Runs every task (the local stage's bootstrap) alone, starting nothing: for services that something
 * else serves on the stack's ports, such as docker compose.
 */
export function runTasks(report: Reporter = () => undefined): Promise<void> {
  return exclusively(report, async () => {
    for (const task of services.filter((s) => s.kind === 'task')) {
      await runTask(task, (message) => {
        report(`${task.name.padEnd(10)} ${message}`);
      });
    }
  });
}

/**
 * Starts the chosen services (and what they depend on), each once its dependencies are healthy,
 * and resolves when all are healthy. Services already running and healthy are left alone, so `up`
 * twice is a no-op. Prerequisites and ports are checked for all of them before anything starts.
 */
export function up(names: readonly string[] = [], report: Reporter = () => undefined): Promise<void> {
  return exclusively(report, () => upLocked(names, report));
}

async function upLocked(names: readonly string[], report: Reporter): Promise<void> {
  const chosen = selectServices(names, { withTasks: true });
  const toStart: StackService[] = [];
  for (const service of chosen) {
    await service.checkPrerequisites();
    if (service.kind === 'process' && (await service.pid()) === undefined) toStart.push(service);
  }
  for (const service of toStart) await checkPorts(service);
  const done = new Map<string, Promise<void>>();
  const launch = (service: StackService): Promise<void> => {
    let promise = done.get(service.name);
    if (promise === undefined) {
      const deps = chosen.filter((s) => service.dependsOn.includes(s.name)).map(launch);
      promise = Promise.all(deps).then(() => bringUp(service, report));
      done.set(service.name, promise);
    }
    return promise;
  };
  const results = await Promise.allSettled(chosen.map(launch));
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}

/**
 * Stops the chosen services, dependents first, then ends any process left that runs from the stack
 * home (an orphaned child), so that none of our processes outlives `down`.
 */
export function down(names: readonly string[] = [], report: Reporter = () => undefined): Promise<void> {
  return exclusively(report, () => downLocked(names, report));
}

async function downLocked(names: readonly string[], report: Reporter): Promise<void> {
  const chosen =
    names.length === 0 ? [...services] : selectServices(names).filter((s) => names.includes(s.name));
  const stopped = new Map<string, Promise<void>>();
  const halt = (service: StackService): Promise<void> => {
    let promise = stopped.get(service.name);
    if (promise === undefined) {
      const dependents = chosen.filter((s) => s.dependsOn.includes(service.name)).map(halt);
      promise = Promise.all(dependents).then(async () => {
        const pid = await service.pid();
        if (pid === undefined) return;
        await service.stop();
        report(`${service.name.padEnd(10)} stopped (was pid ${pid})`);
      });
      stopped.set(service.name, promise);
    }
    return promise;
  };
  await Promise.all(chosen.map(halt));
  if (names.length === 0) {
    for (const pid of await processesRunningIn(servicesDir)) {
      report(`stray process ${pid} running in ${servicesDir}: stopping it`);
      if (!(await stopProcess(pid, 5000))) report(`process ${pid} would not stop: end it by hand`);
    }
  }
}

/** What `status` reports for one service. */
export interface ServiceStatus {
  readonly name: string;
  readonly kind: StackService['kind'];
  readonly ports: readonly number[];
  readonly pid: number | undefined;
  readonly healthy: boolean;
  /** Resident memory of its process tree, shared pages split fairly (PSS). */
  readonly memoryBytes: number;
  readonly detail: string;
}

/** The state of every service: pid, health (a real probe), ports and resident memory. */
export async function status(): Promise<ServiceStatus[]> {
  const processes = new Map(
    await Promise.all(
      services
        .filter((s) => s.kind === 'process')
        .map(async (service) => {
          const pid = await service.pid();
          const healthy = pid !== undefined && (await probe(service));
          const memoryBytes = pid === undefined ? 0 : await treeMemoryBytes(pid);
          const detail = (await service.describe?.()) ?? '';
          const { name, kind, ports } = service;
          return [name, { name, kind, ports, pid, healthy, memoryBytes, detail }] as const;
        }),
    ),
  );
  // A task is checked only when what it needs is healthy: its check would only time out otherwise.
  const tasks = await Promise.all(
    services
      .filter((s) => s.kind === 'task')
      .map(async (task): Promise<ServiceStatus> => {
        const down = task.dependsOn.filter((name) => processes.get(name)?.healthy !== true);
        const base = { name: task.name, kind: task.kind, ports: task.ports, pid: undefined, memoryBytes: 0 };
        if (down.length > 0) return { ...base, healthy: false, detail: `needs ${down.join(', ')}` };
        return { ...base, healthy: await probe(task), detail: (await task.describe?.()) ?? '' };
      }),
  );
  const byName = new Map<string, ServiceStatus>([...processes, ...tasks.map((t) => [t.name, t] as const)]);
  return services.map((s) => byName.get(s.name)).filter((row): row is ServiceStatus => row !== undefined);
}

/** Whether every named service (all by default) has its process running (health aside; a task has none). */
export async function allRunning(names: readonly string[] = services.map((s) => s.name)): Promise<boolean> {
  return (await status())
    .filter((s) => s.kind === 'process' && names.includes(s.name))
    .every((s) => s.pid !== undefined);
}

/**
 * Stops the chosen services (all by default) and deletes their data, logs and generated config;
 * downloads are kept. The next `up` starts them empty.
 */
export function reset(names: readonly string[] = [], report: Reporter = () => undefined): Promise<void> {
  return exclusively(report, async () => {
    await downLocked(names, report);
    await wipe(names, report);
  });
}

async function wipe(names: readonly string[], report: Reporter): Promise<void> {
  const chosen = names.length === 0 ? services : selectServices(names).filter((s) => names.includes(s.name));
  for (const service of chosen) {
    if (existsSync(service.paths.root)) await rm(service.paths.root, { recursive: true, force: true });
    report(`${service.name.padEnd(10)} data wiped (${service.paths.root})`);
  }
  report(`downloads in ${path.join(stackHome, 'downloads')} are kept`);
}
